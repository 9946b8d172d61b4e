package webapp

import (
	"net/http"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
)

func (t *SiteType) listHostKeys(w http.ResponseWriter, req *arm.SubtreeRequest) error {
	site, err := SiteFromRecord(req.Record, nil)
	if err != nil {
		return err
	}
	return arm.WriteJSON(w, http.StatusOK, map[string]any{"masterKey": site.Keys.Master,
		"functionKeys": site.Keys.Host, "systemKeys": site.Keys.System})
}

// keyBody is a key's request shape: the SDKs' KeyInfo {"name", "value"}, or {"properties": {"name", "value"}}
// as az sends it.
type keyBody struct {
	Name       string `json:"name"`
	Value      string `json:"value"`
	Properties struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
}

func validKeyName(n string) error {
	ok := n != "" && len(n) <= 64
	for i := 0; ok && i < len(n); i++ {
		c := n[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "BadRequest", "The key name '%s' is not valid: use 1 to 64 letters, digits, '-', '_' or '.'.", n)
	}
	return nil
}

func validKeyValue(v string) error {
	ok := len(v) >= 16 && len(v) <= 256
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_=.~", c) >= 0
	}
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "BadRequest",
			"The key value is not valid: it must be 16 to 256 characters of letters, digits, '-', '_', '=', '.' or '~' (omit it to have one generated).")
	}
	return nil
}

// readKey reads an optional key body and returns the value to store (generated when absent).
func readKey(r *http.Request) (string, error) {
	var body keyBody
	if r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil && r.ContentLength > 0 {
			return "", err
		}
	}
	v := body.Value
	if v == "" {
		v = body.Properties.Value
	}
	if v == "" {
		return NewKey(), nil
	}
	return v, validKeyValue(v)
}

// keyResponse answers in both shapes: KeyInfo's top-level name and value, and properties.
func keyResponse(id, name, typ, value string) map[string]any {
	return map[string]any{"id": id, "name": name, "type": typ, "value": value,
		"properties": map[string]string{"name": name, "value": value}}
}

// setSecret stores or removes one key and answers as Azure does.
func (t *SiteType) setSecret(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, secret, id, name, typ string) error {
	switch r.Method {
	case http.MethodPut:
		value, err := readKey(r)
		if err != nil {
			return err
		}
		_, created := req.Record.Secrets[secret]
		created = !created
		if _, err := req.Update(r.Context(), func(rec *arm.Record) error {
			rec.Secrets[secret] = value
			return nil
		}); err != nil {
			return err
		}
		req.Event(r.Context(), arm.EventWriteSuccess, typ+"/write")
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return arm.WriteJSON(w, status, keyResponse(id, name, typ, value))
	case http.MethodDelete:
		if secret == secretMaster {
			return arm.Errorf(http.StatusBadRequest, "BadRequest", "The master key cannot be deleted; set a new value instead.")
		}
		if _, ok := req.Record.Secrets[secret]; !ok {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		if _, err := req.Update(r.Context(), func(rec *arm.Record) error {
			delete(rec.Secrets, secret)
			return nil
		}); err != nil {
			return err
		}
		req.Event(r.Context(), arm.EventDeleteSuccess, typ+"/delete")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return methodNotAllowed(r)
}

// hostKey serves host/default/{functionKeys|systemKeys|masterKey}/{name}.
func (t *SiteType) hostKey(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, kind, name string) error {
	var secret string
	switch kind {
	case "functionkeys":
		secret = secretHostKeys + name
	case "systemkeys":
		secret = secretSystemKeys + name
	case "masterkey", "masterkeys":
		secret, name = secretMaster, "_master"
	default:
		return arm.Errorf(http.StatusNotFound, "InvalidRequestUri", "Unknown key type '%s': use functionKeys, systemKeys or masterKey.", kind)
	}
	if err := validKeyName(name); err != nil {
		return err
	}
	return t.setSecret(w, r, req, secret, subID(req, "host", "default", kind, name), name, SiteTypeName+"/host/"+kind)
}

// functionKey serves functions/{fn}/keys/{name}.
func (t *SiteType) functionKey(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, fn, name string) error {
	f, err := t.function(r.Context(), req, fn)
	if err != nil {
		return err
	}
	if err := validKeyName(name); err != nil {
		return err
	}
	return t.setSecret(w, r, req, secretFnKeys+strings.ToLower(f.Name)+"/"+name,
		subID(req, "functions", f.Name, "keys", name), name, SiteTypeName+"/functions/keys")
}

func (t *SiteType) listFunctionKeys(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, fn string) error {
	f, err := t.function(r.Context(), req, fn)
	if err != nil {
		return err
	}
	site, err := SiteFromRecord(req.Record, nil)
	if err != nil {
		return err
	}
	keys := site.Keys.Function[strings.ToLower(f.Name)]
	if keys == nil {
		keys = map[string]string{}
	}
	// A StringDictionary, as Azure answers listkeys of a function.
	return arm.WriteJSON(w, http.StatusOK, map[string]any{"id": subID(req, "functions", f.Name, "keys"), "name": f.Name,
		"type": SiteTypeName + "/functions/keys", "properties": keys})
}
