package webapp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
)

// ServeSubtree implements arm.Subtree: everything Azure serves below a site.
func (t *SiteType) ServeSubtree(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	p := req.Path
	seg := func(i int) string {
		if i < len(p) {
			return strings.ToLower(p[i])
		}
		return ""
	}
	m := r.Method
	switch {
	case len(p) == 1 && m == http.MethodPost && (seg(0) == "start" || seg(0) == "stop" || seg(0) == "restart"):
		return t.lifecycle(w, r, req, seg(0))
	case len(p) == 2 && seg(0) == "config" && seg(1) == "appsettings":
		if m != http.MethodPut {
			return methodNotAllowed(r)
		}
		return t.putSettings(w, r, req)
	case len(p) == 3 && seg(0) == "config" && seg(1) == "appsettings" && seg(2) == "list":
		if m != http.MethodPost {
			return methodNotAllowed(r)
		}
		return t.listSettings(w, req, req.Record)
	case len(p) == 3 && seg(0) == "host" && seg(1) == "default" && seg(2) == "listkeys":
		if m != http.MethodPost {
			return methodNotAllowed(r)
		}
		return t.listHostKeys(w, req)
	case len(p) == 4 && seg(0) == "host" && seg(1) == "default":
		return t.hostKey(w, r, req, seg(2), p[3])
	case len(p) == 1 && seg(0) == "functions":
		if m != http.MethodGet {
			return methodNotAllowed(r)
		}
		return t.listFunctions(w, r, req)
	case len(p) == 2 && seg(0) == "functions":
		if m != http.MethodGet {
			return methodNotAllowed(r)
		}
		return t.showFunction(w, r, req, p[1])
	case len(p) == 3 && seg(0) == "functions" && seg(2) == "listkeys":
		if m != http.MethodPost {
			return methodNotAllowed(r)
		}
		return t.listFunctionKeys(w, r, req, p[1])
	case len(p) == 4 && seg(0) == "functions" && seg(2) == "keys":
		return t.functionKey(w, r, req, p[1], p[3])
	case len(p) == 2 && seg(0) == "extensions" && (seg(1) == "zipdeploy" || seg(1) == "onedeploy"):
		if m != http.MethodPost && m != http.MethodPut {
			return methodNotAllowed(r)
		}
		return t.zipDeploy(w, r, req)
	case len(p) == 1 && seg(0) == "deployments":
		if m != http.MethodGet {
			return methodNotAllowed(r)
		}
		return t.listDeployments(w, r, req)
	case len(p) == 2 && seg(0) == "deployments":
		if m != http.MethodGet {
			return methodNotAllowed(r)
		}
		return t.showDeployment(w, r, req, p[1])
	case len(p) == 1 && seg(0) == "logstream":
		if m != http.MethodGet {
			return methodNotAllowed(r)
		}
		return t.logStream(w, r, req)
	case len(p) == 1 && (seg(0) == "usage" || seg(0) == "usages"):
		if m != http.MethodGet {
			return methodNotAllowed(r)
		}
		return t.serveUsage(w, r, req, seg(0) == "usages")
	}
	return arm.Errorf(http.StatusNotFound, "InvalidRequestUri", "The request URI '%s' does not name anything Lapis serves below a function app.", r.URL.Path)
}

func methodNotAllowed(r *http.Request) error {
	return arm.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed on '%s'.", r.Method, r.URL.Path)
}

// subID is the id of a pseudo-resource below the site, for response bodies.
func subID(req *arm.SubtreeRequest, path ...string) string {
	return req.ID.String() + "/" + strings.Join(path, "/")
}

// readJSON decodes a small request body.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 4<<20))
	if err != nil {
		return arm.Errorf(http.StatusRequestEntityTooLarge, "RequestContentTooLarge", "The request content is larger than the 4194304 bytes allowed.")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%v'.", err)
	}
	return nil
}

func (t *SiteType) lifecycle(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, action string) error {
	_, err := req.Update(r.Context(), func(rec *arm.Record) error {
		switch action {
		case "start":
			rec.Properties["state"] = Running
		case "stop":
			rec.Properties["state"] = Stopped
		case "restart":
			rec.Properties["state"] = Running
			rec.Secrets[secretRestart] = fmt.Sprint(t.now().UnixNano())
		}
		rec.Properties["lastModifiedTimeUtc"] = t.now().Format("2006-01-02T15:04:05Z")
		return nil
	})
	if err != nil {
		return err
	}
	req.Event(r.Context(), arm.EventActionSuccess, SiteTypeName+"/"+action+"/action")
	w.WriteHeader(http.StatusOK)
	return nil
}
