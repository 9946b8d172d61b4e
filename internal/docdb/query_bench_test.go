package docdb

import (
	"context"
	"fmt"
	"testing"
)

// benchContainer fills a container with n orders over 100 customers (the
// partition key), as bench/docdb does.
func benchContainer(b testing.TB, n int) *Service {
	b.Helper()
	s := bareTB(b)
	ctx := context.Background()
	if _, err := s.CreateDatabase(ctx, "localhost", "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateContainer(ctx, "localhost", "bench", ContainerSpec{ID: "orders",
		PartitionKey: PartitionKeyDefinition{Paths: []string{"/customerId"}}}); err != nil {
		b.Fatal(err)
	}
	statuses := []string{"new", "paid", "processed", "shipped"}
	for i := range n {
		doc := fmt.Sprintf(`{"id":"order-%06d","customerId":"customer-%03d","status":%q,"amount":%g,"items":%d}`,
			i, i%100, statuses[i%len(statuses)], float64(i%1000)/10, 1+i%7)
		if _, err := s.CreateItem(ctx, "localhost", "bench", "orders", nil, []byte(doc)); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkQuery measures the queries of bench/docdb through the Go API,
// without HTTP: where a query's time goes inside the service.
func BenchmarkQuery(b *testing.B) {
	const n = 20000
	s := benchContainer(b, n)
	ctx := context.Background()
	// The first query builds the container's view: measure it apart.
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s.releaseViews()
			b.StartTimer()
			if _, err := s.Query(ctx, "localhost", "bench", "orders", QuerySpec{Query: "SELECT VALUE COUNT(1) FROM c"}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		pk   PartitionKey
		text string
	}{
		{"single-partition", PartitionKey{"customer-042"}, "SELECT * FROM c WHERE c.status = 'processed' AND c.amount > 50"},
		{"cross-partition", nil, "SELECT * FROM c WHERE c.status = 'processed' AND c.amount > 99.5"},
		{"count", nil, "SELECT VALUE COUNT(1) FROM c WHERE c.status = 'processed' AND c.amount > 50"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				token := ""
				for {
					page, err := s.Query(ctx, "localhost", "bench", "orders", QuerySpec{Query: tc.text},
						&QueryOptions{PartitionKey: tc.pk, MaxItems: 1000, Continuation: token})
					if err != nil {
						b.Fatal(err)
					}
					if token = page.Continuation; token == "" {
						break
					}
				}
			}
		})
	}
}
