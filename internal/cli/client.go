package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/platform"
)

// client talks to a Lapis management API the way az talks to ARM.
type client struct {
	endpoint     string
	token        string
	subscription string
	debug        io.Writer // nil unless --debug
	http         *http.Client
}

// apiError is an ARM error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("(%s) %s", e.Code, e.Message) }

// errNoServer means no endpoint could be found.
var errNoServer = errors.New("no running Lapis found")

// findDataDir resolves the data directory: the flag or LAPIS_DATA_DIR,
// else ./.lapis in this or a parent directory, else the one the last
// `lapis start` recorded.
func findDataDir(flag string) string {
	if flag != "" {
		return flag
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if fi, err := os.Stat(filepath.Join(d, ".lapis")); err == nil && fi.IsDir() {
				return filepath.Join(d, ".lapis")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if p, err := platform.CurrentPointer(); err == nil {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// newClient finds the server: --endpoint/LAPIS_ENDPOINT with LAPIS_TOKEN
// for remote use, or the local data directory's server.json and admin.key.
func newClient(g *globals) (*client, error) {
	c := &client{endpoint: g.endpoint, token: os.Getenv("LAPIS_TOKEN"), subscription: g.subscription,
		http: &http.Client{Timeout: 5 * time.Minute}}
	if g.debug {
		c.debug = g.stderr
	}
	if c.endpoint == "" || c.token == "" {
		dir := findDataDir(g.dataDir)
		if dir != "" {
			if c.endpoint == "" {
				if si, err := platform.ReadServerInfo(dir); err == nil {
					c.endpoint = si.Management
					if c.subscription == "" {
						c.subscription = si.Subscription
					}
				}
			}
			if c.token == "" {
				c.token, _ = platform.ReadAdminKey(dir)
			}
		}
		if c.endpoint == "" {
			where := "here"
			if dir != "" {
				where = "in " + dir
			}
			return nil, fmt.Errorf("%w %s: start one with `lapis start`, or pass --endpoint and set LAPIS_TOKEN", errNoServer, where)
		}
		if c.token == "" {
			return nil, errors.New("no admin token: set LAPIS_TOKEN to the server's admin key (its data dir's admin.key)")
		}
	}
	c.endpoint = strings.TrimRight(c.endpoint, "/")
	return c, nil
}

// sub returns the subscription id to work in: --subscription (an id or a
// display name, as az takes), else the server's.
func (c *client) sub(ctx context.Context) (string, error) {
	if c.subscription != "" && uuidShape.MatchString(c.subscription) {
		return c.subscription, nil
	}
	var list struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
			DisplayName    string `json:"displayName"`
		} `json:"value"`
	}
	if err := c.do(ctx, http.MethodGet, "/subscriptions", resourcesAPI, nil, &list); err != nil {
		return "", err
	}
	for _, s := range list.Value {
		if c.subscription == "" || strings.EqualFold(s.DisplayName, c.subscription) || strings.EqualFold(s.SubscriptionID, c.subscription) {
			c.subscription = s.SubscriptionID
			return c.subscription, nil
		}
	}
	if c.subscription == "" {
		return "", errors.New("the server has no subscription")
	}
	return "", fmt.Errorf("subscription '%s' not found; check the spelling and casing and try again", c.subscription)
}

var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Api-versions the CLI speaks.
const (
	resourcesAPI = "2024-11-01"
	storageAPI   = "2024-01-01"
)

// do sends one request; path may carry a query. out, when not nil, gets
// the decoded JSON body. An ARM error body becomes *apiError.
func (c *client) do(ctx context.Context, method, path, apiVersion string, body, out any) error {
	_, err := c.doStatus(ctx, method, path, apiVersion, body, out)
	return err
}

func (c *client) doStatus(ctx context.Context, method, path, apiVersion string, body, out any) (int, error) {
	u, err := url.Parse(c.endpoint + path)
	if err != nil {
		return 0, err
	}
	if apiVersion != "" {
		q := u.Query()
		q.Set("api-version", apiVersion)
		u.RawQuery = q.Encode()
	}
	var rd io.Reader
	var raw []byte
	if body != nil {
		if raw, err = json.Marshal(body); err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lapis-cli")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.debug != nil {
		fmt.Fprintf(c.debug, "DEBUG: Request URL: '%s'\nDEBUG: Request method: '%s'\nDEBUG: Request headers:\n", u, method)
		for k, v := range req.Header {
			val := strings.Join(v, ", ")
			if k == "Authorization" {
				val = "*****"
			}
			fmt.Fprintf(c.debug, "DEBUG:     '%s': '%s'\n", k, val)
		}
		if raw != nil {
			fmt.Fprintf(c.debug, "DEBUG: Request body:\nDEBUG: %s\n", raw)
		}
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach Lapis at %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading the answer of %s %s: %w", method, u.Path, err)
	}
	if c.debug != nil {
		fmt.Fprintf(c.debug, "DEBUG: Response status: %d (%s)\nDEBUG: Response headers:\n", resp.StatusCode, time.Since(start).Round(time.Microsecond))
		for k, v := range resp.Header {
			fmt.Fprintf(c.debug, "DEBUG:     '%s': '%s'\n", k, strings.Join(v, ", "))
		}
		if len(rb) > 0 {
			fmt.Fprintf(c.debug, "DEBUG: Response content:\nDEBUG: %s\n", rb)
		}
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(rb, &e) == nil && e.Error.Code != "" {
			return resp.StatusCode, &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return resp.StatusCode, &apiError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(rb))}
	}
	if out != nil && len(rb) > 0 {
		if err := json.Unmarshal(rb, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding the answer of %s %s: %w", method, u.Path, err)
		}
	}
	return resp.StatusCode, nil
}

// list follows nextLink pages and returns every value.
func (c *client) list(ctx context.Context, path, apiVersion string) ([]any, error) {
	var all []any
	next := ""
	for {
		var page struct {
			Value    []any  `json:"value"`
			NextLink string `json:"nextLink"`
		}
		var err error
		if next == "" {
			err = c.do(ctx, http.MethodGet, path, apiVersion, nil, &page)
		} else {
			u, perr := url.Parse(next)
			if perr != nil {
				return nil, perr
			}
			err = c.do(ctx, http.MethodGet, u.RequestURI(), "", nil, &page)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		if page.NextLink == "" {
			return all, nil
		}
		next = page.NextLink
	}
}

// reachable reports whether the server answers its health check.
func (c *client) reachable(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.endpoint, "/")+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
