package arm

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ResourcesAPIVersions are the api-versions of Microsoft.Resources
// (subscriptions, resource groups, generic resources), newest first.
var ResourcesAPIVersions = []string{
	"2025-04-01", "2025-03-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-12-01",
	"2022-09-01", "2022-01-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-08-01", "2020-06-01",
	"2020-01-01", "2019-11-01", "2019-10-01", "2019-09-01", "2019-08-01", "2019-07-01", "2019-06-01",
	"2019-05-10", "2019-05-01", "2019-03-01", "2018-11-01", "2018-09-01", "2018-08-01", "2018-07-01",
	"2018-06-01", "2018-05-01", "2018-02-01", "2018-01-01", "2017-12-01", "2017-08-01", "2017-06-01",
	"2017-05-10", "2017-05-01", "2017-03-01", "2016-09-01", "2016-07-01", "2016-06-01", "2016-02-01",
	"2015-11-01", "2015-01-01", "2014-04-01-preview", "2014-04-01", "2014-01-01",
}

// writeTimeout bounds one change, from validation to its event.
const writeTimeout = 30 * time.Second

// maxBody bounds a request body (ARM's limit is 4 MB).
const maxBody = 4 << 20

// API serves the ARM-shaped management API. Mount it at "/" of the
// management listener; it answers /subscriptions/... and /providers.
type API struct {
	m     *Manager
	token string
	log   *slog.Logger
}

// NewAPI returns the handler; token is the admin key every request must
// present as "Authorization: Bearer <token>".
func NewAPI(m *Manager, token string) *API {
	return &API{m: m, token: token, log: m.log}
}

type request struct {
	w          http.ResponseWriter
	r          *http.Request
	apiVersion string
	segs       []string
	caller     Caller
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = reqID
	}
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-correlation-request-id", corr)
	h.Set("Cache-Control", "no-cache")

	if err := a.authenticate(r); err != nil {
		if err.Code == "InvalidAuthenticationToken" {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is invalid."`)
		}
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	v := q.Get("api-version")
	if v == "" {
		writeError(w, r, Errorf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A change runs to the end once started, even if the client hangs
		// up, so that a stored change always raises its event.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	req := &request{w: w, r: r, apiVersion: v, segs: splitPath(r.URL.EscapedPath()), caller: Caller{
		Method: r.Method, URL: r.URL.String(), ClientIP: ip, Correlation: corr,
		ClientRequest: r.Header.Get("x-ms-client-request-id"), Principal: "lapis-admin",
	}}
	if err := a.route(req); err != nil {
		writeError(w, r, AsError(err))
	}
}

func (a *API) authenticate(r *http.Request) *Error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(a.token)) != 1 {
		return Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	}
	return nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		out = append(out, s)
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

func is(seg, word string) bool { return strings.EqualFold(seg, word) }

func (a *API) route(q *request) error {
	s := q.segs
	if len(s) == 0 {
		return errNoRoute(q)
	}
	if is(s[0], "providers") {
		if len(s) == 4 && q.r.Method == http.MethodHead {
			return a.nameTaken(q, s[1], s[2], s[3]) // the provider's own api-version
		}
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
		return a.providers(q, "", s[1:])
	}
	if !is(s[0], "subscriptions") {
		return errNoRoute(q)
	}
	if len(s) == 1 {
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
		return a.onlyGET(q, func() error { return a.writeList(q, []any{a.subscriptionJSON()}) })
	}
	sub, rest := s[1], s[2:]
	if len(rest) == 0 {
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
		if err := a.m.checkSubscription(sub); err != nil {
			return err
		}
		return a.onlyGET(q, func() error { return writeJSON(q.w, http.StatusOK, a.subscriptionJSON()) })
	}
	switch {
	case is(rest[0], "resourcegroups"):
		return a.groups(q, sub, rest[1:])
	case is(rest[0], "resources") && len(rest) == 1:
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
		return a.onlyGET(q, func() error { return a.listAll(q, sub, "") })
	case is(rest[0], "providers"):
		return a.providers(q, sub, rest[1:])
	}
	return errNoRoute(q)
}

func errNoRoute(q *request) error {
	return Errorf(http.StatusNotFound, "InvalidRequestUri", "The request URI '%s' does not name a resource or a collection Lapis serves.", q.r.URL.Path)
}

func errMethod(q *request) error {
	return Errorf(http.StatusMethodNotAllowed, "HttpMethodNotAllowed", "The requested resource does not support http method '%s'.", q.r.Method)
}

