package webapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// service names this package's buckets: lapis-functions-*.
const service = "functions"

// MaxPackageSize bounds a zip deployment (Kudu's limit is 2 GB; Lapis keeps packages in the substrate).
const MaxPackageSize = 1 << 30

// Deployment statuses, as Kudu numbers them.
const (
	StatusPending   = 0
	StatusBuilding  = 1
	StatusDeploying = 2
	StatusFailed    = 3
	StatusSuccess   = 4
)

// Deployment is one zip deployment of a site.
type Deployment struct {
	ID        string     `json:"id"`
	Site      string     `json:"site"` // SiteKey
	Status    int        `json:"status"`
	Message   string     `json:"message,omitempty"`
	Author    string     `json:"author,omitempty"`
	Deployer  string     `json:"deployer"`
	StartTime time.Time  `json:"startTime"`
	EndTime   time.Time  `json:"endTime,omitzero"`
	Size      int64      `json:"size"`
	Digest    string     `json:"digest,omitempty"`
	Functions []Function `json:"functions,omitempty"`
}

// Function is what a deployment declares about one of its functions (found by loading it).
type Function struct {
	Name     string            `json:"name"`
	Bindings []json.RawMessage `json:"bindings"`
	Disabled bool              `json:"disabled,omitempty"`
	// Trigger is the trigger's binding type ("httpTrigger", ...).
	Trigger string `json:"trigger"`
	// InvokePath is the path (and query) that calls the function on the front door, for an HTTP function with
	// its route template ("/api/products/{id:int?}"), for a webhook trigger its extension's webhook
	// ("/runtime/webhooks/eventgrid?functionName=f"); "" for functions not called by URL.
	InvokePath string `json:"invokePath,omitempty"`
	// AuthLevel is an HTTP function's authLevel.
	AuthLevel string `json:"authLevel,omitempty"`
	// SystemKey is, for a webhook trigger, the name of the system key that authorizes InvokePath
	// ("eventgrid_extension"): a deployment creates it when the site has none, and the function's
	// invoke_url_template carries it as ?code=.
	SystemKey string `json:"systemKey,omitempty"`
}

// Runtime is what runs the apps, as the management side needs it.
type Runtime interface {
	// Prepare unpacks and loads a deployment of site without serving it, and returns its functions; an error
	// says why the package cannot run (the message names the file and field at fault).
	Prepare(ctx context.Context, site *Site, dep *Deployment) ([]Function, error)
	// WaitActive returns once this node serves deployment dep of the site (or it failed to start there), or
	// ctx ends.
	WaitActive(ctx context.Context, site, dep string) error
	// Instances is how many worker instances of the site run on this node now.
	Instances(site string) int
}

// Store keeps deployments, packages and usage in the substrate.
type Store struct {
	sub   *substrate.Substrate
	deps  jetstream.KeyValue
	pkgs  jetstream.ObjectStore
	usage jetstream.KeyValue
}

// OpenStore opens (creating if needed) the buckets.
func OpenStore(ctx context.Context, sub *substrate.Substrate) (*Store, error) {
	s := &Store{sub: sub}
	var err error
	if s.deps, err = sub.KeyValue(ctx, service, substrate.KVSpec{Name: "deployments", History: 1}); err != nil {
		return nil, err
	}
	if s.pkgs, err = sub.ObjectStore(ctx, service, "packages"); err != nil {
		return nil, err
	}
	if s.usage, err = sub.KeyValue(ctx, service, substrate.KVSpec{Name: "usage", History: 1}); err != nil {
		return nil, err
	}
	return s, nil
}

// Substrate returns the substrate the store uses.
func (s *Store) Substrate() *substrate.Substrate { return s.sub }

func packageName(site, dep string) string { return site + "/" + dep + ".zip" }

// ErrTooLarge is returned for a package over MaxPackageSize.
var ErrTooLarge = errors.New("webapp: package too large")

