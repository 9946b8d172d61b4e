package docdb

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/substrate"
)

// bare starts the service on a substrate of its own, without a resource
// manager: the Go API alone.
func bare(t *testing.T) *Service { return bareTB(t) }

// bareTB is bare for tests and benchmarks.
func bareTB(t testing.TB) *Service {
	t.Helper()
	ctx := context.Background()
	sub, err := substrate.Open(ctx, substrate.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return onSubstrate(t, sub)
}

// onSubstrate starts a service (a node) on a substrate.
func onSubstrate(t testing.TB, sub *substrate.Substrate) *Service {
	t.Helper()
	ctx := context.Background()
	s, err := New(service.Env{Substrate: sub, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func TestGoAPI(t *testing.T) {
	s := bare(t)
	ctx := context.Background()
	const acct = "localhost"
	if _, err := s.CreateDatabase(ctx, acct, "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDatabase(ctx, acct, "db"); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	ttl := int64(-1)
	c, err := s.CreateContainer(ctx, acct, "db", ContainerSpec{ID: "c", PartitionKey: PartitionKeyDefinition{Paths: []string{"/k"}}, DefaultTTL: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	if c.PartitionKey.Kind != KindHash || c.PartitionKey.Version != 2 {
		t.Fatalf("container %+v", c.PartitionKey)
	}
	if _, err := s.CreateContainer(ctx, acct, "nodb", ContainerSpec{ID: "c", PartitionKey: PartitionKeyDefinition{Paths: []string{"/k"}}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("container without a database: %v", err)
	}

	// The feed from now sees only what comes after.
	feed, err := s.ChangeFeed(ctx, acct, "db", "c", FromNow)
	if err != nil {
		t.Fatal(err)
	}
	it, created, err := s.UpsertItem(ctx, acct, "db", "c", nil, []byte(`{"id":"1","k":"a","v":1}`))
	if err != nil || !created || it.ETag == "" {
		t.Fatalf("upsert: %v %v", created, err)
	}
	if _, created, err = s.UpsertItem(ctx, acct, "db", "c", PartitionKey{"a"}, []byte(`{"id":"1","k":"a","v":2}`)); err != nil || created {
		t.Fatalf("second upsert: %v %v", created, err)
	}
	if _, _, err := s.UpsertItem(ctx, acct, "db", "c", PartitionKey{"b"}, []byte(`{"id":"1","k":"a"}`)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("mismatched key: %v", err)
	}
	if _, err := s.CreateItem(ctx, acct, "db", "c", nil, []byte(`{"id":"2","k":"b"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadItem(ctx, acct, "db", "c", PartitionKey{"a"}, "1")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(got.Document, &m)
	if m["v"] != float64(2) {
		t.Fatalf("read %s", got.Document)
	}
	// Conditional replace and patch.
	if _, err := s.ReplaceItem(ctx, acct, "db", "c", PartitionKey{"a"}, "1", []byte(`{"id":"1","k":"a","v":3}`), `"stale"`); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale replace: %v", err)
	}
	rep, err := s.ReplaceItem(ctx, acct, "db", "c", PartitionKey{"a"}, "1", []byte(`{"id":"1","k":"a","v":3}`), got.ETag)
	if err != nil || rep.ETag == got.ETag {
		t.Fatalf("replace: %v", err)
	}
	if _, err := s.PatchItem(ctx, acct, "db", "c", PartitionKey{"a"}, "1", []byte(`{"operations":[{"op":"incr","path":"/v","value":-1}]}`), rep.ETag); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ReadItem(ctx, acct, "db", "c", PartitionKey{"a"}, "1")
	_ = json.Unmarshal(got.Document, &m)
	if m["v"] != float64(2) {
		t.Fatalf("after patch %s", got.Document)
	}
	pk, err := s.PartitionKeyOf(ctx, acct, "db", "c", []byte(`{"id":"x","k":3}`))
	if err != nil || pk.String() != "[3]" {
		t.Fatalf("PartitionKeyOf = %v, %v", pk, err)
	}

	page, err := s.Query(ctx, acct, "db", "c", QuerySpec{Query: "SELECT VALUE c.id FROM c ORDER BY c.id"}, &QueryOptions{MaxItems: 1})
	if err != nil || len(page.Documents) != 1 || string(page.Documents[0]) != `"1"` || page.Continuation == "" {
		t.Fatalf("query page 1: %+v %v", page, err)
	}
	page, err = s.Query(ctx, acct, "db", "c", QuerySpec{Query: "SELECT VALUE c.id FROM c ORDER BY c.id"}, &QueryOptions{MaxItems: 1, Continuation: page.Continuation})
	if err != nil || len(page.Documents) != 1 || string(page.Documents[0]) != `"2"` || page.Continuation != "" {
		t.Fatalf("query page 2: %+v %v", page, err)
	}

	items, err := feed.Next(ctx, 10)
	if err != nil || len(items) != 2 {
		t.Fatalf("feed: %d %v", len(items), err)
	}
	pos := feed.Position()
	if items, err := feed.Next(ctx, 10); err != nil || len(items) != 0 {
		t.Fatalf("feed at the end: %d %v", len(items), err)
	}
	// Resumed from a position.
	if err := s.DeleteItem(ctx, acct, "db", "c", PartitionKey{"b"}, "2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertItem(ctx, acct, "db", "c", nil, []byte(`{"id":"3","k":"c"}`)); err != nil {
		t.Fatal(err)
	}
	again, _ := s.ChangeFeed(ctx, acct, "db", "c", pos)
	items, err = again.Next(ctx, 10)
	if err != nil || len(items) != 1 || items[0].Seq < pos {
		t.Fatalf("resumed feed: %+v %v", items, err)
	}

	// Watch signals writes.
	wctx, cancel := context.WithCancel(ctx)
	ch, err := s.Watch(wctx, acct, "db", "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertItem(ctx, acct, "db", "c", nil, []byte(`{"id":"4","k":"c"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal for a write")
	}
	cancel()
	for range ch { // closed when the watch ends
	}

	cs, err := s.ListContainers(ctx, acct, "db")
	if err != nil || len(cs) != 1 {
		t.Fatalf("containers %v %v", cs, err)
	}
	off := ContainerSpec{ID: "c", IndexingPolicy: json.RawMessage(`{"indexingMode":"none","automatic":false}`)}
	if r, err := s.ReplaceContainer(ctx, acct, "db", off); err != nil || r.DefaultTTL != nil || r.PartitionKey.Paths[0] != "/k" {
		t.Fatalf("replace: %+v %v", r, err)
	}
	if err := s.DeleteAccountData(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if dbs, err := s.ListDatabases(ctx, acct); err != nil || len(dbs) != 0 {
		t.Fatalf("after DeleteAccountData: %v %v", dbs, err)
	}
	if _, err := s.ReadItem(ctx, acct, "db", "c", PartitionKey{"a"}, "1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
}

func TestCleanOrphans(t *testing.T) {
	s := bare(t)
	ctx := context.Background()
	if _, err := s.CreateDatabase(ctx, "acct-1", "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(ctx, "acct-1", "db", ContainerSpec{ID: "kept", PartitionKey: PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDatabase(ctx, "acct-1", "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(ctx, "acct-1", "gone", ContainerSpec{ID: "orphan", PartitionKey: PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	// A crash after a database's record went, before its containers did;
	// and a bucket no container names.
	if err := s.st.deleteKey(ctx, dbKey("acct-1", "gone")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.createBucket(ctx, bucketName(ridEncode(randomBytes(8)))); err != nil {
		t.Fatal(err)
	}
	if err := s.cleanOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	names, _ := s.st.bucketNames(ctx)
	if len(names) != 2 {
		t.Fatalf("a young unused bucket was removed, or the orphan container's kept: %v", names)
	}
	defer SetOrphanAge(0)()
	if err := s.cleanOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	colls, _ := s.st.listContainers(ctx, "*", "*")
	names, _ = s.st.bucketNames(ctx)
	if len(colls) != 1 || colls[0].Container.ID != "kept" || len(names) != 1 || names[0] != colls[0].Bucket {
		t.Fatalf("after cleaning: %d containers, buckets %v", len(colls), names)
	}
}
