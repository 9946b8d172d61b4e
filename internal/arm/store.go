package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// Store keeps resource groups and resources in one JetStream key-value
// bucket. Keys are lower-cased, so names are case-insensitive while records
// keep the casing they were created with:
//
//	g.{sub}.{group}                                   resource group
//	r.{sub}.{group}.{ns}.{type}.{name}[.{type}.{name}] resource
//	u.{ns/type}.{name}                                reservation of a globally unique name
type Store struct {
	kv jetstream.KeyValue
}

// OpenStore opens (creating if needed) the resource bucket.
func OpenStore(ctx context.Context, sub *substrate.Substrate) (*Store, error) {
	kv, err := sub.KeyValue(ctx, "arm", substrate.KVSpec{Name: "resources", History: 1})
	if err != nil {
		return nil, err
	}
	return &Store{kv: kv}, nil
}

func tok(s string) string { return substrate.Token(strings.ToLower(s)) }

func key(id ID) string {
	if id.IsGroup() {
		return "g." + tok(id.Subscription) + "." + tok(id.ResourceGroup)
	}
	var b strings.Builder
	b.WriteString("r.")
	b.WriteString(tok(id.Subscription) + "." + tok(id.ResourceGroup) + "." + tok(id.Namespace))
	for i := range id.Types {
		b.WriteString("." + tok(id.Types[i]) + "." + tok(id.Names[i]))
	}
	return b.String()
}

func uniqueKey(typeName, name string) string { return "u." + tok(typeName) + "." + tok(name) }

// Get reads a record; it returns (nil, nil) when there is none.
func (s *Store) Get(ctx context.Context, id ID) (*Record, error) {
	return s.get(ctx, key(id))
}

func (s *Store) get(ctx context.Context, k string) (*Record, error) {
	e, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("arm: read %s: %w", k, err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, fmt.Errorf("arm: decode %s: %w", k, err)
	}
	r.Revision = e.Revision()
	return &r, nil
}

// Group reads a resource group, or returns 404 ResourceGroupNotFound.
func (s *Store) Group(ctx context.Context, sub, name string) (*Record, error) {
	r, err := s.Get(ctx, ID{Subscription: sub, ResourceGroup: name})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNotFoundGroup(name)
	}
	return r, nil
}

// Resource reads a resource, or returns 404 ResourceNotFound.
func (s *Store) Resource(ctx context.Context, id ID) (*Record, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNotFoundResource(id.TypeName(), id.Name(), id.ResourceGroup)
	}
	return r, nil
}

// put writes a record: it creates when rev is 0 and fails with errConflict
// if the key exists, otherwise it replaces revision rev and fails with
// errConflict if the record changed since.
func (s *Store) put(ctx context.Context, id ID, r *Record, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("arm: encode %s: %w", id, err)
	}
	k := key(id)
	if rev == 0 {
		rev, err = s.kv.Create(ctx, k, b)
	} else {
		rev, err = s.kv.Update(ctx, k, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("arm: write %s: %w", k, err)
	}
	return rev, nil
}

var errConflict = errors.New("arm: concurrent change")

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func (s *Store) delete(ctx context.Context, id ID) error {
	if err := s.kv.Purge(ctx, key(id)); err != nil {
		return fmt.Errorf("arm: delete %s: %w", id, err)
	}
	return nil
}

// reserve claims a globally unique name for id. It returns the id that
// holds it when another resource already does.
func (s *Store) reserve(ctx context.Context, typeName, name string, id ID) (holder string, err error) {
	k := uniqueKey(typeName, name)
	_, err = s.kv.Create(ctx, k, []byte(id.String()))
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return "", fmt.Errorf("arm: reserve %s: %w", k, err)
	}
	e, err := s.kv.Get(ctx, k)
	if err != nil {
		return "", fmt.Errorf("arm: reserve %s: %w", k, err)
	}
	if strings.EqualFold(string(e.Value()), id.String()) {
		return "", nil
	}
	return string(e.Value()), nil
}

func (s *Store) release(ctx context.Context, typeName, name string) error {
	if err := s.kv.Purge(ctx, uniqueKey(typeName, name)); err != nil {
		return fmt.Errorf("arm: release %s/%s: %w", typeName, name, err)
	}
	return nil
}

// NameHolder returns the id of the resource that holds a globally unique
// name, or "" when it is free.
func (s *Store) NameHolder(ctx context.Context, typeName, name string) (string, error) {
	e, err := s.kv.Get(ctx, uniqueKey(typeName, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("arm: read name %s/%s: %w", typeName, name, err)
	}
	return string(e.Value()), nil
}

// list reads every record whose key matches the filter (NATS wildcards).
// It streams the newest value of each matching key from one watcher rather
// than reading keys one by one: a list of hundreds costs one round trip.
func (s *Store) list(ctx context.Context, filter string) ([]*Record, error) {
	w, err := s.kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("arm: list %s: %w", filter, err)
	}
	defer w.Stop()
	var out []*Record
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("arm: list %s: watcher closed", filter)
			}
			if e == nil { // all current values delivered
				// By id, so that paging by offset is stable across writes.
				slices.SortFunc(out, func(a, b *Record) int {
					return strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
				})
				return out, nil
			}
			var r Record
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				return nil, fmt.Errorf("arm: decode %s: %w", e.Key(), err)
			}
			r.Revision = e.Revision()
			out = append(out, &r)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Groups lists a subscription's resource groups.