// PutPackage stores a deployment's zip, streaming it in chunks, and returns its size and digest.
func (s *Store) PutPackage(ctx context.Context, site, dep string, r io.Reader) (int64, string, error) {
	lr := &limitReader{r: r, n: MaxPackageSize + 1}
	info, err := s.pkgs.Put(ctx, jetstream.ObjectMeta{Name: packageName(site, dep)}, lr)
	if lr.n <= 0 {
		_ = s.pkgs.Delete(context.WithoutCancel(ctx), packageName(site, dep))
		return 0, "", ErrTooLarge
	}
	if err != nil {
		return 0, "", fmt.Errorf("webapp: storing package: %w", err)
	}
	return int64(info.Size), info.Digest, nil
}

type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// OpenPackage opens a deployment's zip.
func (s *Store) OpenPackage(ctx context.Context, site, dep string) (io.ReadCloser, error) {
	r, err := s.pkgs.Get(ctx, packageName(site, dep))
	if err != nil {
		return nil, fmt.Errorf("webapp: package %s: %w", packageName(site, dep), err)
	}
	return r, nil
}

// PutDeployment stores a deployment record.
func (s *Store) PutDeployment(ctx context.Context, d *Deployment) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := s.deps.Put(ctx, d.Site+"."+substrate.Token(d.ID), b); err != nil {
		return fmt.Errorf("webapp: storing deployment %s: %w", d.ID, err)
	}
	return nil
}

// Deployment reads one deployment record; nil when there is none.
func (s *Store) Deployment(ctx context.Context, site, dep string) (*Deployment, error) {
	e, err := s.deps.Get(ctx, site+"."+substrate.Token(dep))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webapp: reading deployment %s: %w", dep, err)
	}
	var d Deployment
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return nil, fmt.Errorf("webapp: decoding deployment %s: %w", dep, err)
	}
	return &d, nil
}

// Deployments lists a site's deployments, newest first.
func (s *Store) Deployments(ctx context.Context, site string) ([]*Deployment, error) {
	var out []*Deployment
	err := s.each(ctx, s.deps, site+".*", func(e jetstream.KeyValueEntry) error {
		var d Deployment
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			return fmt.Errorf("webapp: decoding %s: %w", e.Key(), err)
		}
		out = append(out, &d)
		return nil
	})
	slices.SortFunc(out, func(a, b *Deployment) int { return b.StartTime.Compare(a.StartTime) })
	return out, err
}

// each calls f for the current value of every key matching filter.
func (s *Store) each(ctx context.Context, kv jetstream.KeyValue, filter string, f func(jetstream.KeyValueEntry) error) error {
	w, err := kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("webapp: listing %s: %w", filter, err)
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("webapp: listing %s: watcher closed", filter)
			}
			if e == nil {
				return nil
			}
			if err := f(e); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// DeleteSite removes a site's deployments, packages and usage.
func (s *Store) DeleteSite(ctx context.Context, site string) error {
	deps, err := s.Deployments(ctx, site)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range deps {
		if err := s.pkgs.Delete(ctx, packageName(site, d.ID)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			errs = append(errs, err)
		}
		if err := s.deps.Purge(ctx, site+"."+substrate.Token(d.ID)); err != nil {
			errs = append(errs, err)
		}
	}
	keys, err := s.usageKeys(ctx, site)
	if err != nil {
		errs = append(errs, err)
	}
	for _, k := range keys {
		if err := s.usage.Purge(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// LogSubject is the core NATS subject on which a site's log lines are published.
func LogSubject(site string) string { return substrate.Subject(service, "logs", site) }

// LogLine is one line of a site's log stream.
type LogLine struct {
	Time     time.Time `json:"time"`
	Level    string    `json:"level"`
	Message  string    `json:"message"`
	Function string    `json:"function,omitempty"`
	ID       string    `json:"invocationId,omitempty"`
	Source   string    `json:"source,omitempty"` // "host" or "worker"
	Node     string    `json:"node,omitempty"`
}

// String formats a line as the log stream shows it.
func (l LogLine) String() string {
	var b strings.Builder
	b.WriteString(l.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(" [" + l.Level + "] ")
	if l.Function != "" {
		b.WriteString("Functions." + l.Function + ": ")
	}
	b.WriteString(l.Message)
	if l.ID != "" {
		b.WriteString(" (Id=" + l.ID + ")")
	}
	return b.String()
}