func (a *API) onlyGET(q *request, f func() error) error {
	if q.r.Method != http.MethodGet {
		return errMethod(q)
	}
	return f()
}

func checkResourcesAPIVersion(v string) error {
	if slices.Contains(ResourcesAPIVersions, v) {
		return nil
	}
	return Errorf(http.StatusBadRequest, "InvalidApiVersionParameter",
		"The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(ResourcesAPIVersions, ","))
}

func (a *API) subscriptionJSON() map[string]any {
	s := a.m.Subscription()
	return map[string]any{
		"id": "/subscriptions/" + s.ID, "subscriptionId": s.ID, "tenantId": s.TenantID,
		"displayName": s.DisplayName, "state": "Enabled", "authorizationSource": "RoleBased",
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "Lapis", "spendingLimit": "Off"},
	}
}

// groups serves /subscriptions/{sub}/resourcegroups[/{rg}[/resources|/providers/...]].
func (a *API) groups(q *request, sub string, rest []string) error {
	if len(rest) <= 1 || (len(rest) == 2 && is(rest[1], "resources")) {
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		return a.onlyGET(q, func() error { return a.listGroups(q, sub) })
	}
	name := rest[0]
	if len(rest) == 1 {
		return a.group(q, sub, name)
	}
	if is(rest[1], "resources") && len(rest) == 2 {
		return a.onlyGET(q, func() error { return a.listAll(q, sub, name) })
	}
	if !is(rest[1], "providers") || len(rest) < 4 {
		return errNoRoute(q)
	}
	// rest = rg providers ns type [name [type name]...] [action|childType]
	ns, path := rest[2], rest[3:]
	if len(path) > 2 {
		if handled, err := a.subtree(q, ID{Subscription: sub, ResourceGroup: name, Namespace: ns,
			Types: path[:1], Names: path[1:2]}, path[2:]); handled {
			return err
		}
	}
	id := ID{Subscription: sub, ResourceGroup: name, Namespace: ns}
	for i := 0; i+1 < len(path); i += 2 {
		id.Types = append(id.Types, path[i])
		id.Names = append(id.Names, path[i+1])
	}
	if len(path)%2 == 1 {
		last := path[len(path)-1]
		if len(id.Types) == 0 { // collection of a top-level type in a group
			return a.onlyGET(q, func() error {
				return a.listTyped(q, Query{Subscription: sub, Group: name, Namespace: ns, Types: []string{last}})
			})
		}
		if q.r.Method == http.MethodPost {
			return a.action(q, id, last)
		}
		parent := id
		return a.onlyGET(q, func() error {
			return a.listTyped(q, Query{Subscription: sub, Group: name, Namespace: ns, Types: append(slices.Clone(id.Types), last), Parent: &parent})
		})
	}
	return a.resource(q, id)
}

// subtree hands a request below a top-level resource to its type when the
// type is a Subtree and no child type is registered for the next segment.
func (a *API) subtree(q *request, id ID, below []string) (bool, error) {
	nsName, ok := a.m.reg.Namespace(id.Namespace)
	if !ok {
		return false, nil
	}
	t, ok := a.m.reg.Lookup(nsName, id.Types)
	if !ok {
		return false, nil
	}
	st, ok := t.(Subtree)
	if !ok || is(below[0], "providers") { // extension resources are the registry's
		return false, nil
	}
	if _, child := a.m.reg.Lookup(nsName, append(slices.Clone(id.Types), below[0])); child {
		return false, nil
	}
	return true, a.m.serveSubtree(q, st, id, below)
}

func (a *API) group(q *request, sub, name string) error {
	switch q.r.Method {
	case http.MethodGet:
		res, err := a.m.Get(q.r.Context(), ID{Subscription: sub, ResourceGroup: name}, q.apiVersion)
		if err != nil {
			return err
		}
		return writeJSON(q.w, http.StatusOK, res)
	case http.MethodHead:
		if err := a.m.checkSubscription(sub); err != nil {
			return err
		}
		g, err := a.m.store.Get(q.r.Context(), ID{Subscription: sub, ResourceGroup: name})
		if err != nil {
			return err
		}
		if g == nil {
			q.w.WriteHeader(http.StatusNotFound)
		} else {
			q.w.WriteHeader(http.StatusNoContent)
		}
		return nil
	case http.MethodPut, http.MethodPatch:
		body, err := readBody(q.r)
		if err != nil {
			return err
		}
		res, created, err := a.m.PutGroup(q.r.Context(), sub, name, body, q.r.Method == http.MethodPatch, q.caller)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return writeJSON(q.w, status, res)
	case http.MethodDelete:
		if err := a.m.DeleteGroup(q.r.Context(), sub, name, q.caller); err != nil {
			return err
		}
		q.w.WriteHeader(http.StatusOK)
		return nil
	}
	return errMethod(q)
}