func (s *Store) Groups(ctx context.Context, sub string) ([]*Record, error) {
	return s.list(ctx, "g."+tok(sub)+".*")
}

// Query selects resources to list.
type Query struct {
	Subscription string
	// Group limits the list to one resource group ("" for all).
	Group string
	// Namespace and Types limit it to one type ("" / nil for all).
	Namespace string
	Types     []string
	// Parent limits it to the children of one resource (Types is then the
	// child type path from the top).
	Parent *ID
	// Nested includes child resources when no type is given.
	Nested bool
}

// Resources lists resources.
func (s *Store) Resources(ctx context.Context, q Query) ([]*Record, error) {
	var filter string
	switch {
	case q.Parent != nil:
		filter = key(*q.Parent) + "." + tok(q.Types[len(q.Types)-1]) + ".*"
	case q.Namespace != "":
		g := "*"
		if q.Group != "" {
			g = tok(q.Group)
		}
		filter = "r." + tok(q.Subscription) + "." + g + "." + tok(q.Namespace) + "." + tok(q.Types[0]) + ".*"
	default:
		g := "*"
		if q.Group != "" {
			g = tok(q.Group)
		}
		filter = "r." + tok(q.Subscription) + "." + g + ".>"
	}
	recs, err := s.list(ctx, filter)
	if err != nil {
		return nil, err
	}
	if q.Namespace == "" && q.Parent == nil && !q.Nested {
		// Top-level resources only: r.sub.group.ns.type.name has 6 tokens.
		top := recs[:0]
		for _, r := range recs {
			if id, err := ParseID(r.ID); err == nil && len(id.Types) == 1 {
				top = append(top, r)
			}
		}
		recs = top
	}
	return recs, nil
}

// children lists every resource nested below id, deepest first.
func (s *Store) children(ctx context.Context, id ID) ([]*Record, error) {
	recs, err := s.list(ctx, key(id)+".>")
	if err != nil {
		return nil, err
	}
	sortDeepestFirst(recs)
	return recs, nil
}

func sortDeepestFirst(recs []*Record) {
	slices.SortStableFunc(recs, func(a, b *Record) int {
		return strings.Count(b.ID, "/") - strings.Count(a.ID, "/")
	})
}

// Change is one update seen by Watch: a record written, or the resource
// under Key deleted (Record nil).
type Change struct {
	Key    string
	Record *Record
}

// Watch streams the top-level resources of one type in every subscription
// and group: first each current record, then a nil Change marking the end
// of the initial values, then every write and delete as it happens. The
// channel is closed when ctx ends or the watch fails; the caller owns ctx.
func (s *Store) Watch(ctx context.Context, namespace, typ string) (<-chan *Change, error) {
	return s.watch(ctx, "r.*.*."+tok(namespace)+"."+tok(typ)+".*", nil)
}

// WatchType is Watch for every resource of one type, wherever it is: at
// the top of a group, below a parent, or (for extension types such as
// Microsoft.EventGrid/eventSubscriptions) on any scope. It reads every
// resource change and keeps those whose key ends in the type; typeName is
// "Namespace/type[/childType...]".
func (s *Store) WatchType(ctx context.Context, typeName string) (<-chan *Change, error) {
	ns, path, ok := strings.Cut(typeName, "/")
	if !ok {
		return nil, fmt.Errorf("arm: watch %q: not a type name", typeName)
	}
	types := strings.Split(path, "/")
	nsTok := tok(ns)
	keep := func(k string) bool {
		t := strings.Split(k, ".")
		// r.sub.group.ns.type.name[.type.name...], where an extension's ns
		// follows a "providers" type token.
		if len(t) < 6 || (len(t)-4)%2 != 0 {
			return false
		}
		n := len(types)
		last := len(t) - 2*n // index of the first type token of the match
		if last < 4 {
			return false
		}
		for i, typ := range types {
			if t[last+2*i] != tok(typ) {
				return false
			}
		}
		if last == 4 {
			return t[3] == nsTok
		}
		return t[last-2] == "providers" && t[last-1] == nsTok
	}
	return s.watch(ctx, "r.>", keep)
}

// watch streams the changes of the keys matching filter (and keep, if set).
func (s *Store) watch(ctx context.Context, filter string, keep func(key string) bool) (<-chan *Change, error) {
	w, err := s.kv.WatchFiltered(ctx, []string{filter})
	if err != nil {
		return nil, fmt.Errorf("arm: watch %s: %w", filter, err)
	}
	out := make(chan *Change, 16)
	go func() {
		defer close(out)
		defer w.Stop()
		for {
			var e jetstream.KeyValueEntry
			select {
			case <-ctx.Done():
				return
			case x, ok := <-w.Updates():
				if !ok {
					return
				}
				e = x
			}
			var c *Change
			if e != nil {
				if keep != nil && !keep(e.Key()) {
					continue
				}
				c = &Change{Key: e.Key()}
				if e.Operation() == jetstream.KeyValuePut {
					var r Record
					if err := json.Unmarshal(e.Value(), &r); err != nil {
						continue
					}
					r.Revision = e.Revision()
					c.Record = &r
				}
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
