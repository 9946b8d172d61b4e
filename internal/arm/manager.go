package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/lapisdev/lapis/internal/substrate"
)

// Subscription is the one subscription a Lapis installation serves.
type Subscription struct {
	ID          string
	TenantID    string
	DisplayName string
}

// Options configures a Manager.
type Options struct {
	Substrate    *substrate.Substrate
	Registry     *Registry
	Subscription Subscription
	// Clock returns the current time (default time.Now); tests move it.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Manager carries out resource operations: it validates, stores, and raises
// events. The HTTP API is a thin layer over it; services may call it too.
type Manager struct {
	store     *Store
	reg       *Registry
	substrate *substrate.Substrate
	sub       Subscription
	now       func() time.Time
	log       *slog.Logger
}

// NewManager opens the resource store and returns a Manager.
func NewManager(ctx context.Context, o Options) (*Manager, error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = NewRegistry()
	}
	if o.Subscription.DisplayName == "" {
		o.Subscription.DisplayName = "Lapis"
	}
	st, err := OpenStore(ctx, o.Substrate)
	if err != nil {
		return nil, err
	}
	return &Manager{store: st, reg: o.Registry, substrate: o.Substrate, sub: o.Subscription, now: o.Clock,
		log: o.Logger.With("component", "arm")}, nil
}

// Store is the resource store.
func (m *Manager) Store() *Store { return m.store }

// Registry is the resource type registry.
func (m *Manager) Registry() *Registry { return m.reg }

// Subscription is the served subscription.
func (m *Manager) Subscription() Subscription { return m.sub }

// checkSubscription returns 404 SubscriptionNotFound for any subscription
// but the served one.
func (m *Manager) checkSubscription(sub string) error {
	if !strings.EqualFold(sub, m.sub.ID) {
		return Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub)
	}
	return nil
}

// writeBody is the writable part of a PUT or PATCH body.
type writeBody struct {
	Location   *string           `json:"location"`
	Tags       map[string]string `json:"tags"`
	Kind       *string           `json:"kind"`
	SKU        *SKU              `json:"sku"`
	ManagedBy  *string           `json:"managedBy"`
	Identity   json.RawMessage   `json:"identity"`
	Properties map[string]any    `json:"properties"`
	// tagsSet tells "tags": null or {} from no tags in a PATCH.
	tagsSet bool
}

func decodeBody(body []byte) (*writeBody, error) {
	var b writeBody
	if len(bytes.TrimSpace(body)) == 0 {
		return &b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return nil, errInvalidContent(err)
	}
	if dec.More() {
		return nil, errInvalidContent(errors.New("unexpected data after the JSON object"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errInvalidContent(err)
	}
	_, b.tagsSet = raw["tags"]
	if b.Properties != nil {
		b.Properties = normalizeNumbers(b.Properties).(map[string]any)
	}
	return &b, nil
}

// normalizeNumbers turns json.Number into int64 or float64, so stored
// properties round-trip as numbers.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// NormalizeLocation turns "East US" into "eastus", as ARM does.
func NormalizeLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(l), " ", ""))
}

// validateGroupName applies ARM's resource group name rules.
func validateGroupName(name string) error {
	if name == "" || len(name) > 90 {
		return Errorf(http.StatusBadRequest, "InvalidResourceGroup",
			"The provided resource group name '%s' is invalid: it must be 1 to 90 characters long.", name)
	}
	var bad []string
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.()", r)) && !slices.Contains(bad, string(r)) {
			bad = append(bad, string(r))
		}
	}
	if len(bad) > 0 {
		return Errorf(http.StatusBadRequest, "InvalidResourceGroup",
			"The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.",
			name, strings.Join(bad, "', '"))
	}
	if strings.HasSuffix(name, ".") {
		return Errorf(http.StatusBadRequest, "InvalidResourceGroup",
			"The provided resource group name '%s' ends with a period, which is not allowed.", name)
	}
	return nil
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return Errorf(http.StatusBadRequest, "InvalidTagCount", "A resource can have at most 50 tags; the request has %d.", len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 512 || strings.ContainsAny(k, "<>%&\\?/") {
			return Errorf(http.StatusBadRequest, "InvalidTagNameCharacters",
				"The tag name '%s' is invalid: tag names are 1 to 512 characters and cannot contain '<', '>', '%%', '&', '\\', '?' or '/'.", k)
		}
		if len(v) > 256 {
			return Errorf(http.StatusBadRequest, "InvalidTagValueLength", "The value of tag '%s' is longer than 256 characters.", k)
		}
	}
	return nil
}