func (a *API) resource(q *request, id ID) error {
	ctx := q.r.Context()
	switch q.r.Method {
	case http.MethodGet:
		res, err := a.m.Get(ctx, id, q.apiVersion)
		if err != nil {
			return err
		}
		return writeJSON(q.w, http.StatusOK, res)
	case http.MethodHead:
		if _, err := a.m.Get(ctx, id, q.apiVersion); err != nil {
			if AsError(err).Status != http.StatusNotFound {
				return err
			}
			q.w.WriteHeader(http.StatusNotFound)
			return nil
		}
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPut, http.MethodPatch:
		body, err := readBody(q.r)
		if err != nil {
			return err
		}
		res, created, err := a.m.PutResource(ctx, id, q.apiVersion, body, q.r.Method == http.MethodPatch, q.caller)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			if t, ok := a.m.reg.lookupID(id); ok && t.Info().CreatedStatus != 0 {
				status = t.Info().CreatedStatus
			} else {
				status = http.StatusCreated
			}
		}
		return writeJSON(q.w, status, res)
	case http.MethodDelete:
		existed, err := a.m.DeleteResource(ctx, id, q.apiVersion, q.caller)
		if err != nil {
			return err
		}
		if existed {
			status := http.StatusOK
			if t, ok := a.m.reg.lookupID(id); ok && t.Info().DeletedStatus != 0 {
				status = t.Info().DeletedStatus
			}
			q.w.WriteHeader(status)
		} else {
			q.w.WriteHeader(http.StatusNoContent)
		}
		return nil
	}
	return errMethod(q)
}

func (a *API) action(q *request, id ID, action string) error {
	body, err := readBody(q.r)
	if err != nil {
		return err
	}
	res, err := a.m.Action(q.r.Context(), id, action, q.apiVersion, body, q.caller)
	if err != nil {
		return err
	}
	return writeJSON(q.w, http.StatusOK, res)
}

// providers serves /providers and /subscriptions/{sub}/providers[/{ns}[/{type}|/{action}|/register]].
func (a *API) providers(q *request, sub string, rest []string) error {
	if sub != "" {
		if err := a.m.checkSubscription(sub); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
		return a.onlyGET(q, func() error {
			var out []any
			for _, ns := range a.namespaces() {
				out = append(out, a.providerJSON(sub, ns))
			}
			return a.writeList(q, out)
		})
	}
	ns, ok := a.m.reg.Namespace(rest[0])
	if !ok && !is(rest[0], "Microsoft.Resources") {
		return Errorf(http.StatusNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", rest[0])
	}
	if !ok {
		ns = "Microsoft.Resources"
	}
	if len(rest) == 1 {
		if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
			return err
		}
		return a.onlyGET(q, func() error { return writeJSON(q.w, http.StatusOK, a.providerJSON(sub, ns)) })
	}
	if len(rest) == 3 && q.r.Method == http.MethodHead {
		return a.nameTaken(q, ns, rest[1], rest[2])
	}
	if len(rest) == 2 && sub != "" {
		if q.r.Method == http.MethodPost {
			if is(rest[1], "register") || is(rest[1], "unregister") {
				if err := checkResourcesAPIVersion(q.apiVersion); err != nil {
					return err
				}
				return writeJSON(q.w, http.StatusOK, a.providerJSON(sub, ns))
			}
			body, err := readBody(q.r)
			if err != nil {
				return err
			}
			res, err := a.m.ProviderAction(q.r.Context(), sub, ns, rest[1], q.apiVersion, body)
			if err != nil {
				return err
			}
			return writeJSON(q.w, http.StatusOK, res)
		}
		return a.onlyGET(q, func() error {
			return a.listTyped(q, Query{Subscription: sub, Namespace: ns, Types: []string{rest[1]}})
		})
	}
	return errNoRoute(q)
}

// nameTaken answers HEAD [/subscriptions/{sub}]/providers/{ns}/{collection}/{name}
// for the globally unique type whose NamesCollection it is: 200 when the
// name is taken, 404 when it is free.
func (a *API) nameTaken(q *request, ns, collection, name string) error {
	for _, t := range a.m.reg.Types() {
		info := t.Info()
		if !is(info.Namespace, ns) || info.NamesCollection == "" || !is(info.NamesCollection, collection) {
			continue
		}
		holder, err := a.m.store.NameHolder(q.r.Context(), info.TypeName(), name)
		if err != nil {
			return err
		}
		if holder == "" {
			q.w.WriteHeader(http.StatusNotFound)
		} else {
			q.w.WriteHeader(http.StatusOK)
		}
		return nil
	}
	return errNoRoute(q)
}

