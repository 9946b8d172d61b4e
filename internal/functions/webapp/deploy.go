package webapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/arm"
)

// ActivateTimeout bounds how long a zip deployment waits for this node to serve the new version.
const ActivateTimeout = 2 * time.Minute

// zipDeploy stores the uploaded zip as a new deployment, has the runtime load it, and makes it the active one
// in one write of the site's record: requests in flight finish on the old version, later ones run the new.
// A package that does not load leaves the old version serving and answers 400 with the reason.
func (t *SiteType) zipDeploy(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	ctx := r.Context()
	if t.Data == nil {
		return arm.Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "Deployments are not available on this server.")
	}
	site, err := t.Site(ctx, req.Record)
	if err != nil {
		return err
	}
	deployer := r.URL.Query().Get("deployer")
	if deployer == "" {
		deployer = "ZipDeploy"
	}
	author := r.Header.Get("X-Lapis-Author")
	if author == "" {
		author = "N/A"
	}
	dep := &Deployment{ID: strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", ""), Site: site.Key,
		Status: StatusBuilding, Deployer: deployer, Author: author, StartTime: t.now()}
	dep.Size, dep.Digest, err = t.Data.PutPackage(ctx, site.Key, dep.ID, r.Body)
	switch {
	case errors.Is(err, ErrTooLarge):
		return arm.Errorf(http.StatusRequestEntityTooLarge, "RequestContentTooLarge", "The package is larger than the %d bytes allowed.", MaxPackageSize)
	case err != nil:
		return err
	case dep.Size == 0:
		return arm.Errorf(http.StatusBadRequest, "BadRequest", "The request body is empty: send the zip package as the body (Content-Type: application/zip).")
	}
	if err := t.Data.PutDeployment(ctx, dep); err != nil {
		return err
	}
	fail := func(msg string) error {
		dep.Status, dep.Message, dep.EndTime = StatusFailed, msg, t.now()
		if err := t.Data.PutDeployment(ctx, dep); err != nil {
			return err
		}
		return arm.Errorf(http.StatusBadRequest, "DeploymentFailed", "Deployment %s failed: %s", dep.ID, msg)
	}
	if t.Runtime != nil {
		dep.Status = StatusDeploying
		fns, err := t.Runtime.Prepare(ctx, site, dep)
		if err != nil {
			return fail(err.Error())
		}
		dep.Functions = fns
	}
	dep.Status, dep.EndTime = StatusSuccess, t.now()
	dep.Message = fmt.Sprintf("Deployed %d function(s).", len(dep.Functions))
	if err := t.Data.PutDeployment(ctx, dep); err != nil {
		return err
	}
	rec, err := req.Update(ctx, func(rec *arm.Record) error {
		rec.Secrets[secretDeployment] = dep.ID
		for _, f := range dep.Functions {
			k := secretFnKeys + strings.ToLower(f.Name) + "/default"
			if _, ok := rec.Secrets[k]; !ok && f.InvokePath != "" {
				rec.Secrets[k] = NewKey()
			}
			// A webhook trigger's system key, which Azure creates when the extension first serves the app.
			if k := secretSystemKeys + f.SystemKey; f.SystemKey != "" && rec.Secrets[k] == "" {
				rec.Secrets[k] = NewKey()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	req.Event(ctx, arm.EventWriteSuccess, SiteTypeName+"/deployments/write")
	if t.Runtime != nil && site.State == Running {
		wctx, cancel := context.WithTimeout(ctx, ActivateTimeout)
		err := t.Runtime.WaitActive(wctx, site.Key, dep.ID)
		cancel()
		if err != nil {
			dep.Message += " The app did not start on this node: " + err.Error()
			dep.Status = StatusFailed
			if err := t.Data.PutDeployment(ctx, dep); err != nil {
				return err
			}
		}
	}
	return arm.WriteJSON(w, http.StatusOK, deploymentBody(req, rec, dep))
}

// deploymentBody is a deployment as Azure's Deployment resource shows it.
func deploymentBody(req *arm.SubtreeRequest, rec *arm.Record, d *Deployment) map[string]any {
	props := map[string]any{
		"id":         d.ID,
		"status":     d.Status,
		"message":    d.Message,
		"author":     d.Author,
		"deployer":   d.Deployer,
		"start_time": d.StartTime.Format(time.RFC3339Nano),
		"active":     rec.Secrets[secretDeployment] == d.ID,
		"complete":   d.Status == StatusSuccess || d.Status == StatusFailed,
		"size":       d.Size,
		"digest":     d.Digest,
	}
	if !d.EndTime.IsZero() {
		props["end_time"] = d.EndTime.Format(time.RFC3339Nano)
	}
	return map[string]any{"id": subID(req, "deployments", d.ID), "name": d.ID, "type": SiteTypeName + "/deployments",
		"properties": props}
}

func (t *SiteType) listDeployments(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	out := []any{}
	if t.Data != nil {
		deps, err := t.Data.Deployments(r.Context(), SiteKey(req.Record.Name))
		if err != nil {
			return err
		}
		for _, d := range deps {
			out = append(out, deploymentBody(req, req.Record, d))
		}
	}
	return arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (t *SiteType) showDeployment(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, id string) error {
	var d *Deployment
	var err error
	if t.Data != nil {
		d, err = t.Data.Deployment(r.Context(), SiteKey(req.Record.Name), id)
		if err != nil {
			return err
		}
	}
	if d == nil {
		return arm.Errorf(http.StatusNotFound, "NotFound", "Deployment %s of function app %s not found.", id, req.Record.Name)
	}
	return arm.WriteJSON(w, http.StatusOK, deploymentBody(req, req.Record, d))
}