// PutGroup creates or replaces (patch=false) or updates (patch=true) a
// resource group. It reports whether the group was created.
func (m *Manager) PutGroup(ctx context.Context, sub, name string, body []byte, patch bool, c Caller) (*Resource, bool, error) {
	if err := m.checkSubscription(sub); err != nil {
		return nil, false, err
	}
	if err := validateGroupName(name); err != nil {
		return nil, false, err
	}
	b, err := decodeBody(body)
	if err != nil {
		return nil, false, err
	}
	if err := validateTags(b.Tags); err != nil {
		return nil, false, err
	}
	id := ID{Subscription: m.sub.ID, ResourceGroup: name}
	for attempt := 0; ; attempt++ {
		old, err := m.store.Get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if old == nil && patch {
			return nil, false, errNotFoundGroup(name)
		}
		rec := &Record{Resource: Resource{Type: "Microsoft.Resources/resourceGroups",
			Properties: map[string]any{"provisioningState": ProvisioningSucceeded}}}
		if old != nil {
			rec.ID, rec.Name, rec.Location, rec.Tags, rec.ManagedBy = old.ID, old.Name, old.Location, old.Tags, old.ManagedBy
			rec.SystemData = old.SystemData
		} else {
			rec.ID, rec.Name = id.String(), name
		}
		m.stamp(rec, c)
		if b.Location != nil {
			loc := NormalizeLocation(*b.Location)
			if old != nil && loc != old.Location {
				return nil, false, Errorf(http.StatusConflict, "InvalidResourceGroupLocation",
					"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", loc, old.Location)
			}
			rec.Location = loc
		}
		if rec.Location == "" {
			return nil, false, Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		}
		if b.tagsSet || !patch {
			rec.Tags = b.Tags
		}
		if b.ManagedBy != nil {
			rec.ManagedBy = *b.ManagedBy
		}
		var rev uint64
		if old != nil {
			rev = old.Revision
		}
		if _, err := m.store.put(ctx, id, rec, rev); errors.Is(err, errConflict) && attempt < 5 {
			continue
		} else if err != nil {
			return nil, false, conflictOr(err)
		}
		if err := m.publish(ctx, EventWriteSuccess, id, "Microsoft.Resources/subscriptions/resourceGroups/write", c); err != nil {
			m.log.Error("resource event not published", "id", id, "err", err)
		}
		return rec.Public(), old == nil, nil
	}
}

// stamp records who changed rec and when, and who created it if new.
func (m *Manager) stamp(rec *Record, c Caller) {
	now := m.now().UTC()
	if rec.SystemData == nil {
		rec.SystemData = &SystemData{CreatedAt: now, CreatedBy: c.Principal, CreatedByType: "Application"}
	} else {
		sd := *rec.SystemData
		rec.SystemData = &sd
	}
	rec.SystemData.LastModifiedAt, rec.SystemData.LastModifiedBy, rec.SystemData.LastModifiedByType = now, c.Principal, "Application"
}

func conflictOr(err error) error {
	if errors.Is(err, errConflict) {
		return Errorf(http.StatusConflict, "Conflict", "The resource was changed by another request at the same time; retry the request.")
	}
	return err
}

// DeleteGroup deletes a resource group and everything in it.
func (m *Manager) DeleteGroup(ctx context.Context, sub, name string, c Caller) error {
	if err := m.checkSubscription(sub); err != nil {
		return err
	}
	g, err := m.store.Group(ctx, sub, name)
	if err != nil {
		return err
	}
	recs, err := m.store.Resources(ctx, Query{Subscription: sub, Group: name, Nested: true})
	if err != nil {
		return err
	}
	sortDeepestFirst(recs)
	for _, r := range recs {
		id, err := ParseID(r.ID)
		if err != nil {
			return err
		}
		if err := m.deleteRecord(ctx, id, r, c); err != nil {
			return fmt.Errorf("delete %s: %w", r.ID, err)
		}
	}
	gid, _ := ParseID(g.ID)
	if err := m.store.delete(ctx, gid); err != nil {
		return err
	}
	if err := m.publish(ctx, EventDeleteSuccess, gid, "Microsoft.Resources/subscriptions/resourceGroups/delete", c); err != nil {
		m.log.Error("resource event not published", "id", gid, "err", err)
	}
	return nil
}

