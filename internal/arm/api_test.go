package arm_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/substrate"
)

const (
	testSub   = "00000000-0000-0000-0000-00000000abcd"
	testToken = "test-token"
	rgAPI     = "api-version=2021-04-01"
	stAPI     = "api-version=2023-05-01"
)

func newTestAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _ := newTestManager(t)
	return srv
}

// newTestManager serves a manager with storage accounts and the extra
// types given.
func newTestManager(t *testing.T, types ...arm.ResourceType) (*httptest.Server, *arm.Manager) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub, err := substrate.Open(ctx, substrate.Config{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	reg := arm.NewRegistry()
	reg.Register(&account.Type{})
	for _, typ := range types {
		reg.Register(typ)
	}
	m, err := arm.NewManager(ctx, arm.Options{Substrate: sub, Registry: reg, Logger: log,
		Subscription: arm.Subscription{ID: testSub, TenantID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(arm.NewAPI(m, testToken))
	t.Cleanup(srv.Close)
	return srv, m
}

type call struct {
	method, path, body string
	auth               string // "" means the right token; "-" means none
}

func (c call) do(t *testing.T, base string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	switch c.auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+testToken)
	case "-":
	default:
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error.Code, string(b)
}

func TestBadInputGetsARMErrors(t *testing.T) {
	srv := newTestAPI(t)
	rg := "/subscriptions/" + testSub + "/resourcegroups/"
	acct := rg + "rg1/providers/Microsoft.Storage/storageAccounts/"
	setup := []call{
		{method: "PUT", path: rg + "rg1?" + rgAPI, body: `{"location":"eastus"}`},
		{method: "PUT", path: acct + "acct1?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`},
	}
	for _, c := range setup {
		if status, _, body := c.do(t, srv.URL); status >= 300 {
			t.Fatalf("setup %s %s: %d %s", c.method, c.path, status, body)
		}
	}
	tests := []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"missing token", call{method: "GET", path: rg + "rg1?" + rgAPI, auth: "-"}, 401, "AuthenticationFailed"},
		{"not a bearer token", call{method: "GET", path: rg + "rg1?" + rgAPI, auth: "Basic abc"}, 401, "AuthenticationFailed"},
		{"wrong token", call{method: "GET", path: rg + "rg1?" + rgAPI, auth: "Bearer nope"}, 401, "InvalidAuthenticationToken"},
		{"missing api-version", call{method: "GET", path: rg + "rg1"}, 400, "MissingApiVersionParameter"},
		{"unknown api-version on groups", call{method: "GET", path: rg + "rg1?api-version=2099-01-01"}, 400, "InvalidApiVersionParameter"},
		{"malformed api-version", call{method: "GET", path: rg + "rg1?api-version=latest"}, 400, "InvalidApiVersionParameter"},
		{"unknown api-version on a provider type", call{method: "GET", path: acct + "acct1?api-version=2099-01-01"}, 400, "NoRegisteredProviderFound"},
		{"unknown subscription", call{method: "GET", path: "/subscriptions/nope/resourcegroups/rg1?" + rgAPI}, 404, "SubscriptionNotFound"},
		{"missing group", call{method: "GET", path: rg + "nope?" + rgAPI}, 404, "ResourceGroupNotFound"},
		{"invalid group name", call{method: "PUT", path: rg + "bad%21name?" + rgAPI, body: `{"location":"eastus"}`}, 400, "InvalidResourceGroup"},
		{"group name too long", call{method: "PUT", path: rg + strings.Repeat("a", 91) + "?" + rgAPI, body: `{"location":"eastus"}`}, 400, "InvalidResourceGroup"},
		{"group name ending in a period", call{method: "PUT", path: rg + "abc.?" + rgAPI, body: `{"location":"eastus"}`}, 400, "InvalidResourceGroup"},
		{"group without location", call{method: "PUT", path: rg + "rg2?" + rgAPI, body: `{}`}, 400, "LocationRequired"},
		{"group moved to another location", call{method: "PUT", path: rg + "rg1?" + rgAPI, body: `{"location":"westus"}`}, 409, "InvalidResourceGroupLocation"},
		{"malformed JSON", call{method: "PUT", path: rg + "rg2?" + rgAPI, body: `{"location":`}, 400, "InvalidRequestContent"},
		{"JSON of the wrong shape", call{method: "PUT", path: rg + "rg2?" + rgAPI, body: `{"location":5}`}, 400, "InvalidRequestContent"},
		{"trailing garbage", call{method: "PUT", path: rg + "rg2?" + rgAPI, body: `{"location":"eastus"} x`}, 400, "InvalidRequestContent"},
		{"too many tags", call{method: "PUT", path: rg + "rg2?" + rgAPI, body: `{"location":"eastus","tags":{` + manyTags(51) + `}}`}, 400, "InvalidTagCount"},
		{"unknown namespace", call{method: "GET", path: rg + "rg1/providers/Microsoft.Nope/things/x?" + stAPI}, 404, "InvalidResourceNamespace"},
		{"unknown resource type", call{method: "GET", path: rg + "rg1/providers/Microsoft.Storage/fooAccounts/x?" + stAPI}, 400, "InvalidResourceType"},
		{"unknown action", call{method: "POST", path: acct + "acct1/explode?" + stAPI}, 400, "InvalidResourceType"},
		{"missing resource", call{method: "GET", path: acct + "nope1?" + stAPI}, 404, "ResourceNotFound"},
		{"resource in a missing group", call{method: "GET", path: rg + "nope/providers/Microsoft.Storage/storageAccounts/acct1?" + stAPI}, 404, "ResourceGroupNotFound"},
		{"create in a missing group", call{method: "PUT", path: rg + "nope/providers/Microsoft.Storage/storageAccounts/acct2?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"}}`}, 404, "ResourceGroupNotFound"},
		{"invalid account name", call{method: "PUT", path: acct + "Bad_Name?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"}}`}, 400, "AccountNameInvalid"},
		{"account name too short", call{method: "PUT", path: acct + "ab?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"}}`}, 400, "AccountNameInvalid"},
		{"reserved account name", call{method: "PUT", path: acct + "devstoreaccount1?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"}}`}, 409, "StorageAccountAlreadyTaken"},
		{"account without sku", call{method: "PUT", path: acct + "acct2?" + stAPI, body: `{"location":"eastus"}`}, 400, "MissingRequiredProperty"},
		{"account with unknown sku", call{method: "PUT", path: acct + "acct2?" + stAPI, body: `{"location":"eastus","sku":{"name":"Gold"}}`}, 400, "InvalidValuesForRequestParameters"},
		{"account with unknown kind", call{method: "PUT", path: acct + "acct2?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"},"kind":"Tape"}`}, 400, "InvalidValuesForRequestParameters"},
		{"account without location", call{method: "PUT", path: acct + "acct2?" + stAPI, body: `{"sku":{"name":"Standard_LRS"}}`}, 400, "LocationRequired"},
		{"account moved to another location", call{method: "PUT", path: acct + "acct1?" + stAPI, body: `{"location":"westus","sku":{"name":"Standard_LRS"}}`}, 409, "InvalidResourceLocation"},
		{"regenerate an unknown key", call{method: "POST", path: acct + "acct1/regenerateKey?" + stAPI, body: `{"keyName":"key3"}`}, 400, "InvalidValuesForRequestParameters"},
		{"regenerate with a malformed body", call{method: "POST", path: acct + "acct1/regenerateKey?" + stAPI, body: `{`}, 400, "InvalidRequestContent"},
		{"patch of a missing group", call{method: "PATCH", path: rg + "nope?" + rgAPI, body: `{}`}, 404, "ResourceGroupNotFound"},
		{"delete of a missing group", call{method: "DELETE", path: rg + "nope?" + rgAPI}, 404, "ResourceGroupNotFound"},
		{"invalid $filter", call{method: "GET", path: rg + "?" + rgAPI + "&$filter=name%20gt%20%27x%27"}, 400, "InvalidFilterInQueryString"},
		{"invalid $top", call{method: "GET", path: rg + "?" + rgAPI + "&$top=zero"}, 400, "InvalidTopInQueryString"},
		{"unknown path", call{method: "GET", path: "/nothing?" + rgAPI}, 404, "InvalidRequestUri"},
		{"wrong method", call{method: "POST", path: rg + "?" + rgAPI}, 405, "HttpMethodNotAllowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, body := tt.call.do(t, srv.URL)
			if status != tt.status || code != tt.code {
				t.Fatalf("%s %s = %d %s, want %d %s\n%s", tt.call.method, tt.call.path, status, code, tt.status, tt.code, body)
			}
			if !strings.Contains(body, `"message":"`) {
				t.Fatalf("error body has no message: %s", body)
			}
		})
	}
	// Nothing above changed what exists.
	status, _, body := call{method: "GET", path: rg + "?" + rgAPI}.do(t, srv.URL)
	if status != 200 || strings.Count(body, `"type":"Microsoft.Resources/resourceGroups"`) != 1 {
		t.Fatalf("groups after bad input: %d %s", status, body)
	}
}

