package arm

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// TypeInfo describes a resource type.
type TypeInfo struct {
	// Namespace is the provider namespace, e.g. "Microsoft.Storage".
	Namespace string
	// Type is the type path, e.g. "storageAccounts" or "namespaces/queues".
	Type string
	// APIVersions lists the api-versions served, newest first.
	APIVersions []string
	// Locations lists the locations the type accepts; empty means any.
	Locations []string
	// RequiresLocation makes a PUT without "location" fail.
	RequiresLocation bool
	// GloballyUnique names are unique across all subscriptions and groups
	// (like storage account names); the store reserves them atomically.
	GloballyUnique bool
	// CreatedStatus is the status of a PUT that creates (default 201).
	CreatedStatus int
	// DeletedStatus is the status of a DELETE that deletes (default 200);
	// some providers answer 202 or 204, and their SDKs accept only that.
	DeletedStatus int
	// NamesCollection, for a GloballyUnique type, names the provider
	// collection where HEAD {subscription}/providers/{ns}/{NamesCollection}/{name}
	// answers 200 when the name is taken and 404 when it is free
	// (Microsoft.DocumentDB's databaseAccountNames).
	NamesCollection string
	// Extension types (such as Microsoft.EventGrid/eventSubscriptions)
	// also extend other resources: {scope id}/providers/{ns}/{type}/{name},
	// where the scope is any resource. They are listed on their scope, not
	// among a group's resources.
	Extension bool
}

// TypeName is "Namespace/Type".
func (i TypeInfo) TypeName() string { return i.Namespace + "/" + i.Type }

// ResourceType is what a service registers to own a kind of resource.
type ResourceType interface {
	Info() TypeInfo
	// Prepare validates the name and the requested state of a resource and
	// fills in defaults, read-only properties and secrets, changing req.New
	// in place. req.Old is the current record, nil on create. Errors should
	// be *Error with ARM's code for the problem.
	Prepare(ctx context.Context, req *WriteRequest) error
}

// Viewer is implemented by types that add computed properties (such as
// endpoints that depend on the server's ports) to what GET returns.
type Viewer interface {
	View(r *Resource)
}

// Actor is implemented by types with POST actions on a resource
// ({id}/listKeys, {id}/regenerateKey, ...).
type Actor interface {
	// Action runs the named action (matched without regard to case). It
	// returns the response body, or an *Error; an unknown action should
	// return nil, ErrNoAction.
	Action(ctx context.Context, req *ActionRequest) (any, error)
}

// ProviderActor is implemented by types with subscription-level POST
// actions on their provider (/subscriptions/{sub}/providers/{ns}/{action}),
// such as checkNameAvailability.
type ProviderActor interface {
	ProviderAction(ctx context.Context, req *ActionRequest) (any, error)
}

// Deleter is implemented by types that must release what a resource holds
// (data, workers) when it is deleted. It runs before the record is removed.
type Deleter interface {
	Deleted(ctx context.Context, r *Record) error
}

// Subtree is implemented by types whose resources have sub-paths that are
// not stored child resources, such as Microsoft.Web/sites' config/appsettings,
// host/default/listkeys, functions/{name} and extensions/zipdeploy. The API
// authenticates the request, checks the api-version and that the resource
// exists, and hands every request below the resource (any method, any depth)
// to ServeSubtree, unless a child type is registered for the next segment.
// Writes run to the end even if the client hangs up, as other writes do.
type Subtree interface {
	// ServeSubtree answers the request. Returning an error (an *Error for
	// ARM's codes) makes the API write it in ARM's error shape; a handler
	// that has started writing must return nil.
	ServeSubtree(w http.ResponseWriter, r *http.Request, req *SubtreeRequest) error
}

// SubtreeWriteTimeout bounds a write below a resource (see Subtree).
const SubtreeWriteTimeout = 15 * time.Minute

// SubtreeRequest is a request below a resource, for a Subtree type.
type SubtreeRequest struct {
	// ID is the resource's id; Path the segments below it (at least one).
	ID         ID
	Path       []string
	APIVersion string
	// Record is the resource's current record.
	Record *Record
	Store  *Store
	Caller Caller
	// Update changes the resource's stored record, as ActionRequest.Update.
	Update func(ctx context.Context, f func(*Record) error) (*Record, error)
	// Event publishes a resource event (EventWriteSuccess, ...) for the
	// resource with the given operation name, e.g.
	// "Microsoft.Web/sites/config/write".
	Event func(ctx context.Context, eventType, operation string)
}

// WriteJSON writes v as a JSON response with the status, for Subtree types.
func WriteJSON(w http.ResponseWriter, status int, v any) error { return writeJSON(w, status, v) }

// ErrNoAction is returned by an Actor for an action it does not have.
var ErrNoAction = fmt.Errorf("arm: no such action")

// WriteRequest is a create, replace or update of a resource.
type WriteRequest struct {
	ID         ID
	APIVersion string
	// Old is the current record, nil on create.
	Old *Record
	// New is the requested record; Prepare completes it.
	New *Record
	// Patch is true for PATCH, where New is Old with the body merged in.
	Patch bool
	// Store gives read access to other resources (to check references).
	Store *Store
}

// ActionRequest is a POST action on a resource or provider.
type ActionRequest struct {
	// ID is the resource's id (zero for provider actions).
	ID           ID
	Subscription string
	Action       string
	APIVersion   string
	Body         []byte
	// Record is the resource's current record (nil for provider actions).
	Record *Record
	Store  *Store
	// Update changes the resource's stored record (for actions such as
	// regenerateKey) with optimistic concurrency: f may run more than once,
	// on a fresh copy each time. It returns the record as stored.
	Update func(ctx context.Context, f func(*Record) error) (*Record, error)
}

// Registry holds the registered resource types. The zero value is not
// usable; use NewRegistry.
type Registry struct {
	mu    sync.RWMutex
	types map[string]ResourceType // by lower-case "namespace/type"
	ns    map[string]string       // lower-case namespace -> canonical
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]ResourceType{}, ns: map[string]string{}}
}

// Register adds a resource type. It panics on a duplicate or incomplete
// type: registration is a programming decision, not input.
func (r *Registry) Register(t ResourceType) {
	info := t.Info()
	if info.Namespace == "" || info.Type == "" || len(info.APIVersions) == 0 {
		panic(fmt.Sprintf("arm: incomplete resource type %+v", info))
	}
	key := strings.ToLower(info.TypeName())
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[key]; dup {
		panic("arm: resource type registered twice: " + info.TypeName())
	}
	r.types[key] = t
	r.ns[strings.ToLower(info.Namespace)] = info.Namespace
}

// Lookup finds a type by namespace and type path, without regard to case.
func (r *Registry) Lookup(namespace string, types []string) (ResourceType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[strings.ToLower(namespace+"/"+strings.Join(types, "/"))]
	return t, ok
}

// lookupID finds the type of the resource id names (an extension
// resource's own type, not its scope's).
func (r *Registry) lookupID(id ID) (ResourceType, bool) {
	ns, ok := r.Namespace(id.TypeNamespace())
	if !ok {
		return nil, false
	}
	return r.Lookup(ns, id.TypePath())
}

// Namespace returns the canonical spelling of a registered namespace.
func (r *Registry) Namespace(ns string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.ns[strings.ToLower(ns)]
	return c, ok
}

// Types returns every registered type, sorted by name.
func (r *Registry) Types() []ResourceType {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ResourceType, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b ResourceType) int { return strings.Compare(a.Info().TypeName(), b.Info().TypeName()) })
	return out
}