// resolveType finds the registered type of id and checks the api-version.
// It canonicalises the namespace and type casing in id.
func (m *Manager) resolveType(id *ID, apiVersion string) (ResourceType, error) {
	ns, ok := m.reg.Namespace(id.TypeNamespace())
	if !ok {
		return nil, Errorf(http.StatusNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", id.TypeNamespace())
	}
	t, ok := m.reg.Lookup(ns, id.TypePath())
	if !ok {
		return nil, Errorf(http.StatusBadRequest, "InvalidResourceType",
			"The resource type '%s' could not be found in the namespace '%s' for api version '%s'.",
			strings.Join(id.TypePath(), "/"), ns, apiVersion)
	}
	info := t.Info()
	if err := checkTypeAPIVersion(info, apiVersion); err != nil {
		return nil, err
	}
	if i := id.extension(); i >= 0 {
		if !info.Extension {
			return nil, Errorf(http.StatusBadRequest, "InvalidResourceType",
				"The resource type '%s' is not an extension resource type: it cannot be placed on another resource.", info.TypeName())
		}
		// The scope keeps its casing; the extension's part takes the type's.
		id.Types, id.Names = slices.Clone(id.Types), slices.Clone(id.Names)
		id.Names[i] = info.Namespace
		copy(id.Types[i+1:], strings.Split(info.Type, "/"))
		return t, nil
	}
	id.Namespace = info.Namespace
	id.Types = strings.Split(info.Type, "/")
	return t, nil
}

func checkTypeAPIVersion(info TypeInfo, v string) error {
	if slices.Contains(info.APIVersions, v) {
		return nil
	}
	last := info.Type[strings.LastIndex(info.Type, "/")+1:]
	return Errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
		"No registered resource provider found for API version '%s' and type '%s'. The supported api-versions are '%s'.",
		v, last, strings.Join(info.APIVersions, ", "))
}

// Get returns a resource as GET serves it.
func (m *Manager) Get(ctx context.Context, id ID, apiVersion string) (*Resource, error) {
	if err := m.checkSubscription(id.Subscription); err != nil {
		return nil, err
	}
	if id.IsGroup() {
		r, err := m.store.Group(ctx, id.Subscription, id.ResourceGroup)
		if err != nil {
			return nil, err
		}
		return r.Public(), nil
	}
	t, err := m.resolveType(&id, apiVersion)
	if err != nil {
		return nil, err
	}
	r, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		if _, err := m.store.Group(ctx, id.Subscription, id.ResourceGroup); err != nil {
			return nil, err
		}
		return nil, m.notFound(id)
	}
	return m.view(t, r), nil
}

func (m *Manager) view(t ResourceType, r *Record) *Resource {
	p := r.Public()
	if v, ok := t.(Viewer); ok {
		v.View(p)
	}
	return p
}

