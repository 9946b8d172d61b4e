package runtime_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadInputs sends every kind of wrong request to the Microsoft.Web endpoints and checks ARM's error shape:
// the status, the code, and a message that says what is wrong.
func TestBadInputs(t *testing.T) {
	s, _ := start(t, t.TempDir())
	createGroup(t, s, "rg")
	createSite(t, s, "rg", "app1", nil)
	base := "/subscriptions/" + s.sub + "/resourceGroups/rg/providers/Microsoft.Web"
	farm := base + "/serverfarms/"
	site := base + "/sites/app1"
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"plan without sku", "PUT", farm + "p1", `{"location":"westeurope"}`, 400, "MissingRequiredProperty", "sku"},
		{"unknown sku", "PUT", farm + "p1", `{"location":"westeurope","sku":{"name":"Z9"}}`, 400, "InvalidSku", "EP1"},
		{"capacity 0", "PUT", farm + "p1", `{"location":"westeurope","sku":{"name":"B1","capacity":0}}`, 400, "InvalidParameter", "capacity"},
		{"burst below minimum", "PUT", farm + "p1", `{"location":"westeurope","sku":{"name":"EP1","capacity":3},"properties":{"maximumElasticWorkerCount":2}}`, 400, "InvalidParameter", "maximumElasticWorkerCount"},
		{"bad plan name", "PUT", farm + "-p", `{"location":"westeurope","sku":{"name":"Y1"}}`, 400, "InvalidResourceName", "hyphen"},
		{"plan without location", "PUT", farm + "p1", `{"sku":{"name":"Y1"}}`, 400, "", "location"},
		{"site of another kind", "PUT", base + "/sites/web1", `{"location":"westeurope","kind":"app"}`, 400, "BadRequest", "functionapp"},
		{"site name too short", "PUT", base + "/sites/a", `{"location":"westeurope"}`, 400, "InvalidResourceName", "2 to 60"},
		{"site on a missing plan", "PUT", base + "/sites/app2", `{"location":"westeurope","properties":{"serverFarmId":"` + farm + `nope"}}`, 404, "NotFound", "nope"},
		{"site on a non-plan", "PUT", base + "/sites/app2", `{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/x/resourceGroups/rg"}}`, 400, "InvalidParameter", "serverFarmId"},
		{"bad app settings", "PUT", base + "/sites/app2", `{"location":"westeurope","properties":{"siteConfig":{"appSettings":{"a":"b"}}}}`, 400, "InvalidParameter", "appSettings"},
		{"setting without a name", "PUT", base + "/sites/app2", `{"location":"westeurope","properties":{"siteConfig":{"appSettings":[{"value":"b"}]}}}`, 400, "InvalidParameter", "name"},
		{"negative scale limit", "PUT", base + "/sites/app2", `{"location":"westeurope","properties":{"siteConfig":{"functionAppScaleLimit":-1}}}`, 400, "InvalidParameter", "functionAppScaleLimit"},
		{"taken site name", "PUT", "/subscriptions/" + s.sub + "/resourceGroups/rg2/providers/Microsoft.Web/sites/app1", `{"location":"westeurope"}`, 404, "ResourceGroupNotFound", "rg2"},
		{"settings not JSON", "PUT", site + "/config/appsettings", `{`, 400, "InvalidRequestContent", "deserialized"},
		{"settings without properties", "PUT", site + "/config/appsettings", `{}`, 400, "MissingRequiredProperty", "properties"},
		{"setting name with =", "PUT", site + "/config/appsettings", `{"properties":{"A=B":"c"}}`, 400, "BadRequest", "="},
		{"GET settings", "GET", site + "/config/appsettings", ``, 405, "MethodNotAllowed", "GET"},
		{"unknown key type", "PUT", site + "/host/default/otherKeys/k", `{}`, 404, "InvalidRequestUri", "functionKeys"},
		{"bad key name", "PUT", site + "/host/default/functionKeys/a%20b", `{}`, 400, "BadRequest", "key name"},
		{"short key value", "PUT", site + "/host/default/functionKeys/k", `{"name":"k","value":"short"}`, 400, "BadRequest", "16 to 256"},
		{"delete master key", "DELETE", site + "/host/default/masterKey/_master", ``, 400, "BadRequest", "master key"},
		{"keys of a missing function", "POST", site + "/functions/nope/listkeys", ``, 404, "NotFound", "nope"},
		{"missing function", "GET", site + "/functions/nope", ``, 404, "NotFound", "nope"},
		{"missing deployment", "GET", site + "/deployments/nope", ``, 404, "NotFound", "nope"},
		{"unknown sub-path", "GET", site + "/whatever", ``, 404, "InvalidRequestUri", "whatever"},
		{"zip deploy by GET", "GET", site + "/extensions/zipdeploy", ``, 405, "MethodNotAllowed", "GET"},
		{"action on a missing site", "POST", base + "/sites/nope/start", ``, 404, "ResourceNotFound", "nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out struct {
				Error struct{ Code, Message string }
			}
			code := s.mgmt(t, c.method, c.path, strings.NewReader(c.body), &out)
			if code != c.status || (c.code != "" && out.Error.Code != c.code) || !strings.Contains(out.Error.Message, c.msg) {
				t.Errorf("%s %s: %d %+v, want %d %s mentioning %q", c.method, c.path, code, out.Error, c.status, c.code, c.msg)
			}
		})
	}
	// A name is unique across groups, as host names are.
	createGroup(t, s, "rg2")
	var out struct {
		Error struct{ Code, Message string }
	}
	code := s.mgmt(t, http.MethodPut, "/subscriptions/"+s.sub+"/resourceGroups/rg2/providers/Microsoft.Web/sites/APP1", strings.NewReader(`{"location":"westeurope"}`), &out)
	if code != 409 || out.Error.Code != "Conflict" || !strings.Contains(out.Error.Message, "already exists") {
		t.Errorf("taken name: %d %+v", code, out.Error)
	}
}
