package account_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/substrate"
)

const (
	testSub   = "00000000-0000-0000-0000-00000000c05d"
	testToken = "test-token"
	rgAPI     = "?api-version=2021-04-01"
	dbAPI     = "?api-version=2024-11-15"
	testPort  = 18081
	groupPath = "/subscriptions/" + testSub + "/resourceGroups/"
	acctPath  = groupPath + "rg1/providers/Microsoft.DocumentDB/databaseAccounts/"
)

// server is a management API serving database accounts.
type server struct {
	*httptest.Server
	m   *arm.Manager
	typ *account.Type

	mu      sync.Mutex
	deleted []string // accounts OnDelete saw
}

// newServer serves a manager with the account type (documentEndpoint on
// testPort) and the extra types given, and creates the group rg1.
func newServer(t *testing.T, types ...arm.ResourceType) *server {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub, err := substrate.Open(ctx, substrate.Config{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	s := &server{}
	s.typ = &account.Type{Endpoint: func(a string) string { return account.Endpoint(a, testPort) }}
	s.typ.OnDelete = append(s.typ.OnDelete, func(_ context.Context, a string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.deleted = append(s.deleted, a)
		return nil
	})
	reg := arm.NewRegistry()
	reg.Register(s.typ)
	for _, typ := range types {
		reg.Register(typ)
	}
	s.m, err = arm.NewManager(ctx, arm.Options{Substrate: sub, Registry: reg, Logger: log,
		Subscription: arm.Subscription{ID: testSub, TenantID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewServer(arm.NewAPI(s.m, testToken))
	t.Cleanup(s.Close)
	s.must(t, "PUT", groupPath+"rg1"+rgAPI, `{"location":"eastus"}`)
	return s
}

// do sends a request and returns the status, the ARM error code and the body.
func (s *server) do(t *testing.T, method, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error.Code, string(b)
}

// must sends a request that must succeed and decodes its JSON answer.
func (s *server) must(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	status, _, out := s.do(t, method, path, body)
	if status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	var m map[string]any
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return m
}

// path walks a decoded JSON value: "properties", "locations", "0", ...
func path(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func checkKey(t *testing.T, what string, k any) string {
	t.Helper()
	s, _ := k.(string)
	if b, err := base64.StdEncoding.DecodeString(s); err != nil || len(b) != 64 {
		t.Fatalf("%s = %q: not 64 bytes in base64", what, s)
	}
	return s
}

func TestAccountLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	acct := acctPath + "orders-db"
	created := s.must(t, "PUT", acct+dbAPI, `{"location":"East US","tags":{"env":"dev"},"properties":{
		"databaseAccountOfferType":"Standard","locations":[{"locationName":"East US","failoverPriority":0,"isZoneRedundant":false}],
		"consistencyPolicy":{"defaultConsistencyLevel":"eventual"},"enableFreeTier":true,"documentEndpoint":"https://evil/","instanceId":"mine"}}`)

	got := s.must(t, "GET", acct+dbAPI, "")
	ep := "http://orders-db.localhost:18081/"
	p := got["properties"].(map[string]any)
	for k, want := range map[string]any{
		"provisioningState": "Succeeded", "documentEndpoint": ep, "databaseAccountOfferType": "Standard",
		"enableFreeTier": true, "disableLocalAuth": false, "publicNetworkAccess": "Enabled", "enableAutomaticFailover": false,
		"enableMultipleWriteLocations": false, "isVirtualNetworkFilterEnabled": false, "minimalTlsVersion": "Tls12",
		"createMode": "Default", "networkAclBypass": "None",
	} {
		if !reflect.DeepEqual(p[k], want) {
			t.Errorf("properties.%s = %v, want %v", k, p[k], want)
		}
	}
	if got["kind"] != "GlobalDocumentDB" || got["location"] != "eastus" || got["type"] != account.TypeName || path(got, "tags", "env") != "dev" {
		t.Errorf("account = %v", got)
	}
	if cp := p["consistencyPolicy"]; !reflect.DeepEqual(cp, map[string]any{"defaultConsistencyLevel": "Eventual", "maxIntervalInSeconds": 5.0, "maxStalenessPrefix": 100.0}) {
		t.Errorf("consistencyPolicy = %v", cp)
	}
	wantLoc := map[string]any{"id": "orders-db-eastus", "locationName": "East US", "failoverPriority": 0.0, "isZoneRedundant": false,
		"provisioningState": "Succeeded", "documentEndpoint": ep}
	for _, k := range []string{"locations", "readLocations", "writeLocations"} {
		if l, _ := p[k].([]any); len(l) != 1 || !reflect.DeepEqual(l[0], wantLoc) {
			t.Errorf("%s = %v", k, p[k])
		}
	}
	if id, _ := p["instanceId"].(string); len(id) != 36 {
		t.Errorf("instanceId = %v", p["instanceId"])
	}
	for _, k := range []string{"capabilities", "ipRules", "virtualNetworkRules", "cors"} {
		if l, ok := p[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %v, want []", k, p[k])
		}
	}
	// The PUT's answer is the same as GET's.
	if !reflect.DeepEqual(created["properties"], got["properties"]) {
		t.Errorf("PUT answered %v\nGET answers %v", created["properties"], got["properties"])
	}

	keys := s.must(t, "POST", acct+"/listKeys"+dbAPI, "")
	seen := map[string]bool{}
	for _, k := range []string{account.SecretPrimary, account.SecretSecondary, account.SecretPrimaryReadonly, account.SecretSecondaryReadonly} {
		v := checkKey(t, k, keys[k])
		if seen[v] {
			t.Fatalf("key %s repeats another", k)
		}
		seen[v] = true
		if _, _, body := s.do(t, "GET", acct+dbAPI, ""); strings.Contains(body, v) {
			t.Fatalf("GET shows the key %s", k)
		}
	}
	wantRO := map[string]any{"primaryReadonlyMasterKey": keys["primaryReadonlyMasterKey"], "secondaryReadonlyMasterKey": keys["secondaryReadonlyMasterKey"]}
	for _, c := range [][2]string{{"POST", "/readonlykeys"}, {"GET", "/readonlykeys"}, {"POST", "/listReadOnlyKeys"}} {
		if ro := s.must(t, c[0], acct+c[1]+dbAPI, ""); !reflect.DeepEqual(ro, wantRO) {
			t.Errorf("%s %s = %v, want %v", c[0], c[1], ro, wantRO)
		}
	}
	cs := s.must(t, "POST", acct+"/listConnectionStrings"+dbAPI, "")
	wantCS := []any{
		map[string]any{"connectionString": "AccountEndpoint=" + ep + ";AccountKey=" + keys["primaryMasterKey"].(string) + ";", "description": "Primary SQL Connection String", "keyKind": "Primary", "type": "Sql"},
		map[string]any{"connectionString": "AccountEndpoint=" + ep + ";AccountKey=" + keys["secondaryMasterKey"].(string) + ";", "description": "Secondary SQL Connection String", "keyKind": "Secondary", "type": "Sql"},
		map[string]any{"connectionString": "AccountEndpoint=" + ep + ";AccountKey=" + keys["primaryReadonlyMasterKey"].(string) + ";", "description": "Primary Read-Only SQL Connection String", "keyKind": "PrimaryReadonly", "type": "Sql"},
		map[string]any{"connectionString": "AccountEndpoint=" + ep + ";AccountKey=" + keys["secondaryReadonlyMasterKey"].(string) + ";", "description": "Secondary Read-Only SQL Connection String", "keyKind": "SecondaryReadonly", "type": "Sql"},
	}
	if !reflect.DeepEqual(cs["connectionStrings"], wantCS) {
		t.Errorf("connectionStrings = %v\nwant %v", cs["connectionStrings"], wantCS)
	}

	// The directory gives the data plane the same keys.
	dir := &account.Directory{Store: s.m.Store()}
	rw, ro, err := dir.Keys(ctx, "orders-db")
	if err != nil || !reflect.DeepEqual(rw, []string{keys["primaryMasterKey"].(string), keys["secondaryMasterKey"].(string)}) ||
		!reflect.DeepEqual(ro, []string{keys["primaryReadonlyMasterKey"].(string), keys["secondaryReadonlyMasterKey"].(string)}) {
		t.Fatalf("directory keys = %v %v %v", rw, ro, err)
	}

	// regenerateKey changes one key and its generation time, and answers nothing.
	meta := path(got, "properties", "keysMetadata", "primaryReadonlyMasterKey", "generationTime")
	if status, _, body := s.do(t, "POST", acct+"/regenerateKey"+dbAPI, `{"keyKind":"primaryReadonly"}`); status != 200 || body != "" {
		t.Fatalf("regenerateKey: %d %q", status, body)
	}
	after := s.must(t, "POST", acct+"/listKeys"+dbAPI, "")
	for k, v := range keys {
		if changed := after[k] != v; changed != (k == "primaryReadonlyMasterKey") {
			t.Errorf("after regenerating primaryReadonly, %s changed: %v", k, changed)
		}
	}
	checkKey(t, "regenerated key", after["primaryReadonlyMasterKey"])
	got = s.must(t, "GET", acct+dbAPI, "")
	if m2 := path(got, "properties", "keysMetadata", "primaryReadonlyMasterKey", "generationTime"); m2 == nil || m2 == meta {
		t.Errorf("generationTime %v after regenerating, was %v", m2, meta)
	}

	// A replace keeps the keys and the instance id, and can add locations.
	upd := s.must(t, "PUT", acct+dbAPI, `{"location":"eastus","properties":{"locations":[
		{"locationName":"westus","failoverPriority":1},{"locationName":"eastus","failoverPriority":0}],"enableMultipleWriteLocations":true}}`)
	if path(upd, "properties", "instanceId") != p["instanceId"] || path(upd, "properties", "enableFreeTier") != false {
		t.Errorf("after replace: %v", upd["properties"])
	}
	if l := path(upd, "properties", "locations").([]any); len(l) != 2 || path(l, "0", "locationName") != "eastus" || path(l, "1", "id") != "orders-db-westus" {
		t.Errorf("locations after replace = %v", l)
	}
	if l := path(upd, "properties", "writeLocations").([]any); len(l) != 2 {
		t.Errorf("multi-write writeLocations = %v", l)
	}
	if fp := path(upd, "properties", "failoverPolicies"); !reflect.DeepEqual(fp, []any{
		map[string]any{"id": "orders-db-eastus", "locationName": "eastus", "failoverPriority": 0.0},
		map[string]any{"id": "orders-db-westus", "locationName": "westus", "failoverPriority": 1.0}}) {
		t.Errorf("failoverPolicies = %v", fp)
	}
	if k := s.must(t, "POST", acct+"/listKeys"+dbAPI, ""); !reflect.DeepEqual(k, after) {
		t.Errorf("keys changed on replace")
	}
	// A PATCH turns local auth off: the directory refuses the keys.
	s.must(t, "PATCH", acct+dbAPI, `{"properties":{"disableLocalAuth":true}}`)
	if _, _, err := dir.Keys(ctx, "orders-db"); !errors.Is(err, account.ErrLocalAuthDisabled) {
		t.Errorf("keys with local auth off: %v", err)
	}

	// Lists, in the group and the subscription.
	for _, l := range []string{groupPath + "rg1/providers/Microsoft.DocumentDB/databaseAccounts", "/subscriptions/" + testSub + "/providers/Microsoft.DocumentDB/databaseAccounts"} {
		list := s.must(t, "GET", l+dbAPI, "")
		if v := list["value"].([]any); len(v) != 1 || path(v, "0", "properties", "documentEndpoint") != ep {
			t.Errorf("list %s = %v", l, list)
		}
	}

	// Delete: the data goes, the name is free again.
	if status, _, body := s.do(t, "DELETE", acct+dbAPI, ""); status != 204 { // the provider answers 204, its SDK wants it
		t.Fatalf("delete: %d %s", status, body)
	}
	if !reflect.DeepEqual(s.deleted, []string{"orders-db"}) {
		t.Errorf("OnDelete saw %v", s.deleted)
	}
	if _, _, err := dir.Keys(ctx, "orders-db"); !errors.Is(err, account.ErrNoAccount) {
		t.Errorf("keys of a deleted account: %v", err)
	}
	if status, code, _ := s.do(t, "GET", acct+dbAPI, ""); status != 404 || code != "ResourceNotFound" {
		t.Errorf("GET after delete: %d %s", status, code)
	}
	s.must(t, "PUT", groupPath+"rg2"+rgAPI, `{"location":"westus"}`)
	s.must(t, "PUT", groupPath+"rg2/providers/Microsoft.DocumentDB/databaseAccounts/orders-db"+dbAPI, `{"location":"westus"}`)
}

func TestAccountBadInput(t *testing.T) {
	s := newServer(t)
	s.must(t, "PUT", acctPath+"taken"+dbAPI, `{"location":"eastus"}`)
	s.must(t, "PUT", groupPath+"rg2"+rgAPI, `{"location":"eastus"}`)
	ok := func(props string) string { return `{"location":"eastus","properties":{` + props + `}}` }
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"upper-case name", "PUT", acctPath + "Orders" + dbAPI, ok(""), 400, "InvalidResourceName", "lower-case"},
		{"name too short", "PUT", acctPath + "ab" + dbAPI, ok(""), 400, "InvalidResourceName", "3 to 44"},
		{"name too long", "PUT", acctPath + strings.Repeat("a", 45) + dbAPI, ok(""), 400, "InvalidResourceName", ""},
		{"leading hyphen", "PUT", acctPath + "-abc" + dbAPI, ok(""), 400, "InvalidResourceName", ""},
		{"trailing hyphen", "PUT", acctPath + "abc-" + dbAPI, ok(""), 400, "InvalidResourceName", ""},
		{"double hyphen", "PUT", acctPath + "a--b" + dbAPI, ok(""), 400, "InvalidResourceName", ""},
		{"underscore", "PUT", acctPath + "a_b" + dbAPI, ok(""), 400, "InvalidResourceName", ""},
		{"the emulator's name", "PUT", acctPath + "localhost" + dbAPI, ok(""), 409, "Conflict", "built-in"},
		{"a name taken in another group", "PUT", groupPath + "rg2/providers/Microsoft.DocumentDB/databaseAccounts/taken" + dbAPI, ok(""), 409, "Conflict", "/resourceGroups/rg1/"},
		{"no location", "PUT", acctPath + "acct2" + dbAPI, `{}`, 400, "LocationRequired", ""},
		{"unknown api-version", "PUT", acctPath + "acct2?api-version=2019-01-01", ok(""), 400, "NoRegisteredProviderFound", ""},
		{"MongoDB", "PUT", acctPath + "acct2" + dbAPI, `{"location":"eastus","kind":"MongoDB"}`, 400, "BadRequest", "not supported"},
		{"unknown kind", "PUT", acctPath + "acct2" + dbAPI, `{"location":"eastus","kind":"Graph"}`, 400, "BadRequest", "not valid"},
		{"Mongo capability", "PUT", acctPath + "acct2" + dbAPI, ok(`"capabilities":[{"name":"EnableMongo"}]`), 400, "BadRequest", "EnableMongo"},
		{"capabilities not a list", "PUT", acctPath + "acct2" + dbAPI, ok(`"capabilities":"EnableServerless"`), 400, "BadRequest", "list"},
		{"offer type", "PUT", acctPath + "acct2" + dbAPI, ok(`"databaseAccountOfferType":"Premium"`), 400, "BadRequest", "Standard"},
		{"restore", "PUT", acctPath + "acct2" + dbAPI, ok(`"createMode":"Restore"`), 400, "BadRequest", "not supported"},
		{"consistency level", "PUT", acctPath + "acct2" + dbAPI, ok(`"consistencyPolicy":{"defaultConsistencyLevel":"Linearizable"}`), 400, "BadRequest", "Session"},
		{"staleness interval", "PUT", acctPath + "acct2" + dbAPI, ok(`"consistencyPolicy":{"defaultConsistencyLevel":"BoundedStaleness","maxIntervalInSeconds":1}`), 400, "BadRequest", "between 5 and 86400"},
		{"not a boolean", "PUT", acctPath + "acct2" + dbAPI, ok(`"enableFreeTier":"yes"`), 400, "BadRequest", "true or false"},
		{"network access", "PUT", acctPath + "acct2" + dbAPI, ok(`"publicNetworkAccess":"Sometimes"`), 400, "BadRequest", "Enabled"},
		{"location twice", "PUT", acctPath + "acct2" + dbAPI, ok(`"locations":[{"locationName":"eastus","failoverPriority":0},{"locationName":"East US","failoverPriority":1}]`), 400, "BadRequest", "more than once"},
		{"priority gap", "PUT", acctPath + "acct2" + dbAPI, ok(`"locations":[{"locationName":"eastus","failoverPriority":0},{"locationName":"westus","failoverPriority":0}]`), 400, "BadRequest", "each used once"},
		{"location without a name", "PUT", acctPath + "acct2" + dbAPI, ok(`"locations":[{"failoverPriority":0}]`), 400, "BadRequest", "locationName"},
		{"regenerate an unknown key", "POST", acctPath + "taken/regenerateKey" + dbAPI, `{"keyKind":"tertiary"}`, 400, "BadRequest", "primaryReadonly"},
		{"regenerate with a malformed body", "POST", acctPath + "taken/regenerateKey" + dbAPI, `{`, 400, "InvalidRequestContent", ""},
		{"unknown action", "POST", acctPath + "taken/explode" + dbAPI, ``, 400, "InvalidResourceType", "databaseAccounts/explode"},
		{"GET of an action", "GET", acctPath + "taken/listKeys" + dbAPI, ``, 400, "InvalidResourceType", ""},
		{"action on a missing account", "POST", acctPath + "nope1/listKeys" + dbAPI, ``, 404, "ResourceNotFound", ""},
		{"action with a wrong api-version", "POST", acctPath + "taken/listKeys?api-version=2099-01-01", ``, 400, "NoRegisteredProviderFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, body := s.do(t, tt.method, tt.path, tt.body)
			if status != tt.status || code != tt.code || !strings.Contains(body, tt.msg) || !strings.Contains(body, `"message":"`) {
				t.Fatalf("%s %s = %d %s %s, want %d %s with %q", tt.method, tt.path, status, code, body, tt.status, tt.code, tt.msg)
			}
		})
	}
	// None of it created anything.
	list := s.must(t, "GET", "/subscriptions/"+testSub+"/providers/Microsoft.DocumentDB/databaseAccounts"+dbAPI, "")
	if v := list["value"].([]any); len(v) != 1 {
		t.Fatalf("accounts after bad input: %v", list)
	}
}

// childType stands in for the document store's sqlDatabases type.
type childType struct{}

func (childType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: account.Namespace, Type: "databaseAccounts/sqlDatabases", APIVersions: account.APIVersions}
}
func (childType) Prepare(context.Context, *arm.WriteRequest) error { return nil }

// TestAccountChildTypesPassThrough checks that the account's subtree leaves an
// account's child types to their own type.
func TestAccountChildTypesPassThrough(t *testing.T) {
	s := newServer(t, childType{})
	s.must(t, "PUT", acctPath+"acct1"+dbAPI, `{"location":"eastus"}`)
	db := acctPath + "acct1/sqlDatabases/db1"
	s.must(t, "PUT", db+dbAPI, `{"properties":{"resource":{"id":"db1"}}}`)
	if got := s.must(t, "GET", db+dbAPI, ""); got["type"] != "Microsoft.DocumentDB/databaseAccounts/sqlDatabases" {
		t.Fatalf("child = %v", got)
	}
	if list := s.must(t, "GET", acctPath+"acct1/sqlDatabases"+dbAPI, ""); len(list["value"].([]any)) != 1 {
		t.Fatalf("children = %v", list)
	}
	// Deleting the account deletes its children first.
	s.must(t, "DELETE", acctPath+"acct1"+dbAPI, "")
	if status, _, _ := s.do(t, "GET", db+dbAPI, ""); status != 404 {
		t.Fatalf("child after the account's delete: %d", status)
	}
}

func TestAccountEndpointAndHost(t *testing.T) {
	if got := account.Endpoint("orders-db", 8081); got != "http://orders-db.localhost:8081/" {
		t.Errorf("Endpoint = %s", got)
	}
	if got := account.Endpoint(account.EmulatorAccount, 8081); got != "http://localhost:8081/" {
		t.Errorf("emulator Endpoint = %s", got)
	}
	for host, want := range map[string]string{
		"orders-db.localhost:8081": "orders-db",
		"Orders-DB.localhost":      "orders-db",
		"orders-db.localhost.:80":  "orders-db",
		"localhost:8081":           account.EmulatorAccount,
		"LOCALHOST":                account.EmulatorAccount,
		"127.0.0.1:8081":           account.EmulatorAccount,
		"[::1]:8081":               account.EmulatorAccount,
		"example.com":              "",
		"10.0.0.1:8081":            "",
		"a.b.localhost:8081":       "",
		"ab.localhost":             "",
		"localhost.localhost":      "",
		".localhost":               "",
	} {
		got, ok := account.AccountFromHost(host)
		if got != want || ok != (want != "") {
			t.Errorf("AccountFromHost(%q) = %q %v, want %q", host, got, ok, want)
		}
	}
	ctx := context.Background()
	dir := &account.Directory{}
	if rw, ro, err := dir.Keys(ctx, account.EmulatorAccount); err != nil || !reflect.DeepEqual(rw, []string{account.EmulatorKey}) || ro != nil {
		t.Errorf("emulator keys = %v %v %v", rw, ro, err)
	}
	if _, _, err := dir.Keys(ctx, "nobody"); !errors.Is(err, account.ErrNoAccount) {
		t.Errorf("keys of an unknown account without a store: %v", err)
	}
}