// PutResource creates, replaces or (patch) updates a resource and reports
// whether it was created.
func (m *Manager) PutResource(ctx context.Context, id ID, apiVersion string, body []byte, patch bool, c Caller) (*Resource, bool, error) {
	if err := m.checkSubscription(id.Subscription); err != nil {
		return nil, false, err
	}
	t, err := m.resolveType(&id, apiVersion)
	if err != nil {
		return nil, false, err
	}
	info := t.Info()
	b, err := decodeBody(body)
	if err != nil {
		return nil, false, err
	}
	if err := validateTags(b.Tags); err != nil {
		return nil, false, err
	}
	group, err := m.store.Group(ctx, id.Subscription, id.ResourceGroup)
	if err != nil {
		return nil, false, err
	}
	id.Subscription, id.ResourceGroup = m.sub.ID, group.Name
	if parent, ok := id.Parent(); ok {
		p, err := m.store.Get(ctx, parent)
		if err != nil {
			return nil, false, err
		}
		if p == nil {
			return nil, false, Errorf(http.StatusNotFound, "ParentResourceNotFound",
				"Can not perform requested operation on nested resource. Parent resource '%s' not found.", strings.Join(parent.Names, "/"))
		}
		pid, _ := ParseID(p.ID)
		// Keep the parents' casing (an extension's scope, all of it).
		id.Namespace = pid.Namespace
		copy(id.Types, pid.Types)
		copy(id.Names, pid.Names)
	}
	for attempt := 0; ; attempt++ {
		old, err := m.store.Get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if old == nil && patch {
			return nil, false, m.notFound(id)
		}
		var rec *Record
		if old != nil {
			rec = old.Clone()
			id.Names[len(id.Names)-1] = old.Name
		} else {
			rec = &Record{Resource: Resource{ID: id.String(), Name: id.Name(), Type: id.TypeName()}}
		}
		m.stamp(rec, c)
		if !patch {
			rec.Tags, rec.Kind, rec.SKU, rec.Identity, rec.Properties = nil, "", nil, nil, nil
		}
		if b.Location != nil {
			loc := NormalizeLocation(*b.Location)
			if old != nil && old.Location != "" && loc != old.Location {
				return nil, false, Errorf(http.StatusConflict, "InvalidResourceLocation",
					"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
					old.Name, old.Location, id.ResourceGroup, loc)
			}
			rec.Location = loc
		}
		if info.RequiresLocation && rec.Location == "" {
			return nil, false, Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		}
		if len(info.Locations) > 0 && rec.Location != "" && !slices.Contains(info.Locations, rec.Location) {
			return nil, false, Errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
				"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
				rec.Location, info.TypeName(), strings.Join(info.Locations, ","))
		}
		if b.tagsSet || !patch {
			rec.Tags = b.Tags
		}
		if b.Kind != nil {
			rec.Kind = *b.Kind
		}
		if b.SKU != nil {
			rec.SKU = b.SKU
		}
		if b.Identity != nil {
			rec.Identity = b.Identity
		}
		if b.ManagedBy != nil {
			rec.ManagedBy = *b.ManagedBy
		}
		if patch && b.Properties != nil {
			rec.Properties = mergePatch(rec.Properties, b.Properties)
		} else if !patch {
			rec.Properties = b.Properties
		}
		if rec.Properties == nil {
			rec.Properties = map[string]any{}
		}
		req := &WriteRequest{ID: id, APIVersion: apiVersion, Old: old.Clone(), New: rec, Patch: patch, Store: m.store}
		delete(rec.Properties, "provisioningState") // the type's to set; Succeeded by default
		if err := t.Prepare(ctx, req); err != nil {
			return nil, false, err
		}
		if _, set := rec.Properties["provisioningState"]; !set {
			rec.Properties["provisioningState"] = ProvisioningSucceeded
		}
		if old == nil && info.GloballyUnique {
			holder, err := m.store.reserve(ctx, info.TypeName(), id.Name(), id)
			if err != nil {
				return nil, false, err
			}
			if holder != "" {
				return nil, false, nameTaken(t, id, holder)
			}
		}
		var rev uint64
		if old != nil {
			rev = old.Revision
		}
		if _, err := m.store.put(ctx, id, rec, rev); errors.Is(err, errConflict) && attempt < 5 {
			continue
		} else if err != nil {
			if old == nil && info.GloballyUnique {
				_ = m.store.release(ctx, info.TypeName(), id.Name())
			}
			return nil, false, conflictOr(err)
		}
		if err := m.publish(ctx, EventWriteSuccess, id, info.TypeName()+"/write", c); err != nil {
			m.log.Error("resource event not published", "id", id, "err", err)
		}
		return m.view(t, rec), old == nil, nil
	}
}

// NameTakenError is implemented by types that word "name already taken"
// their own way (storage accounts do).
type NameTakenError interface {
	NameTaken(id ID, holder ID) error
}

func nameTaken(t ResourceType, id ID, holder string) error {
	hid, _ := ParseID(holder)
	if nt, ok := t.(NameTakenError); ok {
		return nt.NameTaken(id, hid)
	}
	info := t.Info()
	return Errorf(http.StatusConflict, "NameAlreadyTaken",
		"The name '%s' of resource type '%s' is already in use by '%s'.", id.Name(), info.TypeName(), hid.String())
}

func (m *Manager) notFound(id ID) error {
	return errNotFoundResource(id.TypeName(), id.Name(), id.ResourceGroup)
}

// mergePatch applies an RFC 7386 JSON merge patch to an object.
func mergePatch(dst, patch map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			d, _ := dst[k].(map[string]any)
			dst[k] = mergePatch(d, pv)
		default:
			dst[k] = v
		}
	}
	return dst
}