func (a *API) namespaces() []string {
	seen := []string{"Microsoft.Resources"}
	for _, t := range a.m.reg.Types() {
		if ns := t.Info().Namespace; !slices.Contains(seen, ns) {
			seen = append(seen, ns)
		}
	}
	slices.Sort(seen)
	return seen
}

func (a *API) providerJSON(sub, ns string) map[string]any {
	var types []any
	if ns == "Microsoft.Resources" {
		for _, t := range []string{"resourceGroups", "subscriptions", "resources", "providers"} {
			types = append(types, map[string]any{"resourceType": t, "locations": []string{}, "apiVersions": ResourcesAPIVersions})
		}
	}
	for _, t := range a.m.reg.Types() {
		info := t.Info()
		if info.Namespace != ns {
			continue
		}
		locs := info.Locations
		if locs == nil {
			locs = []string{}
		}
		types = append(types, map[string]any{"resourceType": info.Type, "locations": locs, "apiVersions": info.APIVersions})
	}
	id := "/providers/" + ns
	if sub != "" {
		id = "/subscriptions/" + sub + id
	}
	return map[string]any{"id": id, "namespace": ns, "registrationState": "Registered",
		"registrationPolicy": "RegistrationRequired", "resourceTypes": types}
}

func (a *API) listGroups(q *request, sub string) error {
	if err := a.m.checkSubscription(sub); err != nil {
		return err
	}
	f, err := ParseFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	recs, err := a.m.store.Groups(q.r.Context(), sub)
	if err != nil {
		return err
	}
	var out []any
	for _, r := range recs {
		if f.Match(r) {
			out = append(out, r.Public())
		}
	}
	return a.writeList(q, out)
}

func (a *API) listAll(q *request, sub, group string) error {
	if err := a.m.checkSubscription(sub); err != nil {
		return err
	}
	f, err := ParseFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	if group != "" {
		if _, err := a.m.store.Group(q.r.Context(), sub, group); err != nil {
			return err
		}
	}
	recs, err := a.m.store.Resources(q.r.Context(), Query{Subscription: sub, Group: group})
	if err != nil {
		return err
	}
	var out []any
	for _, r := range recs {
		if !f.Match(r) {
			continue
		}
		id, _ := ParseID(r.ID)
		if t, ok := a.m.reg.lookupID(id); ok {
			if t.Info().Extension {
				continue // extension resources are listed on their scope, as in ARM
			}
			out = append(out, a.m.view(t, r))
		} else {
			out = append(out, r.Public())
		}
	}
	return a.writeList(q, out)
}

func (a *API) listTyped(q *request, query Query) error {
	res, err := a.m.List(q.r.Context(), query, q.apiVersion)
	if err != nil {
		return err
	}
	out := make([]any, len(res))
	for i, r := range res {
		out[i] = r
	}
	return a.writeList(q, out)
}

// writeList writes {"value":[...],"nextLink":...}, paging by $top and $skiptoken.
func (a *API) writeList(q *request, items []any) error {
	qs := q.r.URL.Query()
	top := len(items)
	if t := qs.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return Errorf(http.StatusBadRequest, "InvalidTopInQueryString", "The $top query parameter value '%s' is invalid: it must be a positive integer.", t)
		}
		top = n
	}
	skip := 0
	if s := qs.Get("$skiptoken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Errorf(http.StatusBadRequest, "InvalidSkipToken", "The $skiptoken '%s' is invalid.", s)
		}
		skip = min(n, len(items))
	}
	end := min(skip+top, len(items))
	body := map[string]any{"value": nonNil(items[skip:end])}
	if end < len(items) {
		u := *q.r.URL
		u.Scheme, u.Host = "http", q.r.Host
		vals := u.Query()
		vals.Set("$skiptoken", strconv.Itoa(end))
		u.RawQuery = vals.Encode()
		body["nextLink"] = u.String()
	}
	return writeJSON(q.w, http.StatusOK, body)
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestContentTooLarge", "The request content is larger than the %d bytes allowed.", maxBody)
	}
	if err != nil {
		return nil, errInvalidContent(err)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	_ = writeJSON(w, e.Status, e)
}
