package cli

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/connstr"
)

// dataFlags are how az's storage data commands name an account:
// --connection-string, or --account-name with --account-key or
// --sas-token, or --account-name alone with --auth-mode key (the CLI then
// asks the management API for the key). The AZURE_STORAGE_* environment
// variables fill in what the flags leave out, as in az.
type dataFlags struct {
	connString, accountName, accountKey, sasToken, authMode string
}

func (d *dataFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&d.connString, "connection-string", "", "storage connection string [env AZURE_STORAGE_CONNECTION_STRING]")
	f.StringVar(&d.accountName, "account-name", "", "storage account name [env AZURE_STORAGE_ACCOUNT]")
	f.StringVar(&d.accountKey, "account-key", "", "storage account key [env AZURE_STORAGE_KEY]")
	f.StringVar(&d.sasToken, "sas-token", "", "a SAS token instead of a key [env AZURE_STORAGE_SAS_TOKEN]")
	f.StringVar(&d.authMode, "auth-mode", "key", "key: use the account key (looked up through the management API when not given)")
}

func envOr(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// resolve turns the flags into an account with endpoints and a credential.
func (d *dataFlags) resolve(ctx context.Context, g *globals) (connstr.Parsed, error) {
	if d.authMode != "key" {
		return connstr.Parsed{}, usagef("argument --auth-mode: invalid choice: '%s' (Lapis supports 'key')", d.authMode)
	}
	if cs := envOr(d.connString, "AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
		return connstr.Parse(cs, devEndpoints(g))
	}
	name := envOr(d.accountName, "AZURE_STORAGE_ACCOUNT")
	if name == "" {
		return connstr.Parsed{}, usagef("pass --connection-string, or --account-name (with --account-key, --sas-token or a running Lapis to look the key up)")
	}
	p := connstr.Parsed{AccountName: name, AccountKey: envOr(d.accountKey, "AZURE_STORAGE_KEY"),
		SAS: strings.TrimPrefix(envOr(d.sasToken, "AZURE_STORAGE_SAS_TOKEN"), "?")}
	if name == account.DevAccount {
		dev, _ := connstr.Parse("UseDevelopmentStorage=true", devEndpoints(g))
		p.BlobEndpoint, p.QueueEndpoint = dev.BlobEndpoint, dev.QueueEndpoint
		if p.AccountKey == "" && p.SAS == "" {
			p.AccountKey = account.DevKey
		}
		return p, nil
	}
	c, err := newClient(g)
	if err != nil {
		return connstr.Parsed{}, err
	}
	sub, err := c.sub(ctx)
	if err != nil {
		return connstr.Parsed{}, err
	}
	accts, err := c.list(ctx, "/subscriptions/"+url.PathEscape(sub)+"/providers/Microsoft.Storage/storageAccounts", storageAPI)
	if err != nil {
		return connstr.Parsed{}, err
	}
	for _, a := range accts {
		m, _ := a.(map[string]any)
		if n, _ := m["name"].(string); n != name {
			continue
		}
		props, _ := m["properties"].(map[string]any)
		eps, _ := props["primaryEndpoints"].(map[string]any)
		p.BlobEndpoint, _ = eps["blob"].(string)
		p.QueueEndpoint, _ = eps["queue"].(string)
		p.BlobEndpoint, p.QueueEndpoint = strings.TrimSuffix(p.BlobEndpoint, "/"), strings.TrimSuffix(p.QueueEndpoint, "/")
		if p.AccountKey == "" && p.SAS == "" {
			id, _ := m["id"].(string)
			var keys struct {
				Keys []struct{ Value string } `json:"keys"`
			}
			if err := c.do(ctx, http.MethodPost, id+"/listKeys", storageAPI, nil, &keys); err != nil {
				return connstr.Parsed{}, err
			}
			if len(keys.Keys) == 0 {
				return connstr.Parsed{}, fmt.Errorf("the account %s has no keys", name)
			}
			p.AccountKey = keys.Keys[0].Value
		}
		return p, nil
	}
	return connstr.Parsed{}, &apiError{Status: http.StatusNotFound, Code: "StorageAccountNotFound",
		Message: fmt.Sprintf("The storage account '%s' was not found.", name)}
}

// devEndpoints are where the local server serves Blob and Queue.
func devEndpoints(g *globals) connstr.Dev {
	var d connstr.Dev
	if dir := findDataDir(g.dataDir); dir != "" {
		if si, err := platform.ReadServerInfo(dir); err == nil {
			d.BlobPort, d.QueuePort = endpointPort(si.Endpoints["blob"]), endpointPort(si.Endpoints["queue"])
		}
	}
	return d
}

// endpointPort is the port of an endpoint URL, 0 if it has none.
func endpointPort(endpoint string) int {
	u, err := url.Parse(endpoint)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

// sdkOptions are the storage SDK clients' options: a short retry, and with
// --debug every request and answer on stderr, as az's --debug shows them.
func sdkOptions(g *globals) policy.ClientOptions {
	o := policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond}}
	if g.debug {
		o.PerRetryPolicies = []policy.Policy{debugPolicy{w: g.stderr}}
	}
	return o
}