// DeleteResource deletes a resource and its children. It reports whether
// there was one.
func (m *Manager) DeleteResource(ctx context.Context, id ID, apiVersion string, c Caller) (bool, error) {
	if err := m.checkSubscription(id.Subscription); err != nil {
		return false, err
	}
	if _, err := m.resolveType(&id, apiVersion); err != nil {
		return false, err
	}
	if _, err := m.store.Group(ctx, id.Subscription, id.ResourceGroup); err != nil {
		return false, err
	}
	rec, err := m.store.Get(ctx, id)
	if err != nil || rec == nil {
		return false, err
	}
	id, _ = ParseID(rec.ID)
	kids, err := m.store.children(ctx, id)
	if err != nil {
		return false, err
	}
	for _, k := range kids {
		kid, err := ParseID(k.ID)
		if err != nil {
			return false, err
		}
		if err := m.deleteRecord(ctx, kid, k, c); err != nil {
			return false, err
		}
	}
	return true, m.deleteRecord(ctx, id, rec, c)
}

func (m *Manager) deleteRecord(ctx context.Context, id ID, rec *Record, c Caller) error {
	t, ok := m.reg.lookupID(id)
	if ok {
		if d, ok := t.(Deleter); ok {
			if err := d.Deleted(ctx, rec); err != nil {
				return err
			}
		}
	}
	if err := m.store.delete(ctx, id); err != nil {
		return err
	}
	if ok && t.Info().GloballyUnique && len(id.Types) > 0 {
		if err := m.store.release(ctx, t.Info().TypeName(), id.Name()); err != nil {
			return err
		}
	}
	if err := m.publish(ctx, EventDeleteSuccess, id, id.TypeName()+"/delete", c); err != nil {
		m.log.Error("resource event not published", "id", id, "err", err)
	}
	return nil
}

// List lists resources of one type (in a group, the subscription, or under a parent).
func (m *Manager) List(ctx context.Context, q Query, apiVersion string) ([]*Resource, error) {
	if err := m.checkSubscription(q.Subscription); err != nil {
		return nil, err
	}
	typeID := ID{Namespace: q.Namespace, Types: q.Types}
	if q.Parent != nil { // the parent's names, for extension types
		typeID.Names = append(slices.Clone(q.Parent.Names), "")
	} else {
		typeID.Names = make([]string, len(q.Types))
	}
	t, err := m.resolveType(&typeID, apiVersion)
	if err != nil {
		return nil, err
	}
	if q.Group != "" {
		if _, err := m.store.Group(ctx, q.Subscription, q.Group); err != nil {
			return nil, err
		}
	}
	if q.Parent != nil {
		parent := *q.Parent
		if n := len(parent.Types); n > 1 && strings.EqualFold(parent.Types[n-1], "providers") {
			// {scope}/providers/{ns}/{type}: the scope must exist.
			parent.Types, parent.Names = parent.Types[:n-1], parent.Names[:n-1]
		}
		if _, err := m.store.Resource(ctx, parent); err != nil {
			return nil, err
		}
	}
	extensions := t.Info().Extension && q.Parent == nil
	if extensions {
		// An extension type in a group or subscription: those on every
		// scope in it, not only on the groups.
		q = Query{Subscription: q.Subscription, Group: q.Group, Nested: true}
	}
	recs, err := m.store.Resources(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*Resource, 0, len(recs))
	for _, r := range recs {
		if extensions && !strings.EqualFold(r.Type, t.Info().TypeName()) {
			continue
		}
		out = append(out, m.view(t, r))
	}
	return out, nil
}

// Action runs a POST action on a resource.
func (m *Manager) Action(ctx context.Context, id ID, action, apiVersion string, body []byte, c Caller) (any, error) {
	if err := m.checkSubscription(id.Subscription); err != nil {
		return nil, err
	}
	t, err := m.resolveType(&id, apiVersion)
	if err != nil {
		return nil, err
	}
	if _, err := m.store.Group(ctx, id.Subscription, id.ResourceGroup); err != nil {
		return nil, err
	}
	rec, err := m.store.Resource(ctx, id)
	if err != nil {
		return nil, err
	}
	a, ok := t.(Actor)
	var res any
	if ok {
		res, err = a.Action(ctx, &ActionRequest{ID: id, Subscription: id.Subscription, Action: action, APIVersion: apiVersion,
			Body: body, Record: rec, Store: m.store, Update: func(ctx context.Context, f func(*Record) error) (*Record, error) {
				return m.update(ctx, id, f)
			}})
	}
	if !ok || errors.Is(err, ErrNoAction) {
		return nil, Errorf(http.StatusBadRequest, "InvalidResourceType",
			"The resource type '%s/%s' could not be found in the namespace '%s' for api version '%s'.",
			strings.Join(id.Types, "/"), action, id.Namespace, apiVersion)
	}
	if err != nil {
		return nil, err
	}
	if err := m.publish(ctx, EventActionSuccess, id, id.TypeName()+"/"+action+"/action", c); err != nil {
		m.log.Error("resource event not published", "id", id, "err", err)
	}
	return res, nil
}

