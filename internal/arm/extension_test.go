package arm_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
)

// noteType is an extension resource type, Test.Notes/notes, which can be
// put on any resource, as Microsoft.EventGrid/eventSubscriptions can.
type noteType struct{}

func (noteType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: "Test.Notes", Type: "notes", APIVersions: []string{"2024-01-01"}, Extension: true}
}
func (noteType) Prepare(context.Context, *arm.WriteRequest) error { return nil }

func TestExtensionResources(t *testing.T) {
	ctx := context.Background()
	srv, m := newTestManager(t, noteType{})

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := m.Store().WatchType(wctx, "Test.Notes/notes")
	if err != nil {
		t.Fatal(err)
	}
	if c := <-changes; c != nil {
		t.Fatalf("first change = %+v, want the end of initial values", c)
	}

	rg := "/subscriptions/" + testSub + "/resourceGroups/rg1"
	acct := rg + "/providers/Microsoft.Storage/storageAccounts/acct1"
	note := acct + "/providers/Test.Notes/notes/n1"
	const nAPI = "?api-version=2024-01-01"
	for _, c := range []call{
		{method: "PUT", path: rg + "?" + rgAPI, body: `{"location":"eastus"}`},
		{method: "PUT", path: acct + "?" + stAPI, body: `{"location":"eastus","sku":{"name":"Standard_LRS"}}`},
		{method: "PUT", path: strings.ToLower(note) + nAPI, body: `{"properties":{"text":"hello"}}`},
		{method: "PUT", path: rg + "/providers/Test.Notes/notes/g1" + nAPI, body: `{"properties":{}}`},
	} {
		if status, _, body := c.do(t, srv.URL); status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, status, body)
		}
	}
	status, _, body := call{method: "GET", path: note + nAPI}.do(t, srv.URL)
	var r arm.Resource
	if err := json.Unmarshal([]byte(body), &r); status != 200 || err != nil {
		t.Fatalf("get: %d %s", status, body)
	}
	// The scope keeps its casing, the extension part takes the type's.
	if r.ID != note || r.Type != "Test.Notes/notes" || r.Name != "n1" {
		t.Fatalf("resource = %+v", r)
	}
	status, _, body = call{method: "GET", path: acct + "/providers/Test.Notes/notes" + nAPI}.do(t, srv.URL)
	if status != 200 || !strings.Contains(body, `"n1"`) || strings.Contains(body, `"g1"`) {
		t.Fatalf("list on the scope: %d %s", status, body)
	}
	// The type's list in the group or the subscription has those on every scope.
	for _, path := range []string{rg + "/providers/Test.Notes/notes", "/subscriptions/" + testSub + "/providers/Test.Notes/notes"} {
		status, _, body = call{method: "GET", path: path + nAPI}.do(t, srv.URL)
		if status != 200 || !strings.Contains(body, `"n1"`) || !strings.Contains(body, `"g1"`) {
			t.Fatalf("list %s: %d %s", path, status, body)
		}
	}
	// A group's own resource list does not show extension resources.
	status, _, body = call{method: "GET", path: rg + "/resources?" + rgAPI}.do(t, srv.URL)
	if status != 200 || strings.Contains(body, "Test.Notes") {
		t.Fatalf("group resources: %d %s", status, body)
	}
	// An extension on a missing scope is refused.
	status, code, _ := call{method: "PUT", path: rg + "/providers/Microsoft.Storage/storageAccounts/nope1/providers/Test.Notes/notes/n2" + nAPI, body: `{}`}.do(t, srv.URL)
	if status != 404 || code != "ParentResourceNotFound" {
		t.Fatalf("missing scope: %d %s", status, code)
	}
	for _, want := range []string{"n1", "g1"} {
		if c := next(t, changes); c.Record == nil || c.Record.Name != want {
			t.Fatalf("watch: %+v, want a write of %s", c, want)
		}
	}
	// Deleting the scope deletes its extensions.
	if status, _, body := (call{method: "DELETE", path: acct + "?" + stAPI}).do(t, srv.URL); status != 200 {
		t.Fatalf("delete scope: %d %s", status, body)
	}
	if status, _, _ := (call{method: "GET", path: note + nAPI}).do(t, srv.URL); status != 404 {
		t.Fatalf("extension after its scope's delete: %d", status)
	}
	if c := next(t, changes); c.Record != nil || !strings.HasSuffix(c.Key, ".notes.n1") {
		t.Fatalf("watch: %+v, want the delete of n1", c)
	}
}

func next(t *testing.T, ch <-chan *arm.Change) *arm.Change {
	t.Helper()
	select {
	case c := <-ch:
		if c == nil {
			t.Fatal("unexpected end-of-initial marker")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change")
	}
	return nil
}
