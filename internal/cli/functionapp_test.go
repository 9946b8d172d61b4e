package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSub = "00000000-0000-0000-0000-0000000000aa"

// fakeARM is a management API that answers from handlers keyed by
// "METHOD /path" (without the query) and records every request.
type fakeARM struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []fakeReq
	handlers map[string]func(w http.ResponseWriter, r *http.Request, body []byte)
}

type fakeReq struct {
	method, path, apiVersion, contentType string
	contentLength                         int64
	body                                  []byte
}

func newFakeARM(t *testing.T) *fakeARM {
	t.Helper()
	f := &fakeARM{handlers: map[string]func(http.ResponseWriter, *http.Request, []byte){}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeReq{r.Method, r.URL.Path, r.URL.Query().Get("api-version"), r.Header.Get("Content-Type"), r.ContentLength, body})
		h := f.handlers[r.Method+" "+r.URL.Path]
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer test-token" {
			w.WriteHeader(401)
			return
		}
		if h == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"error":{"code":"ResourceNotFound","message":"no route %s %s"}}`, r.Method, r.URL.Path)
			return
		}
		h(w, r, body)
	}))
	t.Cleanup(f.Close)
	t.Setenv("LAPIS_TOKEN", "test-token")
	return f
}

func (f *fakeARM) on(method, path string, h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[method+" "+path] = h
}

// json answers v with status 200 on method path.
func (f *fakeARM) json(method, path string, v any) {
	f.on(method, path, func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeTestJSON(w, 200, v) })
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// last returns the last request to method path.
func (f *fakeARM) last(t *testing.T, method, path string) fakeReq {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reqs) - 1; i >= 0; i-- {
		if f.reqs[i].method == method && f.reqs[i].path == path {
			return f.reqs[i]
		}
	}
	t.Fatalf("no %s %s among %d requests", method, path, len(f.reqs))
	return fakeReq{}
}

func (f *fakeARM) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append([]string{"--endpoint", f.URL, "--subscription", testSub}, args...)...)
}

func decodeBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

const (
	rgPath   = "/subscriptions/" + testSub + "/resourcegroups/rg1"
	webBase  = rgPath + "/providers/Microsoft.Web"
	sitePth  = webBase + "/sites/app1"
	acctPath = rgPath + "/providers/Microsoft.Storage/storageAccounts/store1"
)

// withStorage makes the fake serve a group and a storage account with keys.
func withStorage(f *fakeARM) {
	f.json("GET", rgPath, map[string]any{"name": "rg1", "location": "eastus"})
	f.json("GET", acctPath, map[string]any{"name": "store1", "properties": map[string]any{"primaryEndpoints": map[string]any{
		"blob": "http://127.0.0.1:10000/store1/", "queue": "http://127.0.0.1:10001/store1/"}}})
	f.json("POST", acctPath+"/listKeys", map[string]any{"keys": []any{map[string]any{"keyName": "key1", "value": "KEY1=="}, map[string]any{"keyName": "key2", "value": "KEY2=="}}})
}

// echoSite answers a site PUT with the body, as ARM would, with an id.
func echoSite(f *fakeARM, path string) {
	f.on("PUT", path, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		m["id"] = strings.Replace(path, "/resourcegroups/", "/resourceGroups/", 1)
		m["name"] = path[strings.LastIndex(path, "/")+1:]
		m["type"] = "Microsoft.Web/sites"
		writeTestJSON(w, 200, m)
	})
}

func TestFunctionappCreateUsageErrors(t *testing.T) {
	t.Setenv("LAPIS_DATA_DIR", t.TempDir())
	base := []string{"functionapp", "create", "-g", "rg1", "-n", "app1", "-s", "store1"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{base, "pass exactly one of --consumption-plan-location/-c LOCATION, --plan/-p NAME_OR_ID, --flexconsumption-location LOCATION: one of them is required"},
		{append(base, "-c", "eastus", "-p", "plan1"), "they exclude each other"},
		{append(base, "-c", "eastus", "--flexconsumption-location", "eastus", "-p", "x"), "they exclude each other"},
		{[]string{"functionapp", "create", "-n", "app1", "-c", "eastus"}, "the following arguments are required: --resource-group/-g, --storage-account/-s"},
		{append(base, "-c", "eastus", "--runtime", "python"), "argument --runtime: invalid choice: 'python'"},
		{append(base, "-c", "eastus", "--functions-version", "3"), "argument --functions-version: invalid choice: '3'"},
		{append(base, "-c", "eastus", "--os-type", "mac"), "argument --os-type: invalid choice: 'mac'"},
		{append(base, "-c", "eastus", "stray"), "unrecognized arguments: stray"},
		{[]string{"functionapp", "show", "-n", "app1"}, "the following arguments are required: --resource-group/-g"},
		{[]string{"functionapp", "function", "show", "-n", "app1", "-g", "rg1"}, "the following arguments are required: --function-name"},
		{[]string{"functionapp", "keys", "set", "-n", "app1", "-g", "rg1", "--key-type", "userKeys", "--key-name", "k"}, "argument --key-type/-t: invalid choice: 'userKeys'"},
		{[]string{"functionapp", "keys", "set", "-n", "app1", "-g", "rg1", "--key-type", "functionKeys"}, "the following arguments are required: --key-name"},
		{[]string{"functionapp", "function", "keys", "set", "-n", "app1", "-g", "rg1", "--function-name", "f"}, "the following arguments are required: --key-name"},
		{[]string{"functionapp", "config", "appsettings", "set", "-n", "app1", "-g", "rg1"}, "the following arguments are required: --settings"},
		{[]string{"functionapp", "config", "appsettings", "set", "-n", "app1", "-g", "rg1", "--settings", "NOEQUALS"}, "invalid setting 'NOEQUALS'"},
		{[]string{"functionapp", "config", "appsettings", "delete", "-n", "app1", "-g", "rg1"}, "the following arguments are required: --setting-names"},
		{[]string{"functionapp", "deployment", "source", "config-zip", "-n", "app1", "-g", "rg1"}, "the following arguments are required: --src"},
		{[]string{"functionapp", "plan", "create", "-n", "p", "-g", "rg1"}, "the following arguments are required: --sku"},
		{[]string{"functionapp", "plan", "create", "-n", "p", "-g", "rg1", "--sku", "F1"}, "argument --sku: invalid choice: 'F1'"},
		{[]string{"functionapp", "plan", "create", "-n", "p", "-g", "rg1", "--sku", "P1v3", "--max-burst", "3"}, "--max-burst is for Elastic Premium"},
		{[]string{"functionapp", "plan", "create", "-n", "p", "-g", "rg1", "--sku", "EP1", "--min-instances", "1", "--number-of-workers", "2"}, "pass one"},
		{[]string{"functionapp", "plan", "delete", "-n", "p", "-g", "rg1"}, "no tty"},
		{[]string{"functionapp", "frobnicate"}, "'frobnicate' is misspelled or not recognized"},
		{[]string{"func", "publish"}, "publish needs the function app's name"},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "ERROR: ") {
			t.Errorf("lapis %s: exit %d, stdout %q, stderr %q; want exit 2 and one ERROR line with %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
}

func TestFunctionappCreateBodies(t *testing.T) {
	f := newFakeARM(t)
	withStorage(f)
	echoSite(f, sitePth)
	f.json("GET", webBase+"/serverfarms/plan1", map[string]any{"id": "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan1",
		"location": "westeurope", "properties": map[string]any{"reserved": true}})
	wantSettings := []any{
		map[string]any{"name": "AzureWebJobsStorage", "value": "DefaultEndpointsProtocol=http;AccountName=store1;AccountKey=KEY1==;BlobEndpoint=http://127.0.0.1:10000/store1;QueueEndpoint=http://127.0.0.1:10001/store1"},
		map[string]any{"name": "FUNCTIONS_EXTENSION_VERSION", "value": "~4"},
		map[string]any{"name": "FUNCTIONS_WORKER_RUNTIME", "value": "custom"},
	}

	// Consumption: no serverFarmId.
	code, out, errOut := f.run(t, "functionapp", "create", "-g", "rg1", "-n", "app1", "-s", "store1", "-c", "eastus", "--runtime", "go", "--max-instances", "5", "--tags", "env=dev", "team=web")
	if code != 0 {
		t.Fatalf("create -c: %d %s", code, errOut)
	}
	body := decodeBody(t, f.last(t, "PUT", sitePth).body)
	want := map[string]any{"location": "eastus", "kind": "functionapp,linux", "tags": map[string]any{"env": "dev", "team": "web"},
		"properties": map[string]any{"reserved": true, "siteConfig": map[string]any{"appSettings": wantSettings, "functionAppScaleLimit": 5.0}}}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("consumption body:\n%v\nwant\n%v", body, want)
	}
	if r := f.last(t, "POST", acctPath+"/listKeys"); r.apiVersion != "2023-05-01" {
		t.Fatalf("listKeys api-version %q", r.apiVersion)
	}
	if r := f.last(t, "PUT", sitePth); r.apiVersion != "2023-12-01" {
		t.Fatalf("site api-version %q", r.apiVersion)
	}
	// The output is flattened, with resourceGroup.
	var printed map[string]any
	if err := json.Unmarshal([]byte(out), &printed); err != nil || printed["resourceGroup"] != "rg1" || printed["reserved"] != true || printed["properties"] != nil {
		t.Fatalf("printed %v (%v)", printed, err)
	}

	// On a plan named in the group: its id and location, Linux from the plan.
	if code, _, errOut := f.run(t, "functionapp", "create", "-g", "rg1", "-n", "app1", "-s", acctPath, "-p", "plan1"); code != 0 {
		t.Fatalf("create -p: %d %s", code, errOut)
	}
	body = decodeBody(t, f.last(t, "PUT", sitePth).body)
	props := body["properties"].(map[string]any)
	if body["location"] != "westeurope" || body["kind"] != "functionapp,linux" || props["serverFarmId"] != "/subscriptions/"+testSub+"/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan1" {
		t.Fatalf("plan body %v", body)
	}
	if code, _, errOut := f.run(t, "functionapp", "create", "-g", "rg1", "-n", "app1", "-s", "store1", "-p", "plan1", "--os-type", "windows"); code != 1 || !strings.Contains(errOut, "is a Linux plan") {
		t.Fatalf("windows app on a linux plan: %d %s", code, errOut)
	}

	// Flex Consumption.
	if code, _, errOut := f.run(t, "functionapp", "create", "-g", "rg1", "-n", "app1", "-s", "store1", "--flexconsumption-location", "northeurope", "--max-instances", "40"); code != 0 {
		t.Fatalf("create flex: %d %s", code, errOut)
	}
	body = decodeBody(t, f.last(t, "PUT", sitePth).body)
	props = body["properties"].(map[string]any)
	if body["location"] != "northeurope" || props["sku"] != "FlexConsumption" ||
		!reflect.DeepEqual(props["functionAppConfig"], map[string]any{"scaleAndConcurrency": map[string]any{"maximumInstanceCount": 40.0}}) ||
		props["siteConfig"].(map[string]any)["functionAppScaleLimit"] != nil {
		t.Fatalf("flex body %v", body)
	}

	// Windows consumption.
	if code, _, errOut := f.run(t, "functionapp", "create", "-g", "rg1", "-n", "app1", "-s", "store1", "-c", "eastus", "--os-type", "Windows"); code != 0 {
		t.Fatalf("create windows: %d %s", code, errOut)
	}
	if body = decodeBody(t, f.last(t, "PUT", sitePth).body); body["kind"] != "functionapp" || body["properties"].(map[string]any)["reserved"] != false {
		t.Fatalf("windows body %v", body)
	}

	// A missing storage account is the server's 404: exit 3, before any PUT.
	f.mu.Lock()
	n := len(f.reqs)
	f.mu.Unlock()
	if code, _, errOut := f.run(t, "functionapp", "create", "-g", "rg1", "-n", "app2", "-s", "nostore", "-c", "eastus"); code != 3 || !strings.Contains(errOut, "(ResourceNotFound)") {
		t.Fatalf("missing account: %d %s", code, errOut)
	}
	f.mu.Lock()
	for _, r := range f.reqs[n:] {
		if r.method == "PUT" {
			t.Errorf("PUT %s after a failed account lookup", r.path)
		}
	}
	f.mu.Unlock()
}

func TestPlanCreateBodies(t *testing.T) {
	f := newFakeARM(t)
	withStorage(f)
	planPath := webBase + "/serverfarms/p1"
	echoSite(f, planPath)
	for _, tc := range []struct {
		args []string
		want map[string]any
	}{
		{[]string{"--sku", "ep1", "--min-instances", "1", "--max-burst", "10", "--is-linux"}, map[string]any{"location": "eastus", "kind": "elastic",
			"sku": map[string]any{"name": "EP1", "capacity": 1.0}, "properties": map[string]any{"reserved": true, "maximumElasticWorkerCount": 10.0}}},
		{[]string{"--sku", "Y1", "-l", "westus"}, map[string]any{"location": "westus", "kind": "functionapp",
			"sku": map[string]any{"name": "Y1"}, "properties": map[string]any{"reserved": false}}},
		{[]string{"--sku", "FC1", "--is-linux"}, map[string]any{"location": "eastus", "kind": "functionapp",
			"sku": map[string]any{"name": "FC1"}, "properties": map[string]any{"reserved": true}}},
		{[]string{"--sku", "p1V3", "--number-of-workers", "2", "--is-linux"}, map[string]any{"location": "eastus", "kind": "linux",
			"sku": map[string]any{"name": "P1v3", "capacity": 2.0}, "properties": map[string]any{"reserved": true}}},
		{[]string{"--sku", "B1", "--tags", "a=b"}, map[string]any{"location": "eastus", "kind": "app", "tags": map[string]any{"a": "b"},
			"sku": map[string]any{"name": "B1"}, "properties": map[string]any{"reserved": false}}},
	} {
		args := append([]string{"functionapp", "plan", "create", "-g", "rg1", "-n", "p1"}, tc.args...)
		if code, _, errOut := f.run(t, args...); code != 0 {
			t.Fatalf("%v: %d %s", tc.args, code, errOut)
		}
		if body := decodeBody(t, f.last(t, "PUT", planPath).body); !reflect.DeepEqual(body, tc.want) {
			t.Errorf("%v: body\n%v\nwant\n%v", tc.args, body, tc.want)
		}
	}

	// update: GET, then PUT with the changes.
	f.json("GET", planPath, map[string]any{"id": planPath, "name": "p1", "location": "eastus", "kind": "elastic", "tags": map[string]any{"x": "y"},
		"sku": map[string]any{"name": "EP1", "tier": "ElasticPremium", "capacity": 1}, "properties": map[string]any{"reserved": true, "maximumElasticWorkerCount": 10}})
	if code, _, errOut := f.run(t, "functionapp", "plan", "update", "-g", "rg1", "-n", "p1", "--sku", "EP2", "--max-burst", "20"); code != 0 {
		t.Fatalf("update: %d %s", code, errOut)
	}
	want := map[string]any{"location": "eastus", "kind": "elastic", "tags": map[string]any{"x": "y"},
		"sku": map[string]any{"name": "EP2", "capacity": 1.0}, "properties": map[string]any{"reserved": true, "maximumElasticWorkerCount": 20.0}}
	if body := decodeBody(t, f.last(t, "PUT", planPath).body); !reflect.DeepEqual(body, want) {
		t.Errorf("update body\n%v\nwant\n%v", body, want)
	}
	if code, _, errOut := f.run(t, "functionapp", "plan", "update", "-g", "rg1", "-n", "p1", "--sku", "S1", "--max-burst", "20"); code != 2 || !strings.Contains(errOut, "--max-burst is for Elastic Premium") {
		t.Errorf("update to S1 with --max-burst: %d %s", code, errOut)
	}

	// list without -g is subscription-wide; -o table has az-like columns.
	f.json("GET", "/subscriptions/"+testSub+"/providers/Microsoft.Web/serverfarms", map[string]any{"value": []any{
		map[string]any{"id": "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/p1", "name": "p1", "location": "eastus",
			"kind": "elastic", "sku": map[string]any{"name": "EP1", "capacity": 1}, "properties": map[string]any{"maximumElasticWorkerCount": 10, "status": "Ready"}}}})
	code, out, errOut := f.run(t, "functionapp", "plan", "list", "-o", "table")
	if code != 0 || !strings.HasPrefix(out, "Name    ResourceGroup    Location    Sku    Kind     Workers    MaxBurst    Status\n") || !strings.Contains(out, "p1      rg1              eastus      EP1    elastic  1          10          Ready") {
		t.Fatalf("plan list -o table: %d %q %s", code, out, errOut)
	}
}

func TestAppSettingsRoundTrip(t *testing.T) {
	f := newFakeARM(t)
	var mu sync.Mutex
	stored := map[string]string{"AzureWebJobsStorage": "cs", "FUNCTIONS_WORKER_RUNTIME": "custom"}
	f.on("POST", sitePth+"/config/appsettings/list", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		writeTestJSON(w, 200, map[string]any{"properties": stored})
	})
	f.on("PUT", sitePth+"/config/appsettings", func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var b struct{ Properties map[string]string }
		_ = json.Unmarshal(body, &b)
		mu.Lock()
		defer mu.Unlock()
		stored = b.Properties
		writeTestJSON(w, 200, map[string]any{"properties": stored})
	})
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`[{"name":"FROM_FILE","value":"1","slotSetting":false}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := f.run(t, "functionapp", "config", "appsettings", "set", "-g", "rg1", "-n", "app1", "--settings", "GREETING=Hello=World", "MODE=test", "@"+file)
	if code != 0 {
		t.Fatalf("set: %d %s", code, errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 5 || got[0]["name"] != "AzureWebJobsStorage" || got[3]["name"] != "GREETING" || got[3]["value"] != "Hello=World" || got[3]["slotSetting"] != false {
		t.Fatalf("set printed %s (%v)", out, err)
	}
	if stored["FROM_FILE"] != "1" || stored["MODE"] != "test" || stored["AzureWebJobsStorage"] != "cs" {
		t.Fatalf("stored %v", stored)
	}
	code, out, errOut = f.run(t, "functionapp", "config", "appsettings", "delete", "-g", "rg1", "-n", "app1", "--setting-names", "MODE", "FROM_FILE", "NOT_THERE", "--query", "[].name", "-o", "tsv")
	if code != 0 || out != "AzureWebJobsStorage\nFUNCTIONS_WORKER_RUNTIME\nGREETING\n" {
		t.Fatalf("delete: %d %q %s", code, out, errOut)
	}
	code, out, _ = f.run(t, "functionapp", "config", "appsettings", "list", "-g", "rg1", "-n", "app1", "-o", "table")
	if code != 0 || !strings.HasPrefix(out, "Name                      SlotSetting    Value\n") {
		t.Fatalf("list -o table: %q", out)
	}
}

func TestParseSettingsAndMerge(t *testing.T) {
	dir := t.TempDir()
	obj := filepath.Join(dir, "obj.json")
	os.WriteFile(obj, []byte(`{"A":"1","N":2,"B":null}`), 0o600)
	got, err := parseSettings([]string{"X=1", "Y=", "Z=a=b", "@" + obj})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"X": "1", "Y": "", "Z": "a=b", "A": "1", "N": "2", "B": ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("parseSettings = %v, want %v", got, want)
	}
	for _, bad := range []string{"=v", "novalue", "@" + filepath.Join(dir, "missing.json")} {
		if _, err := parseSettings([]string{bad}); err == nil {
			t.Errorf("parseSettings(%q) accepted", bad)
		}
	}
	cur := map[string]string{"A": "1", "B": "2"}
	if m := mergeSettings(cur, map[string]string{"B": "3", "C": "4"}, []string{"A", "Q"}); !reflect.DeepEqual(m, map[string]string{"B": "3", "C": "4"}) {
		t.Fatalf("merge = %v", m)
	}
	if cur["A"] != "1" || cur["B"] != "2" {
		t.Fatal("merge changed its input")
	}
}

func TestAzFunction(t *testing.T) {
	env := map[string]any{
		"id":   "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Web/sites/app1/functions/hello",
		"name": "app1/hello", "type": "Microsoft.Web/sites/functions",
		"properties": map[string]any{"name": "hello", "function_app_id": "/subscriptions/s/.../app1", "invoke_url_template": "http://app1.localhost:7071/api/hello",
			"isDisabled": false, "language": "custom", "script_href": "x", "test_data": "{}",
			"config": map[string]any{"bindings": []any{map[string]any{"type": "httpTrigger", "auth_level": "function"}}}},
	}
	got := azFunction(env)
	want := map[string]any{"id": env["id"], "name": "app1/hello", "type": "Microsoft.Web/sites/functions", "resourceGroup": "rg1",
		"functionAppId": "/subscriptions/s/.../app1", "invokeUrlTemplate": "http://app1.localhost:7071/api/hello", "isDisabled": false,
		"language": "custom", "scriptHref": "x", "testData": "{}",
		"config": map[string]any{"bindings": []any{map[string]any{"type": "httpTrigger", "auth_level": "function"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("azFunction =\n%v\nwant\n%v", got, want)
	}
	for in, out := range map[string]string{"invoke_url_template": "invokeUrlTemplate", "isDisabled": "isDisabled", "a": "a", "_x": "x", "x_": "x", "_": "_"} {
		if c := camelCase(in); c != out {
			t.Errorf("camelCase(%q) = %q, want %q", in, c, out)
		}
	}
}

func TestFunctionListAndKeys(t *testing.T) {
	f := newFakeARM(t)
	f.json("GET", sitePth+"/functions", map[string]any{"value": []any{map[string]any{
		"id": "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/app1/functions/hello", "name": "app1/hello",
		"properties": map[string]any{"name": "hello", "invoke_url_template": "http://app1.localhost:7071/api/hello", "language": "custom", "isDisabled": false}}}})
	code, out, errOut := f.run(t, "functionapp", "function", "list", "-g", "rg1", "-n", "app1", "--query", "[].invokeUrlTemplate", "-o", "tsv")
	if code != 0 || out != "http://app1.localhost:7071/api/hello\n" {
		t.Fatalf("function list: %d %q %s", code, out, errOut)
	}
	code, out, _ = f.run(t, "functionapp", "function", "list", "-g", "rg1", "-n", "app1", "-o", "table")
	if code != 0 || !strings.Contains(out, "app1/hello  rg1              custom      False         http://app1.localhost:7071/api/hello") {
		t.Fatalf("function list -o table: %q", out)
	}
	if code, _, errOut := f.run(t, "functionapp", "function", "show", "-g", "rg1", "-n", "app1", "--function-name", "nope"); code != 3 || !strings.Contains(errOut, "(ResourceNotFound)") {
		t.Fatalf("function show missing: %d %s", code, errOut)
	}

	// Host keys: the lower-case type segment, a body without value when none is given, az's {name, value}.
	f.on("PUT", sitePth+"/host/default/functionkeys/ci", func(w http.ResponseWriter, _ *http.Request, body []byte) {
		writeTestJSON(w, 200, map[string]any{"id": sitePth + "/host/default/functionkeys/ci", "name": "ci", "type": "Microsoft.Web/sites/host/functionKeys",
			"properties": map[string]any{"name": "ci", "value": "generated"}})
	})
	code, out, errOut = f.run(t, "functionapp", "keys", "set", "-g", "rg1", "-n", "app1", "--key-type", "functionKeys", "--key-name", "ci")
	if code != 0 || decodeBody(t, []byte(out))["value"] != "generated" {
		t.Fatalf("keys set: %d %q %s", code, out, errOut)
	}
	if b := decodeBody(t, f.last(t, "PUT", sitePth+"/host/default/functionkeys/ci").body); !reflect.DeepEqual(b, map[string]any{"properties": map[string]any{"name": "ci"}}) {
		t.Fatalf("keys set body %v", b)
	}
	f.json("PUT", sitePth+"/host/default/masterkey/_master", map[string]any{"properties": map[string]any{"name": "_master", "value": "m"}})
	if code, _, errOut := f.run(t, "functionapp", "keys", "set", "-g", "rg1", "-n", "app1", "-t", "MASTERKEY", "--key-value", "m"); code != 0 {
		t.Fatalf("keys set masterKey: %d %s", code, errOut)
	}
	if b := decodeBody(t, f.last(t, "PUT", sitePth+"/host/default/masterkey/_master").body); !reflect.DeepEqual(b, map[string]any{"properties": map[string]any{"name": "_master", "value": "m"}}) {
		t.Fatalf("masterKey body %v", b)
	}
	f.on("DELETE", sitePth+"/host/default/systemkeys/sys", func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(200) })
	if code, out, errOut := f.run(t, "functionapp", "keys", "delete", "-g", "rg1", "-n", "app1", "--key-type", "systemKeys", "--key-name", "sys"); code != 0 || out != "" {
		t.Fatalf("keys delete: %d %q %s", code, out, errOut)
	}

	// Function keys.
	f.json("POST", sitePth+"/functions/hello/listkeys", map[string]any{"default": "d"})
	if code, out, _ := f.run(t, "functionapp", "function", "keys", "list", "-g", "rg1", "-n", "app1", "--function-name", "hello", "--query", "default", "-o", "tsv"); code != 0 || out != "d\n" {
		t.Fatalf("function keys list: %d %q", code, out)
	}
	f.json("PUT", sitePth+"/functions/hello/keys/partner", map[string]any{"properties": map[string]any{"name": "partner", "value": "v"}})
	if code, out, _ := f.run(t, "functionapp", "function", "keys", "set", "-g", "rg1", "-n", "app1", "--function-name", "hello", "--key-name", "partner", "--key-value", "v", "--query", "{n:name, v:value}", "-o", "tsv"); code != 0 || out != "partner\tv\n" {
		t.Fatalf("function keys set: %d %q", code, out)
	}
	f.on("DELETE", sitePth+"/functions/hello/keys/partner", func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(204) })
	if code, _, errOut := f.run(t, "functionapp", "function", "keys", "delete", "-g", "rg1", "-n", "app1", "--function-name", "hello", "--key-name", "partner"); code != 0 {
		t.Fatalf("function keys delete: %d %s", code, errOut)
	}
}

func TestSiteActionsListAndUsage(t *testing.T) {
	f := newFakeARM(t)
	for _, a := range []string{"start", "stop", "restart"} {
		f.on("POST", sitePth+"/"+a, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(200) })
		if code, out, errOut := f.run(t, "functionapp", a, "-g", "rg1", "-n", "app1"); code != 0 || out != "" {
			t.Fatalf("%s: %d %q %s", a, code, out, errOut)
		}
	}
	site := func(group, name, kind string) map[string]any {
		return map[string]any{"id": "/subscriptions/" + testSub + "/resourceGroups/" + group + "/providers/Microsoft.Web/sites/" + name, "name": name, "kind": kind,
			"location": "eastus", "properties": map[string]any{"state": "Running", "defaultHostName": name + ".localhost"}}
	}
	f.json("GET", "/subscriptions/"+testSub+"/providers/Microsoft.Web/sites", map[string]any{"value": []any{
		site("rg1", "app1", "functionapp,linux"), site("rg2", "web1", "app"), site("rg2", "app2", "functionapp")}})
	code, out, _ := f.run(t, "functionapp", "list", "--query", "[].[name, resourceGroup, state]", "-o", "tsv")
	if code != 0 || out != "app1\trg1\tRunning\napp2\trg2\tRunning\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = f.run(t, "functionapp", "list", "-o", "table")
	if code != 0 || !strings.HasPrefix(out, "Name    Location    State    ResourceGroup    DefaultHostName    Kind\n") {
		t.Fatalf("list -o table: %q", out)
	}

	f.json("GET", sitePth+"/usage", map[string]any{"name": "app1", "plan": "Consumption", "since": "2026-01-01T00:00:00Z",
		"functions": []any{map[string]any{"name": "hello", "executions": 3, "successes": 2, "failures": 1, "coldStarts": 1,
			"durationMs": map[string]any{"p50": 1.5, "p95": 4, "p99": 9, "max": 9}, "gbSeconds": 0.25}},
		"total": map[string]any{"executions": 3}})
	code, out, _ = f.run(t, "functionapp", "usage", "show", "-g", "rg1", "-n", "app1", "-o", "table")
	if code != 0 || !strings.HasPrefix(out, "Name    Executions    Successes    Failures    ColdStarts    P50Ms    P95Ms    P99Ms    GbSeconds\n") || !strings.Contains(out, "hello   3             2            1           1             1.5      4        9        0.25") {
		t.Fatalf("usage -o table: %d %q", code, out)
	}
	if code, out, _ = f.run(t, "functionapp", "usage", "show", "-g", "rg1", "-n", "app1", "--query", "total.executions"); code != 0 || out != "3\n" {
		t.Fatalf("usage --query: %d %q", code, out)
	}
}

func TestConfigZip(t *testing.T) {
	f := newFakeARM(t)
	var status = 4
	f.on("POST", sitePth+"/extensions/zipdeploy", func(w http.ResponseWriter, _ *http.Request, body []byte) {
		msg := "Created via a push deployment"
		if status == 3 {
			msg = "host.json: customHandler is missing"
		}
		writeTestJSON(w, 200, map[string]any{"id": sitePth + "/deployments/abc", "name": "abc", "type": "Microsoft.Web/sites/deployments",
			"properties": map[string]any{"id": "abc", "status": status, "message": msg, "deployer": "ZipDeploy", "complete": true, "active": status == 4}})
	})
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "app.zip")
	zf, _ := os.Create(zipPath)
	if _, err := writeAppZip(zf, writeTestApp(t), zipOptions{}); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	size, _ := os.Stat(zipPath)

	code, out, errOut := f.run(t, "functionapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "app1", "--src", zipPath)
	if code != 0 {
		t.Fatalf("config-zip: %d %s", code, errOut)
	}
	r := f.last(t, "POST", sitePth+"/extensions/zipdeploy")
	if r.contentType != "application/zip" || r.contentLength != size.Size() || int64(len(r.body)) != size.Size() || r.apiVersion != webAPI {
		t.Fatalf("upload: %q, %d bytes of %d, api-version %q", r.contentType, r.contentLength, size.Size(), r.apiVersion)
	}
	if st := decodeBody(t, []byte(out)); st["status"] != 4.0 || st["deployer"] != "ZipDeploy" {
		t.Fatalf("printed %s", out)
	}
	if !strings.HasPrefix(errOut, "Uploaded ") || !strings.HasSuffix(errOut, " MB\n") {
		t.Fatalf("stderr %q", errOut)
	}

	status = 3
	code, out, errOut = f.run(t, "functionapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "app1", "--src", zipPath)
	if code != 1 || out != "" || !strings.Contains(errOut, "ERROR: (DeploymentFailed) Zip deployment failed: host.json: customHandler is missing") {
		t.Fatalf("failed deployment: %d %q %q", code, out, errOut)
	}
	notZip := filepath.Join(dir, "x.txt")
	os.WriteFile(notZip, []byte("hello"), 0o600)
	if code, _, errOut := f.run(t, "functionapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "app1", "--src", notZip); code != 2 || !strings.Contains(errOut, "is not a zip file") {
		t.Fatalf("not a zip: %d %s", code, errOut)
	}
	// An ARM error answer is a normal error.
	if code, _, errOut := f.run(t, "functionapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "nope", "--src", zipPath); code != 3 || !strings.Contains(errOut, "ERROR: (ResourceNotFound)") {
		t.Fatalf("missing app: %d %s", code, errOut)
	}
}

func TestLogsTail(t *testing.T) {
	f := newFakeARM(t)
	f.on("GET", sitePth+"/logstream", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 3 {
			fmt.Fprintf(w, "2026-01-01T00:00:0%dZ [Information] line %d\n", i, i)
			w.(http.Flusher).Flush()
		}
	})
	code, out, errOut := f.run(t, "functionapp", "logs", "tail", "-g", "rg1", "-n", "app1")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "line 2") {
		t.Fatalf("logs tail: %d %q %s", code, out, errOut)
	}
	if r := f.last(t, "GET", sitePth+"/logstream"); r.apiVersion != webAPI {
		t.Fatalf("api-version %q", r.apiVersion)
	}

	// Cancelling (as Ctrl-C does) ends it with exit 0.
	block := make(chan struct{})
	f.on("GET", sitePth+"/logstream", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		fmt.Fprintln(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-block:
		}
	})
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	var sout syncBuffer
	var serr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"--endpoint", f.URL, "--subscription", testSub, "functionapp", "logs", "tail", "-g", "rg1", "-n", "app1"}, strings.NewReader(""), &sout, &serr)
	}()
	for !strings.Contains(sout.String(), "first") {
		select {
		case c := <-done:
			t.Fatalf("tail ended early: %d %s", c, serr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if c := <-done; c != 0 || serr.Len() != 0 {
		t.Fatalf("cancelled tail: exit %d, stderr %q", c, serr.String())
	}
}
