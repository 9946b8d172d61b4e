package webapp

import (
	"context"
	"fmt"
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

// invokeURL is the URL that calls f on the front door ("" for a function not called by URL). A webhook's URL
// carries its system key, so that it can be given to Event Grid as it is.
func (t *SiteType) invokeURL(rec *arm.Record, f *Function) string {
	if f.InvokePath == "" || t.FrontDoor == nil {
		return ""
	}
	invoke := t.FrontDoor(rec.Name) + f.InvokePath
	if key := rec.Secrets[secretSystemKeys+f.SystemKey]; f.SystemKey != "" && key != "" {
		sep := "?"
		if strings.Contains(invoke, "?") {
			sep = "&"
		}
		invoke += sep + "code=" + url.QueryEscape(key)
	}
	return invoke
}

// InvokeURL is the invoke_url_template of the function with this resource id
// (.../sites/{app}/functions/{name}) in the site's active deployment: how Event Grid's AzureFunction destinations
// reach an eventGridTrigger function. It fails for a missing site or function, or one not called by URL.
func (t *SiteType) InvokeURL(ctx context.Context, functionID string) (string, error) {
	id, err := arm.ParseID(functionID)
	if err != nil {
		return "", err
	}
	siteID, ok := id.Parent()
	if !ok || !strings.EqualFold(id.TypeName(), SiteTypeName+"/functions") {
		return "", fmt.Errorf("%s is not a function's resource id", functionID)
	}
	rec, err := t.Store.Get(ctx, siteID)
	if err != nil {
		return "", err
	}
	if rec == nil {
		return "", fmt.Errorf("function app %s does not exist", siteID.Name())
	}
	fns, err := t.activeFunctions(ctx, rec)
	if err != nil {
		return "", err
	}
	for i := range fns {
		if strings.EqualFold(fns[i].Name, id.Name()) {
			if u := t.invokeURL(rec, &fns[i]); u != "" {
				return u, nil
			}
			return "", fmt.Errorf("function %s of app %s is not called by URL (its trigger is %s)", fns[i].Name, rec.Name, fns[i].Trigger)
		}
	}
	return "", fmt.Errorf("function %s does not exist in function app %s", id.Name(), rec.Name)
}

// envelope is a function as Azure's FunctionEnvelope shows it.
func (t *SiteType) envelope(req *arm.SubtreeRequest, f *Function) map[string]any {
	app := req.Record.Name
	base := ""
	if t.FrontDoor != nil {
		base = t.FrontDoor(app)
	}
	invoke := t.invokeURL(req.Record, f)
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
