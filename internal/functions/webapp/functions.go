package webapp

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
)

// activeFunctions returns the functions of the site's active deployment (none before the first).
func (t *SiteType) activeFunctions(ctx context.Context, rec *arm.Record) ([]Function, error) {
	dep := rec.Secrets[secretDeployment]
	if dep == "" || t.Data == nil {
		return nil, nil
	}
	d, err := t.Data.Deployment(ctx, SiteKey(rec.Name), dep)
	if err != nil || d == nil {
		return nil, err
	}
	return d.Functions, nil
}

// function finds one function of the active deployment, ignoring case.
func (t *SiteType) function(ctx context.Context, req *arm.SubtreeRequest, name string) (*Function, error) {
	fns, err := t.activeFunctions(ctx, req.Record)
	if err != nil {
		return nil, err
	}
	for i := range fns {
		if strings.EqualFold(fns[i].Name, name) {
			return &fns[i], nil
		}
	}
	return nil, arm.Errorf(http.StatusNotFound, "NotFound", "Function %s does not exist in function app %s.", name, req.Record.Name)
}

// envelope is a function as Azure's FunctionEnvelope shows it.
func (t *SiteType) envelope(req *arm.SubtreeRequest, f *Function) map[string]any {
	app := req.Record.Name
	base := ""
	if t.FrontDoor != nil {
		base = t.FrontDoor(app)
	}
	invoke := ""
	if f.InvokePath != "" && base != "" {
		invoke = base + f.InvokePath
		// A webhook's URL carries its system key, so that it can be given to Event Grid as it is.
		if key := req.Record.Secrets[secretSystemKeys+f.SystemKey]; f.SystemKey != "" && key != "" {
			sep := "?"
			if strings.Contains(invoke, "?") {
				sep = "&"
			}
			invoke += sep + "code=" + url.QueryEscape(key)
		}
	}
	bindings := make([]any, len(f.Bindings))
	for i, b := range f.Bindings {
		bindings[i] = b
	}
	return map[string]any{
		"id":       subID(req, "functions", f.Name),
		"name":     app + "/" + f.Name,
		"type":     SiteTypeName + "/functions",
		"location": req.Record.Location,
		"properties": map[string]any{
			"name":                f.Name,
			"function_app_id":     req.ID.String(),
			"href":                base + "/admin/functions/" + f.Name,
			"config":              map[string]any{"bindings": bindings, "disabled": f.Disabled},
			"invoke_url_template": invoke,
			"language":            "custom",
			"isDisabled":          f.Disabled,
		},
	}
}

func (t *SiteType) listFunctions(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	fns, err := t.activeFunctions(r.Context(), req.Record)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(fns))
	for i := range fns {
		out = append(out, t.envelope(req, &fns[i]))
	}
	return arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (t *SiteType) showFunction(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, name string) error {
	f, err := t.function(r.Context(), req, name)
	if err != nil {
		return err
	}
	return arm.WriteJSON(w, http.StatusOK, t.envelope(req, f))
}
