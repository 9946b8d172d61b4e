package fn

import (
	"reflect"
	"testing"
)

func TestRouteMatch(t *testing.T) {
	for _, tc := range []struct {
		route, path string
		want        map[string]string // nil: no match
	}{
		{"hello", "hello", map[string]string{}},
		{"hello", "HELLO/", map[string]string{}},
		{"hello", "hello/x", nil},
		{"", "", map[string]string{}},
		{"products/{category:alpha}/{id:int?}", "products/books/7", map[string]string{"category": "books", "id": "7"}},
		{"products/{category:alpha}/{id:int?}", "products/books", map[string]string{"category": "books"}},
		{"products/{category:alpha}/{id:int?}", "products/b00ks/7", nil},
		{"products/{category:alpha}/{id:int?}", "products/books/x", nil},
		{"products/{category:alpha}/{id:int?}", "products", nil},
		{"files/{*path}", "files/a/b/c.txt", map[string]string{"path": "a/b/c.txt"}},
		{"files/{*path}", "files", map[string]string{"path": ""}},
		{"files/{**path}", "files/a/b", map[string]string{"path": "a/b"}},
		{"{*all}", "x/y", map[string]string{"all": "x/y"}},
		{"items/{id:guid}", "items/0f8fad5b-d9cb-469f-a165-70867728950e", map[string]string{"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{"items/{id:guid}", "items/nope", nil},
		{"n/{v:long}/{b:bool}/{d:double}", "n/9000000000/TRUE/1.5", map[string]string{"v": "9000000000", "b": "TRUE", "d": "1.5"}},
		{"n/{v:int}", "n/9000000000", nil},
		{"n/{v:min(10)}", "n/9", nil},
		{"n/{v:range(1,5)}", "n/3", map[string]string{"v": "3"}},
		{"n/{v:length(2,3)}", "n/abcd", nil},
		{"n/{v:regex(^[a-z]+$)}", "n/abc", map[string]string{"v": "abc"}},
		{"n/{v:regex(^[a-z]+$)}", "n/ab1", nil},
		{"n/{v:maxlength(2):alpha}", "n/ab", map[string]string{"v": "ab"}},
		{"n/{v=3}", "n", map[string]string{}},
		{"a/{x}.{y}", "a/b.c", nil}, // complex segments are left to the host
	} {
		rt, err := parseRoute(tc.route)
		if err != nil {
			t.Errorf("parseRoute(%q): %v", tc.route, err)
			continue
		}
		got, ok := rt.match(tc.path)
		if tc.want == nil {
			if ok {
				t.Errorf("%q matched %q: %v", tc.route, tc.path, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q on %q = %v %v, want %v", tc.route, tc.path, got, ok, tc.want)
		}
	}
}

func TestRouteErrors(t *testing.T) {
	for _, r := range []string{"a//b", "a/{b", "a/{}", "{*x}/y", "{a}/{A}", "{a-b}"} {
		if _, err := parseRoute(r); err == nil {
			t.Errorf("parseRoute(%q) succeeded", r)
		}
	}
}

func TestStripPrefix(t *testing.T) {
	for _, tc := range []struct {
		path, prefix, rest string
		ok                 bool
	}{
		{"/api/hello", "api", "hello", true},
		{"/API/hello", "api", "hello", true},
		{"/api", "api", "", true},
		{"/apix/hello", "api", "", false},
		{"/hello", "", "hello", true},
		{"/v1/fn/x", "v1/fn", "x", true},
	} {
		rest, ok := stripPrefix(tc.path, tc.prefix)
		if rest != tc.rest || ok != tc.ok {
			t.Errorf("stripPrefix(%q, %q) = %q %v", tc.path, tc.prefix, rest, ok)
		}
	}
}

func TestRoutePrefixFromHostJSON(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FUNCTIONS_APP_ROOT_PATH", dir)
	if got := routePrefix(); got != "api" {
		t.Errorf("no host.json: %q", got)
	}
	writeFile(t, dir+"/host.json", `{"version":"2.0","extensions":{"http":{"routePrefix":""}}}`)
	if got := routePrefix(); got != "" {
		t.Errorf("empty routePrefix: %q", got)
	}
	writeFile(t, dir+"/host.json", `{"version":"2.0","extensions":{"http":{"routePrefix":"/v1/"}}}`)
	if got := routePrefix(); got != "v1" {
		t.Errorf("routePrefix: %q", got)
	}
	t.Setenv("AzureFunctionsJobHost__extensions__http__routePrefix", "env")
	if got := routePrefix(); got != "env" {
		t.Errorf("env override: %q", got)
	}
}
