package docclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/functest"
)

// restAccount opens the platform's emulator account over REST.
func restAccount(t *testing.T, p *functest.Platform, opts docclient.RESTOptions) docclient.Account {
	t.Helper()
	a, err := docclient.NewREST(opts).Account(context.Background(), p.CosmosConn)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestREST drives every operation of a REST account against a platform's document store, and checks what it
// wrote with the in-process account.
func TestREST(t *testing.T) {
	p := functest.Start(t)
	ctx := context.Background()
	a := restAccount(t, p, docclient.RESTOptions{WatchInterval: 20 * time.Millisecond})
	local, err := p.Documents(t).Account(ctx, p.CosmosConn)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != account.EmulatorAccount || a.Host() != "localhost" {
		t.Errorf("account %s on %s", a.Name(), a.Host())
	}

	if _, err := a.Container(ctx, "db", "c"); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("container of a missing database: %v", err)
	}
	for range 2 {
		if err := a.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Container(ctx, "db", "c"); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("missing container: %v", err)
	}
	ttl := int64(-1)
	spec := docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/pk"}}, DefaultTTL: &ttl}
	for range 2 {
		if err := a.CreateContainerIfNotExists(ctx, "db", spec); err != nil {
			t.Fatal(err)
		}
	}
	info, err := a.Container(ctx, "db", "c")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := local.Container(ctx, "db", "c")
	if info.ID != "c" || info.RID != want.RID || info.DatabaseRID != want.DatabaseRID || len(info.PartitionKeyPaths) != 1 || info.PartitionKeyPaths[0] != "/pk" {
		t.Errorf("container %+v, in process %+v", info, want)
	}
	svc := p.Server.Service(docdb.ServiceName).(*docdb.Service)
	if c, err := svc.GetContainer(ctx, account.EmulatorAccount, "db", "c"); err != nil || c.DefaultTTL == nil || *c.DefaultTTL != -1 ||
		c.PartitionKey.Kind != docdb.KindHash || c.PartitionKey.Version != 2 {
		t.Errorf("created container %+v %v", c, err)
	}

	// Documents: create (409 when taken), read (404 when missing), replace on the etag (412 when stale), upsert.
	const id = "a b+c=%"
	pk := docdb.PartitionKey{"p1"}
	it, err := a.CreateItem(ctx, "db", "c", []byte(`{"id":"a b+c=%","pk":"p1","v":1}`))
	if err != nil || it.ETag == "" || !strings.Contains(string(it.Document), `"v":1`) {
		t.Fatalf("create: %+v %v", it, err)
	}
	if _, err := a.CreateItem(ctx, "db", "c", []byte(`{"id":"a b+c=%","pk":"p1"}`)); !errors.Is(err, docdb.ErrConflict) {
		t.Errorf("create again: %v", err)
	}
	if _, err := a.CreateItem(ctx, "db", "c", []byte(`{"id":"x","pk":{"no":1}}`)); !errors.Is(err, docdb.ErrBadRequest) {
		t.Errorf("create with an object for a partition key: %v", err)
	}
	got, err := a.ReadItem(ctx, "db", "c", pk, id)
	if err != nil || got.ETag != it.ETag {
		t.Fatalf("read: %+v %v", got, err)
	}
	if _, err := a.ReadItem(ctx, "db", "c", docdb.PartitionKey{"p2"}, id); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("read in another partition: %v", err)
	}
	next, err := a.ReplaceItem(ctx, "db", "c", pk, id, []byte(`{"id":"a b+c=%","pk":"p1","v":2}`), it.ETag)
	if err != nil || next.ETag == it.ETag {
		t.Fatalf("replace: %+v %v", next, err)
	}
	_, err = a.ReplaceItem(ctx, "db", "c", pk, id, []byte(`{"id":"a b+c=%","pk":"p1","v":3}`), it.ETag)
	var de *docdb.Error
	if !errors.Is(err, docdb.ErrPreconditionFailed) || !errors.As(err, &de) || !strings.Contains(de.Message, "precondition") ||
		strings.Contains(de.Message, "ActivityId") {
		t.Errorf("replace with a stale etag: %v", err)
	}
	if _, err := a.ReplaceItem(ctx, "db", "c", docdb.PartitionKey{"p1"}, "none", []byte(`{"id":"none","pk":"p1"}`), ""); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("replace of a missing document: %v", err)
	}
	for _, doc := range []string{`{"id":"u","pk":"p2","v":1}`, `{"id":"u","pk":"p2","v":2}`, `{"id":"nopk","v":1}`} {
		if _, err := a.UpsertItem(ctx, "db", "c", []byte(doc)); err != nil {
			t.Fatalf("upsert %s: %v", doc, err)
		}
	}
	if got, err := local.ReadItem(ctx, "db", "c", docdb.PartitionKey{"p2"}, "u"); err != nil || !strings.Contains(string(got.Document), `"v":2`) {
		t.Errorf("the upserted document in process: %v", err)
	}
	if _, err := local.ReadItem(ctx, "db", "c", docdb.PartitionKey{docdb.Undefined{}}, "nopk"); err != nil {
		t.Errorf("the document without a partition key in process: %v", err)
	}

	// Queries: in one partition, with parameters, and across partitions.
	res, err := a.Query(ctx, "db", "c", docdb.QuerySpec{Query: "SELECT VALUE c.v FROM c WHERE c.id = @id",
		Parameters: []docdb.QueryParameter{{Name: "@id", Value: id}}}, pk)
	if err != nil || len(res) != 1 || string(res[0]) != "2" {
		t.Errorf("query in a partition: %s %v", res, err)
	}
	res, err = a.Query(ctx, "db", "c", docdb.QuerySpec{Query: "SELECT VALUE c.id FROM c"}, nil)
	if err != nil || len(res) != 3 {
		t.Errorf("query across partitions: %s %v", res, err)
	}
	if _, err := a.Query(ctx, "db", "c", docdb.QuerySpec{Query: "SELECT FROM"}, nil); !errors.Is(err, docdb.ErrBadRequest) {
		t.Errorf("a query that does not parse: %v", err)
	}
	if _, err := a.Query(ctx, "db", "nosuch", docdb.QuerySpec{Query: "SELECT * FROM c"}, nil); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("a query of a missing container: %v", err)
	}

	// Watch ticks until its context ends, then closes.
	wctx, cancel := context.WithCancel(ctx)
	ch, err := a.Watch(wctx, "db", "c")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not tick")
	}
	cancel()
	for range ch {
	}
	if _, err := a.Watch(ctx, "db", "nosuch"); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("Watch of a missing container: %v", err)
	}
	unsupported := restAccount(t, p, docclient.RESTOptions{WatchInterval: -1})
	if _, err := unsupported.Watch(ctx, "db", "c"); !errors.Is(err, docclient.ErrWatchUnsupported) {
		t.Errorf("Watch with a negative interval: %v", err)
	}
}