// debugPolicy prints each storage request and its answer, with signatures
// and keys hidden.
type debugPolicy struct{ w io.Writer }

func (d debugPolicy) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	u := *r.URL
	if q := u.Query(); q.Has("sig") {
		q.Set("sig", "REDACTED")
		u.RawQuery = q.Encode()
	}
	fmt.Fprintf(d.w, "DEBUG: Request URL: '%s'\nDEBUG: Request method: '%s'\n", u.String(), r.Method)
	for k, v := range r.Header {
		val := strings.Join(v, ", ")
		if strings.EqualFold(k, "Authorization") {
			val = "*****"
		}
		fmt.Fprintf(d.w, "DEBUG:     '%s': '%s'\n", k, val)
	}
	start := time.Now()
	resp, err := req.Next()
	if err != nil {
		fmt.Fprintf(d.w, "DEBUG: Request failed: %v\n", err)
		return resp, err
	}
	fmt.Fprintf(d.w, "DEBUG: Response status: %d (%s)\n", resp.StatusCode, time.Since(start).Round(time.Microsecond))
	for k, v := range resp.Header {
		fmt.Fprintf(d.w, "DEBUG:     '%s': '%s'\n", k, strings.Join(v, ", "))
	}
	return resp, nil
}

func withSAS(endpoint, sas string) string {
	if sas == "" {
		return endpoint
	}
	return endpoint + "/?" + sas
}

func (d *dataFlags) blobClient(ctx context.Context, g *globals) (*azblob.Client, error) {
	p, err := d.resolve(ctx, g)
	if err != nil {
		return nil, err
	}
	if p.BlobEndpoint == "" {
		return nil, errors.New("the account has no blob endpoint")
	}
	opts := &azblob.ClientOptions{ClientOptions: sdkOptions(g)}
	if p.AccountKey == "" {
		return azblob.NewClientWithNoCredential(withSAS(p.BlobEndpoint, p.SAS), opts)
	}
	cred, err := azblob.NewSharedKeyCredential(p.AccountName, p.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	return azblob.NewClientWithSharedKeyCredential(p.BlobEndpoint+"/", cred, opts)
}

func (d *dataFlags) queueService(ctx context.Context, g *globals) (*azqueue.ServiceClient, error) {
	p, err := d.resolve(ctx, g)
	if err != nil {
		return nil, err
	}
	if p.QueueEndpoint == "" {
		return nil, errors.New("the account has no queue endpoint")
	}
	opts := &azqueue.ClientOptions{ClientOptions: sdkOptions(g)}
	if p.AccountKey == "" {
		return azqueue.NewServiceClientWithNoCredential(withSAS(p.QueueEndpoint, p.SAS), opts)
	}
	cred, err := azqueue.NewSharedKeyCredential(p.AccountName, p.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	return azqueue.NewServiceClientWithSharedKeyCredential(p.QueueEndpoint+"/", cred, opts)
}

// storageError turns an SDK error into the CLI's one-line error.
func storageError(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		// The error text carries the service's XML body; its Message's
		// first line is what to show.
		msg := fmt.Sprintf("The storage service answered %d.", re.StatusCode)
		if m := xmlMessage.FindStringSubmatch(re.Error()); m != nil {
			msg = strings.TrimSpace(strings.SplitN(html.UnescapeString(m[1]), "\n", 2)[0])
		}
		return &apiError{Status: re.StatusCode, Code: re.ErrorCode, Message: msg}
	}
	return err
}

var xmlMessage = regexp.MustCompile(`(?s)<Message>(.*?)</Message>`)

// lowerKeys gives metadata with lower-case names: HTTP header names reach
// Go clients canonicalised ("Kind" for x-ms-meta-kind), and the service
// keeps them lower-cased.
func lowerKeys(m map[string]*string) map[string]*string {
	if m == nil {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// progress draws a progress bar on a terminal for transfers over 4 MiB.
type progress struct {
	total int64
	start time.Time
	on    bool
	w     *os.File
	last  time.Time
}

func newProgress(g *globals, verb string, total int64) *progress {
	f, ok := g.stderr.(*os.File)
	p := &progress{total: total, start: time.Now(), w: f}
	p.on = ok && total > 4<<20 && term.IsTerminal(int(f.Fd())) && !g.onlyErrors
	if p.on {
		fmt.Fprintf(f, "%s %s\n", verb, humanBytes(total))
	}
	return p
}

func (p *progress) update(done int64) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && done < p.total) {
		return
	}
	p.last = time.Now()
	const width = 30
	frac := float64(done) / float64(max(p.total, 1))
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	rate := float64(done) / max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "\r[%s] %3.0f%% %s / %s  %s/s ", bar, frac*100, humanBytes(done), humanBytes(p.total), humanBytes(int64(rate)))
}

func (p *progress) finish() {
	if p.on {
		p.update(p.total)
		fmt.Fprintln(p.w)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parseMetadata reads az's "k=v k2=v2" words.
func parseMetadata(words []string) (map[string]*string, error) {
	if len(words) == 0 {
		return nil, nil
	}
	t, err := parseTags(words)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*string, len(t))
	for k, v := range t {
		m[k] = &v
	}
	return m, nil
}

func timeString(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
