package docdb_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
)

// The conformance suite drives the document store with Azure's Go SDK,
// azcosmos v1.5.0, through the emulator connection string.

func TestDatabasesAndContainers(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)

	r, err := c.CreateDatabase(bg, azcosmos.DatabaseProperties{ID: "shop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.RawResponse.StatusCode != http.StatusCreated || r.DatabaseProperties.ResourceID == "" || r.ETag == "" {
		t.Fatalf("create database: %d %+v", r.RawResponse.StatusCode, r.DatabaseProperties)
	}
	_, err = c.CreateDatabase(bg, azcosmos.DatabaseProperties{ID: "shop"}, nil)
	wantStatus(t, err, http.StatusConflict)
	if _, err := c.CreateDatabase(bg, azcosmos.DatabaseProperties{ID: "other"}, nil); err != nil {
		t.Fatal(err)
	}

	var ids []string
	pager := c.NewQueryDatabasesPager("SELECT * FROM root r", nil)
	for pager.More() {
		p, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Databases {
			ids = append(ids, d.ID)
		}
	}
	if !slices.Equal(ids, []string{"other", "shop"}) {
		t.Fatalf("databases %v", ids)
	}
	pager = c.NewQueryDatabasesPager("SELECT * FROM root r WHERE r.id = @id", &azcosmos.QueryDatabasesOptions{
		QueryParameters: []azcosmos.QueryParameter{{Name: "@id", Value: "shop"}}})
	p, err := pager.NextPage(bg)
	if err != nil || len(p.Databases) != 1 || p.Databases[0].ID != "shop" {
		t.Fatalf("query databases: %v %+v", err, p.Databases)
	}

	db, _ := c.NewDatabase("shop")
	ttl := int32(3600)
	cr, err := db.CreateContainer(bg, azcosmos.ContainerProperties{ID: "orders",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/customerId"}},
		DefaultTimeToLive:      &ttl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	props := cr.ContainerProperties
	if props.PartitionKeyDefinition.Paths[0] != "/customerId" || props.PartitionKeyDefinition.Kind != azcosmos.PartitionKeyKindHash ||
		*props.DefaultTimeToLive != 3600 || props.IndexingPolicy == nil || props.ResourceID == "" {
		t.Fatalf("container %+v", props)
	}
	_, err = db.CreateContainer(bg, azcosmos.ContainerProperties{ID: "orders",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/customerId"}}}, nil)
	wantStatus(t, err, http.StatusConflict)
	_, err = db.CreateContainer(bg, azcosmos.ContainerProperties{ID: "bad",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"customerId"}}}, nil)
	wantStatus(t, err, http.StatusBadRequest)
	if _, err := db.CreateContainer(bg, azcosmos.ContainerProperties{ID: "users",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/id"}}}, nil); err != nil {
		t.Fatal(err)
	}

	orders, _ := db.NewContainer("orders")
	read, err := orders.Read(bg, nil)
	if err != nil || read.ContainerProperties.ID != "orders" {
		t.Fatalf("read container: %v", err)
	}
	// Replace: time to live off, partition key unchanged.
	newProps := *read.ContainerProperties
	newProps.DefaultTimeToLive = nil
	rep, err := orders.Replace(bg, newProps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ContainerProperties.DefaultTimeToLive != nil || rep.ETag == read.ETag {
		t.Fatalf("replace: ttl %v etag %s", rep.ContainerProperties.DefaultTimeToLive, rep.ETag)
	}
	changed := newProps
	changed.PartitionKeyDefinition = azcosmos.PartitionKeyDefinition{Paths: []string{"/other"}}
	_, err = orders.Replace(bg, changed, nil)
	wantStatus(t, err, http.StatusBadRequest)

	var names []string
	cp := db.NewQueryContainersPager("SELECT * FROM c", nil)
	for cp.More() {
		p, err := cp.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Containers {
			names = append(names, c.ID)
		}
	}
	if !slices.Equal(names, []string{"orders", "users"}) {
		t.Fatalf("containers %v", names)
	}

	if _, err := orders.CreateItem(bg, azcosmos.NewPartitionKeyString("c1"), doc("id", "o1", "customerId", "c1"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.Delete(bg, nil); err != nil {
		t.Fatal(err)
	}
	_, err = orders.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
	_, err = orders.ReadItem(bg, azcosmos.NewPartitionKeyString("c1"), "o1", nil)
	wantStatus(t, err, http.StatusNotFound)

	// Deleting a database deletes its containers.
	if _, err := db.Delete(bg, nil); err != nil {
		t.Fatal(err)
	}
	users, _ := db.NewContainer("users")
	_, err = users.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
	_, err = db.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
	_, err = db.Delete(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
}

func TestItems(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "items", nil)
	pk := azcosmos.NewPartitionKeyString("p1")
	content := &azcosmos.ItemOptions{EnableContentResponseOnWrite: true}

	r, err := cc.CreateItem(bg, pk, doc("id", "a", "pk", "p1", "n", 1, "tags", []string{"x"}), content)
	if err != nil {
		t.Fatal(err)
	}
	if r.RawResponse.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", r.RawResponse.StatusCode)
	}
	created := decode(t, r.Value)
	for _, k := range []string{"_rid", "_self", "_etag", "_ts", "_attachments"} {
		if created[k] == nil {
			t.Errorf("created item has no %s: %v", k, created)
		}
	}
	if string(r.ETag) != created["_etag"] {
		t.Errorf("etag header %s, body %v", r.ETag, created["_etag"])
	}
	// Without EnableContentResponseOnWrite the SDK asks for no body.
	r2, err := cc.CreateItem(bg, pk, doc("id", "b", "pk", "p1"), nil)
	if err != nil || len(r2.Value) != 0 || r2.ETag == "" {
		t.Fatalf("minimal create: %v %q %q", err, r2.Value, r2.ETag)
	}
	_, err = cc.CreateItem(bg, pk, doc("id", "a", "pk", "p1"), nil)
	wantStatus(t, err, http.StatusConflict)
	// The same id in another partition is another item.
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("p2"), doc("id", "a", "pk", "p2"), nil); err != nil {
		t.Fatal(err)
	}

	got, err := cc.ReadItem(bg, pk, "a", nil)
	if err != nil || decode(t, got.Value)["n"] != float64(1) || got.ETag != r.ETag {
		t.Fatalf("read: %v %s", err, got.Value)
	}
	_, err = cc.ReadItem(bg, pk, "nope", nil)
	wantStatus(t, err, http.StatusNotFound)

	// If-None-Match with the current etag: 304.
	resp, _ := l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/items/docs/a", nil,
		map[string]string{"x-ms-documentdb-partitionkey": `["p1"]`, "If-None-Match": string(r.ETag)})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("if-none-match: %d", resp.StatusCode)
	}

	// Replace, and a replace with the old etag fails.
	rep, err := cc.ReplaceItem(bg, pk, "a", doc("id", "a", "pk", "p1", "n", 2, "tags", []string{"x"}), &azcosmos.ItemOptions{IfMatchEtag: &r.ETag})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ETag == r.ETag {
		t.Fatal("replace kept the etag")
	}
	_, err = cc.ReplaceItem(bg, pk, "a", doc("id", "a", "pk", "p1", "n", 3), &azcosmos.ItemOptions{IfMatchEtag: &r.ETag})
	wantStatus(t, err, http.StatusPreconditionFailed)
	_, err = cc.ReplaceItem(bg, pk, "missing", doc("id", "missing", "pk", "p1"), nil)
	wantStatus(t, err, http.StatusNotFound)
	got, _ = cc.ReadItem(bg, pk, "a", nil)
	if n := decode(t, got.Value)["n"]; n != float64(2) {
		t.Fatalf("after replace n = %v", n)
	}
	if decode(t, got.Value)["_rid"] != created["_rid"] {
		t.Fatalf("replace changed _rid")
	}

	// Upsert creates (201), then replaces (200).
	up, err := cc.UpsertItem(bg, pk, doc("id", "u", "pk", "p1", "v", 1), nil)
	if err != nil || up.RawResponse.StatusCode != http.StatusCreated {
		t.Fatalf("upsert new: %v", err)
	}
	up2, err := cc.UpsertItem(bg, pk, doc("id", "u", "pk", "p1", "v", 2), nil)
	if err != nil || up2.RawResponse.StatusCode != http.StatusOK {
		t.Fatalf("upsert existing: %v", err)
	}
	_, err = cc.UpsertItem(bg, pk, doc("id", "u", "pk", "p1", "v", 3), &azcosmos.ItemOptions{IfMatchEtag: &up.ETag})
	wantStatus(t, err, http.StatusPreconditionFailed)

	// Patch.
	ops := azcosmos.PatchOperations{}
	ops.AppendSet("/n", 10)
	ops.AppendAdd("/tags/-", "y")
	ops.AppendIncrement("/count", 5)
	ops.AppendAdd("/nested", map[string]any{"a": 1})
	pr, err := cc.PatchItem(bg, pk, "a", ops, content)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, pr.Value)
	if m["n"] != float64(10) || fmt.Sprint(m["tags"]) != "[x y]" || m["count"] != float64(5) || m["nested"] == nil {
		t.Fatalf("patched %v", m)
	}
	ops = azcosmos.PatchOperations{}
	ops.AppendIncrement("/count", 2)
	ops.AppendRemove("/nested/a")
	ops.AppendReplace("/tags/0", "z")
	pr, err = cc.PatchItem(bg, pk, "a", ops, content)
	if err != nil {
		t.Fatal(err)
	}
	if m := decode(t, pr.Value); m["count"] != float64(7) || fmt.Sprint(m["tags"]) != "[z y]" || fmt.Sprint(m["nested"]) != "map[]" {
		t.Fatalf("patched %v", m)
	}
	bad := azcosmos.PatchOperations{}
	bad.AppendReplace("/absent", 1)
	_, err = cc.PatchItem(bg, pk, "a", bad, nil)
	wantStatus(t, err, http.StatusBadRequest)
	bad = azcosmos.PatchOperations{}
	bad.AppendSet("/pk", "p9")
	_, err = cc.PatchItem(bg, pk, "a", bad, nil)
	wantStatus(t, err, http.StatusBadRequest)
	// A condition that holds applies; one that does not is 412.
	cond := azcosmos.PatchOperations{}
	cond.SetCondition("from c where c.count = 7")
	cond.AppendSet("/flag", true)
	if _, err := cc.PatchItem(bg, pk, "a", cond, nil); err != nil {
		t.Fatal(err)
	}
	cond = azcosmos.PatchOperations{}
	cond.SetCondition("from c where c.count > 100")
	cond.AppendSet("/flag", false)
	_, err = cc.PatchItem(bg, pk, "a", cond, nil)
	wantStatus(t, err, http.StatusPreconditionFailed)
	stale := azcosmos.PatchOperations{}
	stale.AppendSet("/x", 1)
	_, err = cc.PatchItem(bg, pk, "a", stale, &azcosmos.ItemOptions{IfMatchEtag: &r.ETag})
	wantStatus(t, err, http.StatusPreconditionFailed)

	// Delete: 204, then 404; a stale etag is 412.
	_, err = cc.DeleteItem(bg, pk, "u", &azcosmos.ItemOptions{IfMatchEtag: &up.ETag})
	wantStatus(t, err, http.StatusPreconditionFailed)
	d, err := cc.DeleteItem(bg, pk, "u", nil)
	if err != nil || d.RawResponse.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %v", err)
	}
	_, err = cc.DeleteItem(bg, pk, "u", nil)
	wantStatus(t, err, http.StatusNotFound)
	_, err = cc.ReadItem(bg, pk, "u", nil)
	wantStatus(t, err, http.StatusNotFound)
	// An id can be created again after a delete.
	if _, err := cc.CreateItem(bg, pk, doc("id", "u", "pk", "p1"), nil); err != nil {
		t.Fatal(err)
	}

	// Read many.
	rm, err := cc.ReadManyItems(bg, []azcosmos.ItemIdentity{{ID: "a", PartitionKey: pk}, {ID: "a", PartitionKey: azcosmos.NewPartitionKeyString("p2")},
		{ID: "missing", PartitionKey: pk}}, nil)
	if err != nil || len(rm.Items) != 2 {
		t.Fatalf("read many: %v %d", err, len(rm.Items))
	}
}