// serveSubtree checks the resource below which a Subtree request falls and
// hands the request to its type.
func (m *Manager) serveSubtree(q *request, st Subtree, id ID, below []string) error {
	if err := m.checkSubscription(id.Subscription); err != nil {
		return err
	}
	if _, err := m.resolveType(&id, q.apiVersion); err != nil {
		return err
	}
	r := q.r
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Writes below a resource can be long (a zip deployment uploads a package and waits for it to run):
		// they get SubtreeWriteTimeout rather than the 30 s of other writes, still immune to hang-ups.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), SubtreeWriteTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	ctx := r.Context()
	if _, err := m.store.Group(ctx, id.Subscription, id.ResourceGroup); err != nil {
		return err
	}
	rec, err := m.store.Resource(ctx, id)
	if err != nil {
		return err
	}
	return st.ServeSubtree(q.w, r, &SubtreeRequest{ID: id, Path: below, APIVersion: q.apiVersion, Record: rec,
		Store: m.store, Caller: q.caller, Update: func(ctx context.Context, f func(*Record) error) (*Record, error) {
			return m.update(ctx, id, f)
		}, Event: func(ctx context.Context, eventType, operation string) {
			if err := m.publish(ctx, eventType, id, operation, q.caller); err != nil {
				m.log.Error("resource event not published", "id", id, "err", err)
			}
		}})
}

// ErrNoChange, returned by an update function, leaves the record as it is
// (no write, no new revision); Update then returns it without error.
var ErrNoChange = errors.New("arm: no change")

// Update changes a stored record with compare-and-set, retrying on
// conflict: f may run more than once, on a fresh copy each time. It is for
// services that change their resources' state themselves (a subscription's
// validation, say); it raises no resource event.
func (m *Manager) Update(ctx context.Context, id ID, f func(*Record) error) (*Record, error) {
	return m.update(ctx, id, f)
}

// update changes a stored record with compare-and-set, retrying on conflict.
func (m *Manager) update(ctx context.Context, id ID, f func(*Record) error) (*Record, error) {
	for attempt := 0; ; attempt++ {
		rec, err := m.store.Resource(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := f(rec); errors.Is(err, ErrNoChange) {
			return rec, nil
		} else if err != nil {
			return nil, err
		}
		rev, err := m.store.put(ctx, id, rec, rec.Revision)
		if errors.Is(err, errConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, conflictOr(err)
		}
		rec.Revision = rev
		return rec, nil
	}
}

// ProviderAction runs a subscription-level POST action of a provider.
func (m *Manager) ProviderAction(ctx context.Context, sub, namespace, action, apiVersion string, body []byte) (any, error) {
	if err := m.checkSubscription(sub); err != nil {
		return nil, err
	}
	ns, ok := m.reg.Namespace(namespace)
	if !ok {
		return nil, Errorf(http.StatusNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", namespace)
	}
	for _, t := range m.reg.Types() {
		info := t.Info()
		pa, ok := t.(ProviderActor)
		if info.Namespace != ns || !ok {
			continue
		}
		if !slices.Contains(info.APIVersions, apiVersion) {
			continue
		}
		res, err := pa.ProviderAction(ctx, &ActionRequest{Subscription: m.sub.ID, Action: action, APIVersion: apiVersion, Body: body, Store: m.store})
		if errors.Is(err, ErrNoAction) {
			continue
		}
		return res, err
	}
	return nil, Errorf(http.StatusBadRequest, "InvalidResourceType",
		"The resource type '%s' could not be found in the namespace '%s' for api version '%s'.", action, ns, apiVersion)
}
