package docdb

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/substrate"
)

// viewContainer makes database "db" and container "c" (partition key /k)
// with the given default time to live (nil: off).
func viewContainer(t testing.TB, s *Service, ttl *int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateDatabase(ctx, "localhost", "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(ctx, "localhost", "db", ContainerSpec{ID: "c",
		PartitionKey: PartitionKeyDefinition{Paths: []string{"/k"}}, DefaultTTL: ttl}); err != nil {
		t.Fatal(err)
	}
}

// ids runs a query over container c (one partition with pk) and returns
// the ids of its results, sorted.
func ids(t *testing.T, s *Service, pk PartitionKey, text string) []string {
	t.Helper()
	var out []string
	token := ""
	for {
		page, err := s.Query(context.Background(), "localhost", "db", "c", QuerySpec{Query: text},
			&QueryOptions{PartitionKey: pk, MaxItems: 1000, Continuation: token})
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		for _, d := range page.Documents {
			var v struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(d, &v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v.ID)
		}
		if token = page.Continuation; token == "" {
			break
		}
	}
	slices.Sort(out)
	return out
}

func put(t *testing.T, s *Service, k, id string, v int) {
	t.Helper()
	doc := fmt.Sprintf(`{"id":%q,"k":%q,"v":%d}`, id, k, v)
	if _, _, err := s.UpsertItem(context.Background(), "localhost", "db", "c", nil, []byte(doc)); err != nil {
		t.Fatal(err)
	}
}

func TestViewReadYourWrites(t *testing.T) {
	s := bare(t)
	viewContainer(t, s, nil)
	ctx := context.Background()
	all := "SELECT * FROM c"
	if got := ids(t, s, nil, all); len(got) != 0 {
		t.Fatalf("empty container: %v", got)
	}
	put(t, s, "a", "1", 1)
	if got := ids(t, s, nil, all); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("after a write: %v", got)
	}
	put(t, s, "b", "2", 2)
	put(t, s, "a", "1", 3) // replaced: one version only
	if got := ids(t, s, nil, all); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("after a replace: %v", got)
	}
	if got := ids(t, s, nil, "SELECT * FROM c WHERE c.v = 1"); len(got) != 0 {
		t.Fatalf("old version still there: %v", got)
	}
	if got := ids(t, s, PartitionKey{"a"}, all); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("partition a: %v", got)
	}
	if got := ids(t, s, PartitionKey{"zz"}, all); len(got) != 0 {
		t.Fatalf("partition zz: %v", got)
	}
	if err := s.DeleteItem(ctx, "localhost", "db", "c", PartitionKey{"a"}, "1"); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, s, nil, all); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("after a delete: %v", got)
	}
	if got := ids(t, s, PartitionKey{"a"}, all); len(got) != 0 {
		t.Fatalf("partition a after a delete: %v", got)
	}

	// Documents come back as stored, byte for byte.
	body := `{"id":"3","k":"c","n":1.50,"z":0,"a":"x"}`
	if _, err := s.CreateItem(ctx, "localhost", "db", "c", nil, []byte(body)); err != nil {
		t.Fatal(err)
	}
	stored, err := s.ReadItem(ctx, "localhost", "db", "c", PartitionKey{"c"}, "3")
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Query(ctx, "localhost", "db", "c", QuerySpec{Query: "SELECT * FROM c WHERE c.id = '3'"}, nil)
	if err != nil || len(page.Documents) != 1 {
		t.Fatalf("query 3: %v %v", page, err)
	}
	if string(page.Documents[0]) != string(stored.Document) {
		t.Fatalf("query gave %s, stored %s", page.Documents[0], stored.Document)
	}
	page, err = s.Query(ctx, "localhost", "db", "c", QuerySpec{Query: "SELECT * FROM c ORDER BY c.id DESC"}, nil)
	if err != nil || len(page.Documents) != 2 || string(page.Documents[0]) != string(stored.Document) {
		t.Fatalf("ordered query: %v %v", page, err)
	}
}

func TestViewExpiry(t *testing.T) {
	s := bare(t)
	ttl := int64(60)
	viewContainer(t, s, &ttl)
	put(t, s, "a", "1", 1)
	if got := ids(t, s, nil, "SELECT * FROM c"); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("before expiry: %v", got)
	}
	s.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
	if got := ids(t, s, nil, "SELECT * FROM c"); len(got) != 0 {
		t.Fatalf("after expiry: %v", got)
	}
	if got := ids(t, s, PartitionKey{"a"}, "SELECT * FROM c"); len(got) != 0 {
		t.Fatalf("partition after expiry: %v", got)
	}
}