// TestRESTQueryPages: a query with more results than a page reads every page.
func TestRESTQueryPages(t *testing.T) {
	p := functest.Start(t)
	ctx := context.Background()
	a := restAccount(t, p, docclient.RESTOptions{})
	if err := a.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateContainerIfNotExists(ctx, "db", docdb.ContainerSpec{ID: "many", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/k"}}}); err != nil {
		t.Fatal(err)
	}
	svc := p.Server.Service(docdb.ServiceName).(*docdb.Service)
	const n = 2345
	for i := range n {
		doc := fmt.Sprintf(`{"id":"%d","k":"%d","n":%d}`, i, i%7, i)
		if _, err := svc.CreateItem(ctx, account.EmulatorAccount, "db", "many", nil, []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := a.Query(ctx, "db", "many", docdb.QuerySpec{Query: "SELECT VALUE c.n FROM c"}, nil)
	if err != nil || len(res) != n {
		t.Fatalf("%d results, %v", len(res), err)
	}
	seen := map[string]bool{}
	for _, r := range res {
		seen[string(r)] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct results of %d", len(seen), n)
	}
	res, err = a.Query(ctx, "db", "many", docdb.QuerySpec{Query: "SELECT VALUE c.n FROM c"}, docdb.PartitionKey{"3"})
	if err != nil || len(res) != (n+3)/7 {
		t.Errorf("one partition: %d results, %v", len(res), err)
	}
}

// TestRESTChangeFeed: the REST feed reads the same changes, at the same positions, as the in-process one: from the
// beginning, from now, and from a position kept earlier; a page at a time.
func TestRESTChangeFeed(t *testing.T) {
	p := functest.Start(t)
	ctx := context.Background()
	a := restAccount(t, p, docclient.RESTOptions{})
	local, err := p.Documents(t).Account(ctx, p.CosmosConn)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateContainerIfNotExists(ctx, "db", docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ChangeFeed(ctx, "db", "nosuch", 1); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("feed of a missing container from the beginning: %v", err)
	}
	if _, err := a.ChangeFeed(ctx, "db", "nosuch", docdb.FromNow); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("feed of a missing container from now: %v", err)
	}

	// An empty container: nothing from the beginning or from now.
	for _, from := range []uint64{1, docdb.FromNow} {
		f, err := a.ChangeFeed(ctx, "db", "c", from)
		if err != nil {
			t.Fatal(err)
		}
		if items, err := f.Next(ctx, 10); err != nil || len(items) != 0 || f.Position() != 1 {
			t.Errorf("empty feed from %d: %v %v at %d", from, items, err, f.Position())
		}
	}

	write := func(docs ...string) {
		t.Helper()
		for _, d := range docs {
			if _, err := a.UpsertItem(ctx, "db", "c", []byte(d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(`{"id":"a","v":1}`, `{"id":"b","v":1}`, `{"id":"c","v":1}`, `{"id":"a","v":2}`)
	now, err := a.ChangeFeed(ctx, "db", "c", docdb.FromNow)
	if err != nil {
		t.Fatal(err)
	}
	localNow, _ := local.ChangeFeed(ctx, "db", "c", docdb.FromNow)
	if now.Position() != localNow.Position() {
		t.Errorf("from now at %d, in process %d", now.Position(), localNow.Position())
	}
	write(`{"id":"d","v":1}`)

	// Both feeds, from the beginning, a page of two at a time, agree.
	read := func(f docclient.ChangeFeed) (ids []string, seqs []uint64, positions []uint64) {
		t.Helper()
		for {
			items, err := f.Next(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			positions = append(positions, f.Position())
			if len(items) == 0 {
				return
			}
			for _, it := range items {
				var d struct {
					ID  string `json:"id"`
					LSN uint64 `json:"_lsn"`
				}
				if err := json.Unmarshal(it.Document, &d); err != nil || d.LSN != it.Seq {
					t.Errorf("change %s (seq %d): %v", it.Document, it.Seq, err)
				}
				ids, seqs = append(ids, d.ID), append(seqs, it.Seq)
			}
		}
	}
	rf, err := a.ChangeFeed(ctx, "db", "c", 1)
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := local.ChangeFeed(ctx, "db", "c", 1)
	ids, seqs, pos := read(rf)
	lids, lseqs, lpos := read(lf)
	if strings.Join(ids, ",") != "b,c,a,d" || fmt.Sprint(seqs) != fmt.Sprint(lseqs) || fmt.Sprint(pos) != fmt.Sprint(lpos) || strings.Join(lids, ",") != "b,c,a,d" {
		t.Errorf("from the beginning: %v %v %v, in process %v %v %v", ids, seqs, pos, lids, lseqs, lpos)
	}

	// From now: only what came after.
	if ids, _, _ := read(now); strings.Join(ids, ",") != "d" {
		t.Errorf("from now: %v", ids)
	}
	// From a kept position: what came after it.
	kept := pos[0] // after b and c
	write(`{"id":"b","v":2}`)
	rf, err = a.ChangeFeed(ctx, "db", "c", kept)
	if err != nil {
		t.Fatal(err)
	}
	lf, _ = local.ChangeFeed(ctx, "db", "c", kept)
	ids, seqs, _ = read(rf)
	lids, lseqs, _ = read(lf)
	if strings.Join(ids, ",") != "a,d,b" || fmt.Sprint(seqs) != fmt.Sprint(lseqs) || fmt.Sprint(ids) != fmt.Sprint(lids) {
		t.Errorf("from %d: %v %v, in process %v %v", kept, ids, seqs, lids, lseqs)
	}
}

// TestRESTAuth: a wrong key fails with an error that says so; an account of the platform is reached at
// {account}.localhost, and its read-only key reads but cannot write.
func TestRESTAuth(t *testing.T) {
	p := functest.Start(t)
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(p.CosmosHost)
	rest := docclient.NewREST(docclient.RESTOptions{})
	wrong, err := rest.Account(ctx, "AccountEndpoint=http://localhost:"+port+"/;AccountKey="+strings.Replace(key, "C", "D", 1)+";")
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.CreateDatabaseIfNotExists(ctx, "db")
	var de *docdb.Error
	if err == nil || !strings.Contains(err.Error(), "AccountKey") || !errors.As(err, &de) || de.Status != http.StatusUnauthorized {
		t.Errorf("with a wrong key: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), key[:20]) {
		t.Errorf("the error quotes the key: %v", err)
	}

	group := "/subscriptions/" + p.Server.Info().Subscription + "/resourceGroups/rg"
	if code := p.ARM(t, "PUT", group+"?api-version=2021-04-01", map[string]any{"location": "eastus"}, nil); code != 200 && code != 201 {
		t.Fatalf("group: %d", code)
	}
	acct := group + "/providers/Microsoft.DocumentDB/databaseAccounts/docs1"
	body := map[string]any{"location": "eastus", "kind": "GlobalDocumentDB", "properties": map[string]any{"databaseAccountOfferType": "Standard",
		"locations": []map[string]any{{"locationName": "eastus", "failoverPriority": 0}}}}
	if code := p.ARM(t, "PUT", acct+"?api-version=2024-11-15", body, nil); code != 200 && code != 201 {
		t.Fatalf("account: %d", code)
	}
	var keys struct{ PrimaryMasterKey, PrimaryReadonlyMasterKey string }
	deadline := time.Now().Add(10 * time.Second)
	for p.ARM(t, "POST", acct+"/listKeys?api-version=2024-11-15", nil, &keys) != 200 || keys.PrimaryMasterKey == "" {
		if time.Now().After(deadline) {
			t.Fatal("no keys")
		}
		time.Sleep(20 * time.Millisecond)
	}
	endpoint := "AccountEndpoint=http://docs1.localhost:" + port + "/;AccountKey="
	rw, err := rest.Account(ctx, endpoint+keys.PrimaryMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if rw.Name() != "docs1" || rw.Host() != "docs1.localhost" {
		t.Errorf("account %s on %s", rw.Name(), rw.Host())
	}
	if err := rw.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := rw.CreateContainerIfNotExists(ctx, "db", docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rw.UpsertItem(ctx, "db", "c", []byte(`{"id":"x","v":1}`)); err != nil {
		t.Fatal(err)
	}
	ro, err := rest.Account(ctx, endpoint+keys.PrimaryReadonlyMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.CreateContainerIfNotExists(ctx, "db", docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Errorf("an existing container with a read-only key: %v", err)
	}
	if got, err := ro.ReadItem(ctx, "db", "c", docdb.PartitionKey{"x"}, "x"); err != nil || !strings.Contains(string(got.Document), `"v":1`) {
		t.Errorf("read with a read-only key: %v", err)
	}
	if _, err := ro.UpsertItem(ctx, "db", "c", []byte(`{"id":"y"}`)); err == nil || !strings.Contains(err.Error(), "read-only key") {
		t.Errorf("write with a read-only key: %v", err)
	}
}

// TestInProcessFallsBackToREST: an endpoint that is not the platform's own goes over REST (here, the platform's
// document store seen as another Lapis's).
func TestInProcessFallsBackToREST(t *testing.T) {
	p := functest.Start(t)
	ctx := context.Background()
	svc := p.Server.Service(docdb.ServiceName).(*docdb.Service)
	prov, err := docclient.NewInProcess(docclient.InProcessOptions{Service: func() *docdb.Service { return svc },
		Keys: &account.Directory{Store: p.Server.Manager().Store()}, Endpoint: "127.0.0.1:1",
		REST: docclient.RESTOptions{WatchInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := prov.Account(ctx, p.CosmosConn)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateContainerIfNotExists(ctx, "db", docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Watch(ctx, "db", "c"); !errors.Is(err, docclient.ErrWatchUnsupported) {
		t.Errorf("Watch: %v, want the REST client's (unsupported with a negative interval)", err)
	}
}

// TestRESTErrors: error answers become *docdb.Error with the service's status, code, substatus and message (without
// the ActivityId), matching the sentinels; throttled requests are retried.
func TestRESTErrors(t *testing.T) {
	type answer struct {
		status int
		hdr    map[string]string
		body   string
	}
	for _, c := range []struct {
		name     string
		answers  []answer
		sentinel error
		code     string
		sub      int
		msg      string
	}{
		{"not found", []answer{{404, map[string]string{"x-ms-substatus": "1003"}, `{"code":"NotFound","message":"Owner resource does not exist\r\nActivityId: 1234, Microsoft.Azure.Documents.Common/2.14.0"}`}},
			docdb.ErrNotFound, "NotFound", 1003, "Owner resource does not exist"},
		{"conflict, other code", []answer{{409, nil, `{"code":"Other","message":"taken"}`}}, docdb.ErrConflict, "Conflict", 0, "taken"},
		{"precondition, no body", []answer{{412, nil, ``}}, docdb.ErrPreconditionFailed, "PreconditionFailed", 0, "Precondition Failed"},
		{"bad request, not JSON", []answer{{400, nil, `<html>`}}, docdb.ErrBadRequest, "BadRequest", 0, "Bad Request"},
		{"server error", []answer{{503, nil, `{"code":"ServiceUnavailable","message":"busy"}`}}, nil, "ServiceUnavailable", 0, "busy"},
		{"throttled then found", []answer{{429, map[string]string{"x-ms-retry-after-ms": "1"}, `{}`}, {449, nil, `{}`},
			{404, nil, `{"code":"NotFound","message":"gone"}`}}, docdb.ErrNotFound, "NotFound", 0, "gone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.Header.Get("Authorization"), "type%3Dmaster%26ver%3D1.0%26sig%3D") || r.Header.Get("x-ms-date") == "" ||
					r.Header.Get("x-ms-version") != docclient.APIVersion {
					t.Errorf("request headers %v", r.Header)
				}
				a := c.answers[min(calls, len(c.answers)-1)]
				calls++
				for k, v := range a.hdr {
					w.Header().Set(k, v)
				}
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(a.body))
			}))
			defer srv.Close()
			acct, err := docclient.NewREST(docclient.RESTOptions{}).Account(context.Background(), "AccountEndpoint="+srv.URL+"/;AccountKey="+key)
			if err != nil {
				t.Fatal(err)
			}
			_, err = acct.ReadItem(context.Background(), "db", "c", docdb.PartitionKey{"x"}, "x")
			var de *docdb.Error
			if !errors.As(err, &de) || de.Code != c.code || de.SubStatus != c.sub || de.Message != c.msg {
				t.Fatalf("%v (%+v)", err, de)
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("%v is not %v", err, c.sentinel)
			}
			if calls != len(c.answers) {
				t.Errorf("%d requests, want %d", calls, len(c.answers))
			}
		})
	}
}

// The REST client sends the key docdb.ExtractPartitionKey finds.
func TestPartitionKeyOf(t *testing.T) {
	for _, c := range []struct {
		paths []string
		doc   string
		want  string // the header, or "error"
	}{
		{[]string{"/id"}, `{"id":"a"}`, `["a"]`},
		{[]string{"/n"}, `{"n":1.50}`, `[1.5]`},
		{[]string{"/b"}, `{"b":true}`, `[true]`},
		{[]string{"/z"}, `{"z":null}`, `[null]`},
		{[]string{"/missing"}, `{"id":"a"}`, `[{}]`},
		{[]string{"/a/b"}, `{"a":{"b":"deep"}}`, `["deep"]`},
		{[]string{"/a/b"}, `{"a":"flat"}`, `[{}]`},
		{[]string{`/"odd/name"`}, `{"odd/name":"q"}`, `["q"]`},
		{[]string{"/t", "/u", "/v"}, `{"t":"x","u":2}`, `["x",2,{}]`},
		{[]string{"/o"}, `{"o":{"x":1}}`, "error"},
		{[]string{"/o"}, `{"o":[1]}`, "error"},
		{[]string{"id"}, `{"id":"a"}`, "error"},
		{[]string{"/a/"}, `{"a":1}`, "error"},
		{[]string{"/id"}, `[1]`, "error"},
		{[]string{"/id"}, `null`, "error"},
		{nil, `{"id":"a"}`, "error"},
	} {
		k, err := docdb.ExtractPartitionKey(c.paths, []byte(c.doc))
		switch {
		case c.want == "error":
			if err == nil || !errors.Is(err, docdb.ErrBadRequest) {
				t.Errorf("%v %s: %v, %v; want a bad request", c.paths, c.doc, k, err)
			}
		case err != nil || k.String() != c.want:
			t.Errorf("%v %s: %v, %v; want %s", c.paths, c.doc, k, err, c.want)
		}
	}
}

// FuzzPartitionKeyOf: any path and document give a key with one component per path, that the header parser reads
// back, or a bad request.
func FuzzPartitionKeyOf(f *testing.F) {
	for _, s := range [][2]string{{"/id", `{"id":"a"}`}, {`/"x y"/z`, `{"x y":{"z":1e3}}`}, {"/a", `{"a":[]}`}, {"/", `{}`}, {`/"`, `{"":1}`}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, path, doc string) {
		k, err := docdb.ExtractPartitionKey([]string{path}, []byte(doc))
		if err != nil {
			if !errors.Is(err, docdb.ErrBadRequest) {
				t.Fatalf("%q %q: %T %v", path, doc, err, err)
			}
			return
		}
		if len(k) != 1 {
			t.Fatalf("%q %q: %v", path, doc, k)
		}
		back, err := docdb.ParsePartitionKey(k.String())
		if err != nil || back.String() != k.String() {
			t.Fatalf("%q %q: %s reads back as %v (%v)", path, doc, k, back, err)
		}
	})
}