func manyTags(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, `"t`+strings.Repeat("x", i)+`":"v"`)
	}
	return strings.Join(parts, ",")
}

func TestNamesAreCaseInsensitive(t *testing.T) {
	srv := newTestAPI(t)
	rg := "/subscriptions/" + testSub + "/resourcegroups/"
	for _, c := range []call{
		{method: "PUT", path: rg + "MyApp-RG?" + rgAPI, body: `{"location":"East US"}`},
		{method: "PUT", path: "/SUBSCRIPTIONS/" + testSub + "/ResourceGroups/myapp-rg/Providers/microsoft.storage/STORAGEACCOUNTS/acct1?" + stAPI,
			body: `{"location":"eastus","sku":{"name":"standard_lrs"}}`},
	} {
		if status, _, body := c.do(t, srv.URL); status >= 300 {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	status, _, body := call{method: "GET", path: rg + "MYAPP-rg/providers/Microsoft.Storage/storageAccounts/ACCT1?" + stAPI}.do(t, srv.URL)
	if status != 200 {
		t.Fatalf("get with other casing: %d %s", status, body)
	}
	var r arm.Resource
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	// The id keeps the casing of creation and ARM's canonical segment names.
	want := "/subscriptions/" + testSub + "/resourceGroups/MyApp-RG/providers/Microsoft.Storage/storageAccounts/acct1"
	if r.ID != want || r.Type != account.TypeName || r.Location != "eastus" || r.SKU.Name != "Standard_LRS" {
		t.Fatalf("resource = %+v, want id %s", r, want)
	}
	// Deleting a missing resource in an existing group is 204, as in ARM.
	if status, _, _ := (call{method: "DELETE", path: rg + "myapp-rg/providers/Microsoft.Storage/storageAccounts/nope1?" + stAPI}).do(t, srv.URL); status != 204 {
		t.Fatalf("delete missing = %d, want 204", status)
	}
	if status, _, _ := (call{method: "DELETE", path: rg + "MYAPP-RG/providers/Microsoft.Storage/storageAccounts/ACCT1?" + stAPI}).do(t, srv.URL); status != 200 {
		t.Fatalf("delete = %d, want 200", status)
	}
	if status, _, _ := (call{method: "HEAD", path: rg + "myapp-rg?" + rgAPI}).do(t, srv.URL); status != 204 {
		t.Fatalf("HEAD existing group = %d, want 204", status)
	}
}

func TestFilterAndPaging(t *testing.T) {
	srv := newTestAPI(t)
	rg := "/subscriptions/" + testSub + "/resourcegroups/"
	for _, c := range []call{
		{method: "PUT", path: rg + "a-rg?" + rgAPI, body: `{"location":"eastus","tags":{"env":"dev"}}`},
		{method: "PUT", path: rg + "b-rg?" + rgAPI, body: `{"location":"eastus","tags":{"env":"prod"}}`},
		{method: "PUT", path: rg + "c-rg?" + rgAPI, body: `{"location":"eastus"}`},
	} {
		if status, _, body := c.do(t, srv.URL); status >= 300 {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	for filter, want := range map[string]int{
		"tagName eq 'env'":                        2,
		"tagName eq 'ENV' and tagValue eq 'prod'": 1,
		"tagname eq 'env' and tagvalue eq 'PROD'": 0,
		"":                        3,
		"substringof('b-', name)": 1,
		"name eq 'C-RG'":          1,
		"location eq 'eastus' and name eq 'nope'":   0,
		"resourceType eq 'x' and tagName eq 'none'": 0,
	} {
		q := "&$filter=" + strings.ReplaceAll(strings.ReplaceAll(filter, " ", "%20"), "'", "%27")
		status, _, body := call{method: "GET", path: rg + "?" + rgAPI + q}.do(t, srv.URL)
		if status != 200 {
			t.Fatalf("filter %q: %d %s", filter, status, body)
		}
		var list struct{ Value []arm.Resource }
		_ = json.Unmarshal([]byte(body), &list)
		if len(list.Value) != want {
			t.Errorf("filter %q matched %d, want %d", filter, len(list.Value), want)
		}
	}
	// $top pages with nextLink.
	_, _, body := call{method: "GET", path: rg + "?" + rgAPI + "&$top=2"}.do(t, srv.URL)
	var page struct {
		Value    []arm.Resource
		NextLink string
	}
	_ = json.Unmarshal([]byte(body), &page)
	if len(page.Value) != 2 || !strings.Contains(page.NextLink, "skiptoken=2") || page.Value[0].Name != "a-rg" || page.Value[1].Name != "b-rg" {
		t.Fatalf("first page = %s", body)
	}
	// A write between pages does not move items across the page boundary:
	// lists are ordered by id, not by last write.
	if status, _, body := (call{method: "PATCH", path: rg + "a-rg?" + rgAPI, body: `{"tags":{"touched":"1"}}`}).do(t, srv.URL); status != 200 {
		t.Fatalf("patch: %d %s", status, body)
	}
	next := strings.TrimPrefix(page.NextLink, srv.URL)
	_, _, body = call{method: "GET", path: next}.do(t, srv.URL)
	page.Value, page.NextLink = nil, ""
	_ = json.Unmarshal([]byte(body), &page)
	if len(page.Value) != 1 || page.Value[0].Name != "c-rg" || page.NextLink != "" {
		t.Fatalf("second page = %s", body)
	}
}