func TestViewTwoNodes(t *testing.T) {
	sub, err := substrate.Open(context.Background(), substrate.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	a, b := onSubstrate(t, sub), onSubstrate(t, sub)
	viewContainer(t, a, nil)
	all := "SELECT * FROM c"
	// Both build their views, then each sees the other's writes at once.
	if len(ids(t, a, nil, all)) != 0 || len(ids(t, b, nil, all)) != 0 {
		t.Fatal("not empty")
	}
	put(t, a, "p", "1", 1)
	if got := ids(t, b, nil, all); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("b after a's write: %v", got)
	}
	put(t, b, "p", "2", 1)
	if got := ids(t, a, PartitionKey{"p"}, all); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("a after b's write: %v", got)
	}
	if err := b.DeleteItem(context.Background(), "localhost", "db", "c", PartitionKey{"p"}, "1"); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, a, nil, all); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("a after b's delete: %v", got)
	}
}

func TestViewEvictionAndRebuild(t *testing.T) {
	s := bare(t)
	viewContainer(t, s, nil)
	// Enough writes for a catch-up through a watcher, and enough replaces
	// for a compaction.
	for i := range 1500 {
		put(t, s, fmt.Sprintf("p%d", i%300%7), fmt.Sprint(i%300), i)
	}
	want := make([]string, 300)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	slices.Sort(want)
	if got := ids(t, s, nil, "SELECT * FROM c"); !slices.Equal(got, want) {
		t.Fatalf("first query: %d ids", len(got))
	}
	for i := range 1500 {
		put(t, s, fmt.Sprintf("p%d", i%300%7), fmt.Sprint(i%300), 1500+i)
	}
	if got := ids(t, s, nil, "SELECT * FROM c"); !slices.Equal(got, want) {
		t.Fatalf("after replaces: %d ids", len(got))
	}
	if got := ids(t, s, nil, "SELECT * FROM c WHERE c.v < 1500"); len(got) != 0 {
		t.Fatalf("old versions: %d", len(got))
	}
	s.views.mu.Lock()
	v := s.views.m[firstKey(s.views.m)]
	s.views.mu.Unlock()
	if v == nil || len(v.all) > 2*len(v.byKey) {
		t.Fatalf("view not compacted: %d entries for %d documents", len(v.all), len(v.byKey))
	}
	if n := s.evictViews(time.Now()); n != 0 {
		t.Fatalf("evicted a view in use: %d", n)
	}
	if n := s.evictViews(time.Now().Add(viewIdle)); n != 1 {
		t.Fatalf("evicted %d views, want 1", n)
	}
	put(t, s, "p0", "new", 0)
	if got := ids(t, s, nil, "SELECT * FROM c"); len(got) != 301 || !slices.Contains(got, "new") {
		t.Fatalf("rebuilt: %d ids", len(got))
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.views.m) != 0 {
		t.Fatal("Stop kept the views")
	}
}

func firstKey[V any](m map[string]V) string {
	for k := range m {
		return k
	}
	return ""
}

// TestViewConcurrent runs queries while writes go on, for the race
// detector, and checks that each query sees every write acknowledged
// before it began.
func TestViewConcurrent(t *testing.T) {
	s := bare(t)
	viewContainer(t, s, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	wg.Go(func() {
		for i := range 300 {
			put(t, s, fmt.Sprintf("p%d", i%3), fmt.Sprint(i), i)
			mu.Lock()
			acked = i + 1
			mu.Unlock()
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 40 {
				mu.Lock()
				before := acked
				mu.Unlock()
				if got := ids(t, s, nil, "SELECT * FROM c"); len(got) < before {
					t.Errorf("query saw %d documents, %d acknowledged before it", len(got), before)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkViewMemory reports the heap a view takes per document of
// bench/docdb's shape (about 110 bytes of JSON each).
func BenchmarkViewMemory(b *testing.B) {
	const n = 20000
	s := benchContainer(b, n)
	ctx := context.Background()
	var perDoc float64
	for b.Loop() {
		s.releaseViews()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := s.Query(ctx, "localhost", "bench", "orders", QuerySpec{Query: "SELECT VALUE COUNT(1) FROM c"}, nil); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perDoc = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	}
	b.ReportMetric(perDoc, "B/doc")
}
