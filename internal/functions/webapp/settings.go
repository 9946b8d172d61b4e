package webapp

import (
	"net/http"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
)

// settingsBody is the config/appsettings resource.
func settingsBody(req *arm.SubtreeRequest, rec *arm.Record) map[string]any {
	props := map[string]string{}
	for k, v := range rec.Secrets {
		if n, ok := strings.CutPrefix(k, secretSettings); ok {
			props[n] = v
		}
	}
	return map[string]any{"id": subID(req, "config", "appsettings"), "name": "appsettings", "type": SiteTypeName + "/config",
		"location": rec.Location, "properties": props}
}

func (t *SiteType) listSettings(w http.ResponseWriter, req *arm.SubtreeRequest, rec *arm.Record) error {
	return arm.WriteJSON(w, http.StatusOK, settingsBody(req, rec))
}

// putSettings replaces the app settings, as PUT config/appsettings does in Azure (az merges client-side). A
// change restarts the app, as in Azure.
func (t *SiteType) putSettings(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	var body struct {
		Properties map[string]*string `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Properties == nil {
		return arm.Errorf(http.StatusBadRequest, "MissingRequiredProperty", "The required property 'properties' is missing from the request.")
	}
	for n := range body.Properties {
		if err := validateSettingName(n); err != nil {
			return err
		}
	}
	rec, err := req.Update(r.Context(), func(rec *arm.Record) error {
		for k := range rec.Secrets {
			if strings.HasPrefix(k, secretSettings) {
				delete(rec.Secrets, k)
			}
		}
		if rec.Secrets == nil {
			rec.Secrets = map[string]string{}
		}
		for n, v := range body.Properties {
			val := ""
			if v != nil {
				val = *v
			}
			rec.Secrets[secretSettings+n] = val
		}
		return nil
	})
	if err != nil {
		return err
	}
	req.Event(r.Context(), arm.EventWriteSuccess, SiteTypeName+"/config/write")
	return t.listSettings(w, req, rec)
}