func TestPartitionKeys(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "nested", &azcosmos.ContainerProperties{
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/address/zip"}}})

	// The key is read from a nested path.
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("75001"), doc("id", "1", "address", map[string]any{"zip": "75001"}), nil); err != nil {
		t.Fatal(err)
	}
	// A header that does not match the document's value is 400.
	_, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("99999"), doc("id", "2", "address", map[string]any{"zip": "75001"}), nil)
	wantStatus(t, err, http.StatusBadRequest)
	if !strings.Contains(err.Error(), "PartitionKey extracted from document doesn't match the one specified in the header") {
		t.Fatalf("mismatch message: %v", err)
	}
	// Numbers, booleans and null are keys too.
	for _, tc := range []struct {
		pk  azcosmos.PartitionKey
		val any
	}{{azcosmos.NewPartitionKeyNumber(42), 42}, {azcosmos.NewPartitionKeyBool(true), true}, {azcosmos.NullPartitionKey, nil}} {
		id := fmt.Sprint("v", tc.val)
		if _, err := cc.CreateItem(bg, tc.pk, doc("id", id, "address", map[string]any{"zip": tc.val}), nil); err != nil {
			t.Fatalf("key %v: %v", tc.val, err)
		}
		if _, err := cc.ReadItem(bg, tc.pk, id, nil); err != nil {
			t.Fatalf("read key %v: %v", tc.val, err)
		}
	}
	// A document without the key is in the undefined partition, [{}].
	resp, body := l.raw(t, account.EmulatorKey, "", "POST", "/dbs/db/colls/nested/docs", doc("id", "nokey"),
		map[string]string{"x-ms-documentdb-partitionkey": `[{}]`})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("undefined key: %d %s", resp.StatusCode, body)
	}
	resp, body = l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/nested/docs/nokey", nil,
		map[string]string{"x-ms-documentdb-partitionkey": `[{}]`})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read undefined key: %d %s", resp.StatusCode, body)
	}
	// ... which is not the null partition.
	_, err = cc.ReadItem(bg, azcosmos.NullPartitionKey, "nokey", nil)
	wantStatus(t, err, http.StatusNotFound)
	// A write without the header is 400.
	resp, body = l.raw(t, account.EmulatorKey, "", "POST", "/dbs/db/colls/nested/docs", doc("id", "x", "address", map[string]any{"zip": "1"}), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "PartitionKey value must be supplied") {
		t.Fatalf("no header: %d %s", resp.StatusCode, body)
	}
	_, err = cc.CreateItem(bg, azcosmos.NewPartitionKey(), doc("id", "y", "address", map[string]any{"zip": "1"}), nil)
	wantStatus(t, err, http.StatusBadRequest)

	// Hierarchical keys.
	h := l.container(t, c, "db", "hier", &azcosmos.ContainerProperties{PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{
		Paths: []string{"/tenant", "/user"}, Kind: azcosmos.PartitionKeyKindMultiHash, Version: 2}})
	hk := azcosmos.NewPartitionKeyString("t1").AppendString("u1")
	if _, err := h.CreateItem(bg, hk, doc("id", "1", "tenant", "t1", "user", "u1"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateItem(bg, azcosmos.NewPartitionKeyString("t1").AppendString("u2"), doc("id", "2", "tenant", "t1", "user", "u2"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateItem(bg, azcosmos.NewPartitionKeyString("t2").AppendString("u1"), doc("id", "3", "tenant", "t2", "user", "u1"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ReadItem(bg, hk, "1", nil); err != nil {
		t.Fatal(err)
	}
	_, err = h.ReadItem(bg, azcosmos.NewPartitionKeyString("t1"), "1", nil)
	wantStatus(t, err, http.StatusBadRequest)
	// A query on a prefix of the key reads the partitions below it.
	ids := queryIDs(t, h, "SELECT * FROM c", azcosmos.NewPartitionKeyString("t1"), nil)
	if !slices.Equal(ids, []string{"1", "2"}) {
		t.Fatalf("prefix query %v", ids)
	}
}

// queryIDs runs a query through the SDK's pager and returns the ids (or
// the values, for SELECT VALUE) of every page.
func queryIDs(t *testing.T, cc *azcosmos.ContainerClient, q string, pk azcosmos.PartitionKey, o *azcosmos.QueryOptions) []string {
	t.Helper()
	var out []string
	pager := cc.NewQueryItemsPager(q, pk, o)
	for pager.More() {
		p, err := pager.NextPage(bg)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, it := range p.Items {
			var m map[string]any
			if json.Unmarshal(it, &m) == nil {
				out = append(out, fmt.Sprint(m["id"]))
			} else {
				out = append(out, string(it))
			}
		}
	}
	return out
}

// seed writes n orders across three customers.
func seed(t *testing.T, cc *azcosmos.ContainerClient, n int) {
	t.Helper()
	for i := range n {
		cust := fmt.Sprintf("c%d", i%3)
		if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString(cust), doc("id", fmt.Sprintf("o%02d", i), "pk", cust, "total", i*10,
			"status", []string{"open", "closed"}[i%2]), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueries(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "orders", nil)
	seed(t, cc, 25)

	all := azcosmos.NewPartitionKey()
	ids := queryIDs(t, cc, "SELECT * FROM c WHERE c.total >= 100 AND c.status = 'open' ORDER BY c.total DESC", all, nil)
	if !slices.Equal(ids, []string{"o24", "o22", "o20", "o18", "o16", "o14", "o12", "o10"}) {
		t.Fatalf("filter and order: %v", ids)
	}
	ids = queryIDs(t, cc, "SELECT TOP 3 c.id FROM c ORDER BY c.total", all, nil)
	if !slices.Equal(ids, []string{"o00", "o01", "o02"}) {
		t.Fatalf("top: %v", ids)
	}
	ids = queryIDs(t, cc, "SELECT * FROM c WHERE c.pk = @cust", all, &azcosmos.QueryOptions{
		QueryParameters: []azcosmos.QueryParameter{{Name: "@cust", Value: "c1"}}})
	if len(ids) != 8 {
		t.Fatalf("parameter: %v", ids)
	}
	// Scoped to one partition by the partition key.
	ids = queryIDs(t, cc, "SELECT * FROM c", azcosmos.NewPartitionKeyString("c2"), nil)
	if len(ids) != 8 || ids[0] != "o02" {
		t.Fatalf("single partition: %v", ids)
	}
	vals := queryIDs(t, cc, "SELECT VALUE COUNT(1) FROM c", all, nil)
	if !slices.Equal(vals, []string{"25"}) {
		t.Fatalf("count: %v", vals)
	}
	vals = queryIDs(t, cc, "SELECT VALUE SUM(c.total) FROM c WHERE c.pk = 'c0'", all, nil)
	if !slices.Equal(vals, []string{"1080"}) {
		t.Fatalf("sum: %v", vals)
	}
	vals = queryIDs(t, cc, "SELECT VALUE c.id FROM c WHERE c.total BETWEEN 30 AND 50 ORDER BY c.id OFFSET 1 LIMIT 5", all, nil)
	if !slices.Equal(vals, []string{`"o04"`, `"o05"`}) {
		t.Fatalf("offset limit: %v", vals)
	}

	// Projections are new objects, never a stored document.
	for _, q := range []string{"SELECT c.id, c.status FROM c WHERE c.total > 50", "SELECT c.id, c.status FROM c ORDER BY c.total"} {
		pager := cc.NewQueryItemsPager(q, all, nil)
		for pager.More() {
			p, err := pager.NextPage(bg)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				if m := decode(t, it); len(m) != 2 || m["id"] == nil || m["status"] == nil {
					t.Fatalf("%s: %s", q, it)
				}
			}
		}
	}
	// A whole document comes back as stored: its properties in order.
	if p, err := cc.NewQueryItemsPager("SELECT * FROM c WHERE c.id = 'o01'", all, nil).NextPage(bg); err != nil ||
		!strings.HasPrefix(string(p.Items[0]), `{"id":"o01"`) || !strings.Contains(string(p.Items[0]), `"_ts":`) {
		t.Fatalf("whole document: %v %s", err, p.Items)
	}

	// Paging: 25 results, 4 at a time, each page with a continuation.
	pager := cc.NewQueryItemsPager("SELECT * FROM c ORDER BY c.id", all, &azcosmos.QueryOptions{PageSizeHint: 4})
	pages, n := 0, 0
	var seen []string
	for pager.More() {
		p, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n += len(p.Items)
		if len(p.Items) > 4 {
			t.Fatalf("page of %d", len(p.Items))
		}
		for _, it := range p.Items {
			seen = append(seen, decode(t, it)["id"].(string))
		}
	}
	if pages != 7 || n != 25 || !slices.IsSorted(seen) {
		t.Fatalf("paging: %d pages, %d items, %v", pages, n, seen)
	}
	// A continuation taken from one page resumes there.
	first, err := cc.NewQueryItemsPager("SELECT * FROM c ORDER BY c.id", all, &azcosmos.QueryOptions{PageSizeHint: 10}).NextPage(bg)
	if err != nil || first.ContinuationToken == nil {
		t.Fatalf("first page: %v", err)
	}
	rest, err := cc.NewQueryItemsPager("SELECT * FROM c ORDER BY c.id", all, &azcosmos.QueryOptions{PageSizeHint: 10,
		ContinuationToken: first.ContinuationToken}).NextPage(bg)
	if err != nil || decode(t, rest.Items[0])["id"] != "o10" {
		t.Fatalf("resumed page: %v", err)
	}
	// A token does not carry over to another query.
	_, err = cc.NewQueryItemsPager("SELECT * FROM c", all, &azcosmos.QueryOptions{ContinuationToken: first.ContinuationToken}).NextPage(bg)
	wantStatus(t, err, http.StatusBadRequest)

	// Cross-partition queries can be refused.
	_, err = cc.NewQueryItemsPager("SELECT * FROM c", all, &azcosmos.QueryOptions{EnableCrossPartitionQuery: to.Ptr(false)}).NextPage(bg)
	wantStatus(t, err, http.StatusBadRequest)
	// ... unless the filter pins the partition.
	if _, err := cc.NewQueryItemsPager("SELECT * FROM c WHERE c.pk = 'c1'", all, &azcosmos.QueryOptions{EnableCrossPartitionQuery: to.Ptr(false)}).NextPage(bg); err != nil {
		t.Fatal(err)
	}

	// SDKs that plan queries get a plan that leaves them nothing to do.
	resp, body := l.raw(t, account.EmulatorKey, "", "POST", "/dbs/db/colls/orders/docs", []byte(`{"query":"SELECT * FROM c ORDER BY c.id"}`),
		map[string]string{"x-ms-documentdb-isquery": "True", "x-ms-cosmos-is-query-plan-request": "True", "Content-Type": "application/query+json"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"queryRanges":[{"isMaxInclusive":false,"isMinInclusive":true,"max":"FF","min":""}]`) {
		t.Fatalf("query plan: %d %s", resp.StatusCode, body)
	}

	// A malformed query is 400 with its position.
	_, err = cc.NewQueryItemsPager("SELECT * FROM c WHERE c.total >", all, nil).NextPage(bg)
	wantStatus(t, err, http.StatusBadRequest)
	if msg := err.Error(); !strings.Contains(msg, `location`) || !strings.Contains(msg, `start`) || !strings.Contains(msg, "SC1001") ||
		!strings.Contains(msg, "column 32") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestReadFeed(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "orders", nil)
	seed(t, cc, 11)
	if _, err := cc.DeleteItem(bg, azcosmos.NewPartitionKeyString("c0"), "o03", nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	token := ""
	pages := 0
	for {
		hdr := map[string]string{"x-ms-max-item-count": "3"}
		if token != "" {
			hdr["x-ms-continuation"] = token
		}
		resp, body := l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/orders/docs", nil, hdr)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("read feed: %d %s", resp.StatusCode, body)
		}
		var page struct {
			Documents []map[string]any
			Count     int `json:"_count"`
		}
		_ = json.Unmarshal(body, &page)
		if page.Count != len(page.Documents) || resp.Header.Get("x-ms-item-count") != fmt.Sprint(page.Count) {
			t.Fatalf("count %d, header %s", page.Count, resp.Header.Get("x-ms-item-count"))
		}
		for _, d := range page.Documents {
			ids = append(ids, d["id"].(string))
		}
		pages++
		token = resp.Header.Get("x-ms-continuation")
		if token == "" {
			break
		}
	}
	if len(ids) != 10 || slices.Contains(ids, "o03") || pages != 4 {
		t.Fatalf("read feed: %d pages %v", pages, ids)
	}
	// One partition's.
	resp, body := l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/orders/docs", nil, map[string]string{"x-ms-documentdb-partitionkey": `["c1"]`})
	var page struct{ Documents []map[string]any }
	_ = json.Unmarshal(body, &page)
	if resp.StatusCode != http.StatusOK || len(page.Documents) != 4 {
		t.Fatalf("partition read feed: %d %d", resp.StatusCode, len(page.Documents))
	}
	resp, _ = l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/orders/docs", nil, map[string]string{"x-ms-continuation": "garbage"})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad continuation: %d", resp.StatusCode)
	}
}

func TestTransactionalBatch(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "orders", nil)
	pk := azcosmos.NewPartitionKeyString("c1")
	if _, err := cc.CreateItem(bg, pk, doc("id", "existing", "pk", "c1", "n", 1), nil); err != nil {
		t.Fatal(err)
	}

	b := cc.NewTransactionalBatch(pk)
	b.CreateItem(doc("id", "new1", "pk", "c1"), nil)
	b.UpsertItem(doc("id", "new2", "pk", "c1"), nil)
	b.ReadItem("existing", nil)
	ops := azcosmos.PatchOperations{}
	ops.AppendIncrement("/n", 1)
	b.PatchItem("existing", ops, nil)
	b.ReplaceItem("new1", doc("id", "new1", "pk", "c1", "replaced", true), nil)
	res, err := cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success || len(res.OperationResults) != 5 {
		t.Fatalf("batch: success %v, %d results", res.Success, len(res.OperationResults))
	}
	var codes []int32
	for _, r := range res.OperationResults {
		codes = append(codes, r.StatusCode)
	}
	if !slices.Equal(codes, []int32{201, 201, 200, 200, 200}) {
		t.Fatalf("codes %v", codes)
	}
	if decode(t, res.OperationResults[2].ResourceBody)["id"] != "existing" {
		t.Fatalf("read in batch: %s", res.OperationResults[2].ResourceBody)
	}
	got, _ := cc.ReadItem(bg, pk, "new1", nil)
	if decode(t, got.Value)["replaced"] != true {
		t.Fatalf("new1 = %s", got.Value)
	}
	got, _ = cc.ReadItem(bg, pk, "existing", nil)
	if decode(t, got.Value)["n"] != float64(2) {
		t.Fatalf("existing = %s", got.Value)
	}

	// A failing operation rolls the batch back: nothing is written.
	b = cc.NewTransactionalBatch(pk)
	b.CreateItem(doc("id", "rolled-back", "pk", "c1"), nil)
	b.DeleteItem("new2", nil)
	b.CreateItem(doc("id", "existing", "pk", "c1"), nil) // 409
	b.UpsertItem(doc("id", "also-rolled-back", "pk", "c1"), nil)
	res, err = cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	codes = codes[:0]
	for _, r := range res.OperationResults {
		codes = append(codes, r.StatusCode)
	}
	if res.Success || res.RawResponse.StatusCode != http.StatusMultiStatus || !slices.Equal(codes, []int32{424, 424, 409, 424}) {
		t.Fatalf("failed batch: success %v status %d codes %v", res.Success, res.RawResponse.StatusCode, codes)
	}
	for _, id := range []string{"rolled-back", "also-rolled-back"} {
		_, err := cc.ReadItem(bg, pk, id, nil)
		wantStatus(t, err, http.StatusNotFound)
	}
	if _, err := cc.ReadItem(bg, pk, "new2", nil); err != nil {
		t.Fatalf("new2 was deleted by a failed batch: %v", err)
	}

	// An etag condition in a batch.
	cur, _ := cc.ReadItem(bg, pk, "existing", nil)
	stale := azcore.ETag(`"stale"`)
	b = cc.NewTransactionalBatch(pk)
	b.ReplaceItem("existing", doc("id", "existing", "pk", "c1", "n", 100), &azcosmos.TransactionalBatchItemOptions{IfMatchETag: &stale})
	res, err = cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil || res.Success || res.OperationResults[0].StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale etag in batch: %v %+v", err, res.OperationResults)
	}
	b = cc.NewTransactionalBatch(pk)
	b.ReplaceItem("existing", doc("id", "existing", "pk", "c1", "n", 100), &azcosmos.TransactionalBatchItemOptions{IfMatchETag: &cur.ETag})
	b.DeleteItem("new1", nil)
	res, err = cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil || !res.Success {
		t.Fatalf("etag batch: %v %+v", err, res.OperationResults)
	}
	_, err = cc.ReadItem(bg, pk, "new1", nil)
	wantStatus(t, err, http.StatusNotFound)
	// A deleted id can be created again in a batch.
	b = cc.NewTransactionalBatch(pk)
	b.CreateItem(doc("id", "new1", "pk", "c1", "again", true), nil)
	res, err = cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil || !res.Success {
		t.Fatalf("re-create in a batch: %v %+v", err, res.OperationResults)
	}
	// Operations outside the batch's partition fail it.
	b = cc.NewTransactionalBatch(pk)
	b.CreateItem(doc("id", "elsewhere", "pk", "c2"), nil)
	res, err = cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil || res.Success || res.OperationResults[0].StatusCode != http.StatusBadRequest {
		t.Fatalf("cross-partition batch: %v %+v", err, res.OperationResults)
	}
}

func TestTimeToLive(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	ttl := int32(60)
	cc := l.container(t, c, "db", "sessions", &azcosmos.ContainerProperties{
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/pk"}}, DefaultTimeToLive: &ttl})
	pk := azcosmos.NewPartitionKeyString("p")
	for _, d := range [][]byte{
		doc("id", "default", "pk", "p"),
		doc("id", "forever", "pk", "p", "ttl", -1),
		doc("id", "long", "pk", "p", "ttl", 300),
		doc("id", "short", "pk", "p", "ttl", 10),
	} {
		if _, err := cc.CreateItem(bg, pk, d, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := cc.CreateItem(bg, pk, doc("id", "zero", "pk", "p", "ttl", 0), nil)
	wantStatus(t, err, http.StatusBadRequest)

	l.advance(20 * time.Second)
	_, err = cc.ReadItem(bg, pk, "short", nil)
	wantStatus(t, err, http.StatusNotFound)
	l.advance(50 * time.Second) // 70 s after the writes
	_, err = cc.ReadItem(bg, pk, "default", nil)
	wantStatus(t, err, http.StatusNotFound)
	for _, id := range []string{"forever", "long"} {
		if _, err := cc.ReadItem(bg, pk, id, nil); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	ids := queryIDs(t, cc, "SELECT * FROM c", azcosmos.NewPartitionKey(), nil)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"forever", "long"}) {
		t.Fatalf("query after expiry: %v", ids)
	}
	// An expired id can be created again.
	if _, err := cc.CreateItem(bg, pk, doc("id", "short", "pk", "p", "ttl", 600), nil); err != nil {
		t.Fatal(err)
	}
	// The sweeper deletes what expired; the change feed never shows it.
	n, err := l.svc.SweepNow(bg)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	resp, body := l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/sessions/docs", nil, map[string]string{"A-IM": "Incremental feed"})
	var feed struct{ Documents []map[string]any }
	_ = json.Unmarshal(body, &feed)
	var got []string
	for _, d := range feed.Documents {
		got = append(got, d["id"].(string))
	}
	if resp.StatusCode != http.StatusOK || !slices.Equal(got, []string{"forever", "long", "short"}) {
		t.Fatalf("change feed after expiry: %d %v", resp.StatusCode, got)
	}
	// Turning time to live off keeps everything.
	cr, _ := cc.Read(bg, nil)
	p := *cr.ContainerProperties
	p.DefaultTimeToLive = nil
	if _, err := cc.Replace(bg, p, nil); err != nil {
		t.Fatal(err)
	}
	l.advance(10 * time.Minute)
	if _, err := cc.ReadItem(bg, pk, "long", nil); err != nil {
		t.Fatalf("ttl off: %v", err)
	}
}

func TestChangeFeed(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "orders", nil)
	seed(t, cc, 5)
	// o01 is updated last and o02 deleted: the feed shows o00, o03, o04, o01.
	if _, err := cc.UpsertItem(bg, azcosmos.NewPartitionKeyString("c1"), doc("id", "o01", "pk", "c1", "total", 999), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.DeleteItem(bg, azcosmos.NewPartitionKeyString("c2"), "o02", nil); err != nil {
		t.Fatal(err)
	}
	get := func(hdr map[string]string) (int, []string, string) {
		t.Helper()
		h := map[string]string{"A-IM": "Incremental feed", "x-ms-documentdb-partitionkeyrangeid": "0"}
		for k, v := range hdr {
			h[k] = v
		}
		resp, body := l.raw(t, account.EmulatorKey, "", "GET", "/dbs/db/colls/orders/docs", nil, h)
		var feed struct{ Documents []map[string]any }
		_ = json.Unmarshal(body, &feed)
		var ids []string
		for _, d := range feed.Documents {
			ids = append(ids, d["id"].(string))
			if d["_lsn"] == nil {
				t.Errorf("change feed document without _lsn: %v", d)
			}
		}
		return resp.StatusCode, ids, resp.Header.Get("etag")
	}
	st, ids, etag := get(nil)
	if st != http.StatusOK || !slices.Equal(ids, []string{"o00", "o03", "o04", "o01"}) {
		t.Fatalf("from the beginning: %d %v", st, ids)
	}
	st, _, etag2 := get(map[string]string{"If-None-Match": etag})
	if st != http.StatusNotModified || etag2 != etag {
		t.Fatalf("nothing new: %d %s %s", st, etag2, etag)
	}
	// Pages of two, from the beginning.
	st, ids, e1 := get(map[string]string{"x-ms-max-item-count": "2"})
	st2, ids2, _ := get(map[string]string{"x-ms-max-item-count": "2", "If-None-Match": e1})
	if st != 200 || st2 != 200 || !slices.Equal(append(ids, ids2...), []string{"o00", "o03", "o04", "o01"}) {
		t.Fatalf("pages: %v %v", ids, ids2)
	}
	// From now: only what comes after.
	st, _, now := get(map[string]string{"If-None-Match": "*"})
	if st != http.StatusNotModified {
		t.Fatalf("from now: %d", st)
	}
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("c0"), doc("id", "late", "pk", "c0"), nil); err != nil {
		t.Fatal(err)
	}
	st, ids, _ = get(map[string]string{"If-None-Match": now})
	if st != 200 || !slices.Equal(ids, []string{"late"}) {
		t.Fatalf("after now: %d %v", st, ids)
	}
	// One partition's changes.
	_, ids, _ = get(map[string]string{"x-ms-documentdb-partitionkey": `["c0"]`})
	if !slices.Equal(ids, []string{"o00", "o03", "late"}) {
		t.Fatalf("partition feed: %v", ids)
	}

	// The SDK's change feed.
	ranges, err := cc.ReadFeedRanges(bg, nil)
	if err != nil || len(ranges) != 1 {
		t.Fatalf("feed ranges: %v %v", err, ranges)
	}
	resp, err := cc.ReadChangeFeed(bg, &azcosmos.ChangeFeedOptions{FeedRange: &ranges[0], MaxItemCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Items) != 3 || resp.ContinuationToken == "" {
		t.Fatalf("sdk change feed: %d items, token %q", len(resp.Items), resp.ContinuationToken)
	}
	resp2, err := cc.ReadChangeFeed(bg, &azcosmos.ChangeFeedOptions{Continuation: &resp.ContinuationToken, MaxItemCount: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp2.Items) != 2 {
		t.Fatalf("sdk change feed, continued: %d items", len(resp2.Items))
	}
	resp3, err := cc.ReadChangeFeed(bg, &azcosmos.ChangeFeedOptions{Continuation: &resp2.ContinuationToken})
	if err != nil || len(resp3.Items) != 0 || resp3.RawResponse.StatusCode != http.StatusNotModified {
		t.Fatalf("sdk change feed at the end: %v %d", err, len(resp3.Items))
	}

	// From a time.
	since := time.Now().Add(-time.Hour)
	resp4, err := cc.ReadChangeFeed(bg, &azcosmos.ChangeFeedOptions{FeedRange: &ranges[0], StartFrom: &since})
	if err != nil || len(resp4.Items) != 5 {
		t.Fatalf("sdk change feed from an hour ago: %v %d", err, len(resp4.Items))
	}
	later := time.Now().Add(time.Hour)
	resp4, err = cc.ReadChangeFeed(bg, &azcosmos.ChangeFeedOptions{FeedRange: &ranges[0], StartFrom: &later})
	if err != nil || len(resp4.Items) != 0 {
		t.Fatalf("sdk change feed from an hour on: %v %d", err, len(resp4.Items))
	}

	// The Go API's change feed.
	f, err := l.svc.ChangeFeed(bg, account.EmulatorAccount, "db", "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	var apiIDs []string
	for {
		items, err := f.Next(bg, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			var m map[string]any
			_ = json.Unmarshal(it.Document, &m)
			apiIDs = append(apiIDs, m["id"].(string))
		}
	}
	if !slices.Equal(apiIDs, []string{"o00", "o03", "o04", "o01", "late"}) {
		t.Fatalf("go change feed: %v", apiIDs)
	}
}

func TestBadRequests(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "c", nil)

	// A wrong key: 401 with Cosmos DB's message.
	wrong, err := azcosmos.NewClientFromConnectionString("AccountEndpoint="+l.endpoint()+";AccountKey="+account.NewKey()+";", clientOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = wrong.CreateDatabase(bg, azcosmos.DatabaseProperties{ID: "x"}, nil)
	wantStatus(t, err, http.StatusUnauthorized)
	if !strings.Contains(err.Error(), "The input authorization token can't serve the request") {
		t.Fatalf("401 message: %v", err)
	}
	// A bad signature, a missing header, a resource token.
	for _, auth := range []string{"type%3Dmaster%26ver%3D1.0%26sig%3Dbm90IGEgc2lnbmF0dXJl", "", "type%3Dresource%26ver%3D1.0%26sig%3Dabc"} {
		req, _ := http.NewRequest("GET", l.endpoint()+"dbs", nil)
		req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := l.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code, Message string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body.Code != "Unauthorized" {
			t.Fatalf("auth %q: %d %+v", auth, resp.StatusCode, body)
		}
	}
	// A date too far from now is refused.
	req, _ := http.NewRequest("GET", l.endpoint()+"dbs", nil)
	old := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	req.Header.Set("x-ms-date", old)
	auth, _ := docdb.AuthHeader(account.EmulatorKey, "GET", "dbs", "", old)
	req.Header.Set("Authorization", auth)
	resp, err := l.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("old date: %d", resp.StatusCode)
	}

	// A document over 2 MB: 413.
	big := doc("id", "big", "pk", "p", "blob", strings.Repeat("x", 2<<20))
	_, err = cc.CreateItem(bg, azcosmos.NewPartitionKeyString("p"), big, nil)
	wantStatus(t, err, http.StatusRequestEntityTooLarge)
	// Just under is fine.
	fits := doc("id", "fits", "pk", "p", "blob", strings.Repeat("x", 2<<20-100))
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("p"), fits, nil); err != nil {
		t.Fatal(err)
	}
	// Bad ids and bodies.
	for _, d := range [][]byte{doc("pk", "p"), doc("id", "a/b", "pk", "p"), doc("id", strings.Repeat("i", 256), "pk", "p"), []byte(`[1]`), []byte(`{"id":`)} {
		_, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("p"), d, nil)
		wantStatus(t, err, http.StatusBadRequest)
	}
	// An unparseable partition key header.
	rsp, body := l.raw(t, account.EmulatorKey, "", "POST", "/dbs/db/colls/c/docs", doc("id", "z", "pk", "p"),
		map[string]string{"x-ms-documentdb-partitionkey": `p`})
	if rsp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad pk header: %d %s", rsp.StatusCode, body)
	}
	// Unknown host names no account.
	rsp, _ = l.raw(t, account.EmulatorKey, "nosuchaccount.localhost", "GET", "/dbs", nil, nil)
	if rsp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown account: %d", rsp.StatusCode)
	}
	// Operations below a missing database or container are 404.
	rsp, _ = l.raw(t, account.EmulatorKey, "", "GET", "/dbs/nodb/colls/c/docs/x", nil, map[string]string{"x-ms-documentdb-partitionkey": `["p"]`})
	if rsp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing database: %d", rsp.StatusCode)
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	l := start(t, dir)
	c := l.client(t)
	cc := l.container(t, c, "db", "kept", nil)
	seed(t, cc, 4)
	l.stop()

	l = start(t, dir)
	c = l.client(t)
	cc, _ = c.NewContainer("db", "kept")
	got, err := cc.ReadItem(bg, azcosmos.NewPartitionKeyString("c1"), "o01", nil)
	if err != nil || decode(t, got.Value)["total"] != float64(10) {
		t.Fatalf("after restart: %v", err)
	}
	if ids := queryIDs(t, cc, "SELECT * FROM c", azcosmos.NewPartitionKey(), nil); len(ids) != 4 {
		t.Fatalf("after restart: %v", ids)
	}
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("c1"), doc("id", "o01", "pk", "c1"), nil); statusOf(err) != http.StatusConflict {
		t.Fatalf("after restart, create of an existing id: %v", err)
	}
}

// account creates a resource group and a database account through the
// management API and returns its read-write and read-only keys.
func (l *lapis) account(t *testing.T, group, name string) (key, readOnly string) {
	t.Helper()
	if st, out := l.arm(t, "PUT", "/resourcegroups/"+group, map[string]any{"location": "eastus"}); st >= 300 {
		t.Fatalf("group: %d %v", st, out)
	}
	st, out := l.arm(t, "PUT", "/resourceGroups/"+group+"/providers/Microsoft.DocumentDB/databaseAccounts/"+name,
		map[string]any{"location": "westeurope", "kind": "GlobalDocumentDB", "properties": map[string]any{"databaseAccountOfferType": "Standard"}})
	if st >= 300 {
		t.Fatalf("account: %d %v", st, out)
	}
	st, keys := l.arm(t, "POST", "/resourceGroups/"+group+"/providers/Microsoft.DocumentDB/databaseAccounts/"+name+"/listKeys", nil)
	if st != http.StatusOK {
		t.Fatalf("listKeys: %d %v", st, keys)
	}
	return keys["primaryMasterKey"].(string), keys["primaryReadonlyMasterKey"].(string)
}

func TestAccounts(t *testing.T) {
	l := start(t, t.TempDir())
	key, ro := l.account(t, "rg", "shop-acct")
	ep := fmt.Sprintf("http://shop-acct.localhost:%d/", l.port)
	c, err := azcosmos.NewClientFromConnectionString("AccountEndpoint="+ep+";AccountKey="+key+";", clientOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := l.container(t, c, "db", "c", nil)
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("p"), doc("id", "1", "pk", "p"), nil); err != nil {
		t.Fatal(err)
	}
	// The management API shows what the data plane made.
	st, out := l.arm(t, "GET", "/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/shop-acct/sqlDatabases/db/containers/c", nil)
	if st != http.StatusOK || out["properties"].(map[string]any)["resource"].(map[string]any)["partitionKey"] == nil {
		t.Fatalf("mirrored container: %d %v", st, out)
	}
	etag := out["properties"].(map[string]any)["resource"].(map[string]any)["_etag"]
	if cr, err := cc.Read(bg, nil); err != nil || string(*cr.ContainerProperties.ETag) != etag {
		t.Fatalf("the mirror changed the container: %v %v", err, etag)
	}
	// The account is its own: the emulator account does not see its data.
	emu := l.client(t)
	_, err = emu.NewDatabase("db")
	if err != nil {
		t.Fatal(err)
	}
	ed, _ := emu.NewDatabase("db")
	_, err = ed.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
	// The emulator key does not open the account.
	wrong, _ := azcosmos.NewClientFromConnectionString("AccountEndpoint="+ep+";AccountKey="+account.EmulatorKey+";", clientOptions(l))
	defer wrong.Close()
	_, err = wrong.CreateDatabase(bg, azcosmos.DatabaseProperties{ID: "x"}, nil)
	wantStatus(t, err, http.StatusUnauthorized)

	// The read-only key reads and queries, and cannot write.
	roc, _ := azcosmos.NewClientFromConnectionString("AccountEndpoint="+ep+";AccountKey="+ro+";", clientOptions(l))
	defer roc.Close()
	rcc, _ := roc.NewContainer("db", "c")
	if _, err := rcc.ReadItem(bg, azcosmos.NewPartitionKeyString("p"), "1", nil); err != nil {
		t.Fatalf("read-only read: %v", err)
	}
	if ids := queryIDs(t, rcc, "SELECT * FROM c", azcosmos.NewPartitionKey(), nil); len(ids) != 1 {
		t.Fatalf("read-only query: %v", ids)
	}
	_, err = rcc.UpsertItem(bg, azcosmos.NewPartitionKeyString("p"), doc("id", "2", "pk", "p"), nil)
	wantStatus(t, err, http.StatusUnauthorized)

	// SQL databases and containers through the management API.
	base := "/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/shop-acct/sqlDatabases/"
	st, out = l.arm(t, "PUT", base+"appdb", map[string]any{"properties": map[string]any{"resource": map[string]any{"id": "appdb"}, "options": map[string]any{}}})
	if st != http.StatusOK {
		t.Fatalf("sqlDatabases put: %d %v", st, out)
	}
	res := out["properties"].(map[string]any)["resource"].(map[string]any)
	if res["id"] != "appdb" || res["_rid"] == nil || res["_etag"] == nil {
		t.Fatalf("sqlDatabase resource %v", res)
	}
	st, out = l.arm(t, "PUT", base+"appdb/containers/orders", map[string]any{"properties": map[string]any{"resource": map[string]any{
		"id": "orders", "partitionKey": map[string]any{"paths": []string{"/customerId"}, "kind": "Hash"}, "defaultTtl": 3600}}})
	if st != http.StatusOK {
		t.Fatalf("containers put: %d %v", st, out)
	}
	res = out["properties"].(map[string]any)["resource"].(map[string]any)
	if res["defaultTtl"] != float64(3600) || res["indexingPolicy"] == nil {
		t.Fatalf("container resource %v", res)
	}
	// The data plane has it.
	orders, _ := c.NewContainer("appdb", "orders")
	if _, err := orders.CreateItem(bg, azcosmos.NewPartitionKeyString("c1"), doc("id", "o1", "customerId", "c1"), nil); err != nil {
		t.Fatal(err)
	}
	rp, err := orders.Read(bg, nil)
	if err != nil || *rp.ContainerProperties.DefaultTimeToLive != 3600 {
		t.Fatalf("data plane container: %v", err)
	}
	// An update through ARM changes the time to live.
	st, out = l.arm(t, "PUT", base+"appdb/containers/orders", map[string]any{"properties": map[string]any{"resource": map[string]any{
		"id": "orders", "partitionKey": map[string]any{"paths": []string{"/customerId"}, "kind": "Hash"}, "defaultTtl": 60}}})
	if st != http.StatusOK {
		t.Fatalf("containers update: %d %v", st, out)
	}
	if rp, _ := orders.Read(bg, nil); *rp.ContainerProperties.DefaultTimeToLive != 60 {
		t.Fatalf("ttl after update: %v", *rp.ContainerProperties.DefaultTimeToLive)
	}
	st, out = l.arm(t, "PUT", base+"appdb/containers/bad", map[string]any{"properties": map[string]any{"resource": map[string]any{"id": "other"}}})
	if st != http.StatusBadRequest {
		t.Fatalf("mismatched id: %d %v", st, out)
	}
	st, out = l.arm(t, "PUT", base+"nodb/containers/x", map[string]any{"properties": map[string]any{"resource": map[string]any{"id": "x",
		"partitionKey": map[string]any{"paths": []string{"/id"}}}}})
	if st != http.StatusNotFound {
		t.Fatalf("container without its database: %d %v", st, out)
	}
	// A container the data plane deletes goes from the management API.
	scratch := l.container(t, c, "appdb", "scratch", nil)
	if st, _ := l.arm(t, "GET", base+"appdb/containers/scratch", nil); st != http.StatusOK {
		t.Fatalf("mirrored scratch: %d", st)
	}
	if _, err := scratch.Delete(bg, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.arm(t, "GET", base+"appdb/containers/scratch", nil); st != http.StatusNotFound {
		t.Fatalf("scratch after its delete: %d", st)
	}
	// Deleting the container resource deletes the data.
	if st, out := l.arm(t, "DELETE", base+"appdb/containers/orders", nil); st >= 300 {
		t.Fatalf("container delete: %d %v", st, out)
	}
	_, err = orders.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)

	// Deleting the account deletes its data.
	if st, out := l.arm(t, "DELETE", "/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/shop-acct", nil); st >= 300 {
		t.Fatalf("account delete: %d %v", st, out)
	}
	if dbs, err := l.svc.ListDatabases(bg, "shop-acct"); err != nil || len(dbs) != 0 {
		t.Fatalf("databases after the account's delete: %v %v", dbs, err)
	}
	rsp, _ := l.raw(t, key, "shop-acct.localhost", "GET", "/dbs", nil, nil)
	if rsp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted account: %d", rsp.StatusCode)
	}
}

func TestUniqueKeys(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "users", &azcosmos.ContainerProperties{
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/tenant"}},
		UniqueKeyPolicy:        &azcosmos.UniqueKeyPolicy{UniqueKeys: []azcosmos.UniqueKey{{Paths: []string{"/email"}}}}})
	pk := azcosmos.NewPartitionKeyString("t1")
	if _, err := cc.CreateItem(bg, pk, doc("id", "1", "tenant", "t1", "email", "a@x"), nil); err != nil {
		t.Fatal(err)
	}
	_, err := cc.CreateItem(bg, pk, doc("id", "2", "tenant", "t1", "email", "a@x"), nil)
	wantStatus(t, err, http.StatusConflict)
	// Unique within a partition only.
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("t2"), doc("id", "2", "tenant", "t2", "email", "a@x"), nil); err != nil {
		t.Fatal(err)
	}
	// Replacing an item with its own values is fine.
	if _, err := cc.UpsertItem(bg, pk, doc("id", "1", "tenant", "t1", "email", "a@x", "name", "A"), nil); err != nil {
		t.Fatal(err)
	}
	// In a batch, a swap that ends unique is fine; one that clashes fails.
	if _, err := cc.CreateItem(bg, pk, doc("id", "3", "tenant", "t1", "email", "b@x"), nil); err != nil {
		t.Fatal(err)
	}
	b := cc.NewTransactionalBatch(pk)
	b.DeleteItem("1", nil)
	b.UpsertItem(doc("id", "3", "tenant", "t1", "email", "a@x"), nil)
	res, err := cc.ExecuteTransactionalBatch(bg, b, nil)
	if err != nil || !res.Success {
		t.Fatalf("unique swap in a batch: %v %+v", err, res.OperationResults)
	}
	b = cc.NewTransactionalBatch(pk)
	b.CreateItem(doc("id", "4", "tenant", "t1", "email", "a@x"), nil)
	_, err = cc.ExecuteTransactionalBatch(bg, b, nil)
	wantStatus(t, err, http.StatusConflict)
}

func TestConcurrentWrites(t *testing.T) {
	l := start(t, t.TempDir())
	c := l.client(t)
	cc := l.container(t, c, "db", "counters", nil)
	pk := azcosmos.NewPartitionKeyString("p")
	if _, err := cc.CreateItem(bg, pk, doc("id", "n", "pk", "p", "count", 0), nil); err != nil {
		t.Fatal(err)
	}
	// Increments by patch from many goroutines: none is lost.
	const workers, each = 8, 10
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for range each {
				ops := azcosmos.PatchOperations{}
				ops.AppendIncrement("/count", 1)
				if _, err := cc.PatchItem(bg, pk, "n", ops, nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, _ := cc.ReadItem(bg, pk, "n", nil)
	if n := decode(t, got.Value)["count"]; n != float64(workers*each) {
		t.Fatalf("count %v, want %d", n, workers*each)
	}
	// Optimistic concurrency: of many replaces with the same etag, one wins.
	wins := make(chan bool, workers)
	for i := range workers {
		go func() {
			_, err := cc.ReplaceItem(bg, pk, "n", doc("id", "n", "pk", "p", "by", i), &azcosmos.ItemOptions{IfMatchEtag: &got.ETag})
			wins <- err == nil
		}()
	}
	won := 0
	for range workers {
		if <-wins {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d replaces won with the same etag", won)
	}
	// Batches racing with each other stay atomic.
	done := make(chan error, workers)
	for i := range workers {
		go func() {
			b := cc.NewTransactionalBatch(pk)
			ops := azcosmos.PatchOperations{}
			ops.AppendIncrement("/total", 1)
			b.UpsertItem(doc("id", fmt.Sprintf("w%d", i), "pk", "p"), nil)
			b.UpsertItem(doc("id", "sum", "pk", "p", "total", 0), nil)
			b.PatchItem("sum", ops, nil)
			res, err := cc.ExecuteTransactionalBatch(bg, b, nil)
			if err == nil && !res.Success {
				err = fmt.Errorf("batch failed: %+v", res.OperationResults)
			}
			done <- err
		}()
	}
	for range workers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got, _ = cc.ReadItem(bg, pk, "sum", nil)
	if decode(t, got.Value)["total"] != float64(1) {
		t.Fatalf("sum = %s", got.Value)
	}
}
