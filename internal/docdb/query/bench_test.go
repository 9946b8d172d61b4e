package query

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchDocs generates n order-like documents, decoded-JSON shaped.
func benchDocs(n int) []map[string]any {
	r := rand.New(rand.NewPCG(1, 2))
	statuses := []string{"processed", "pending", "failed"}
	docs := make([]map[string]any, n)
	for i := range docs {
		docs[i] = map[string]any{
			"id":         fmt.Sprintf("order-%06d", i),
			"customerId": fmt.Sprintf("cust-%03d", r.IntN(500)),
			"status":     statuses[r.IntN(len(statuses))],
			"amount":     float64(r.IntN(10000)) / 100,
			"items": []any{
				map[string]any{"sku": fmt.Sprintf("sku-%d", r.IntN(50)), "qty": float64(1 + r.IntN(5))},
			},
			"address": map[string]any{"city": "Oslo", "zip": fmt.Sprintf("%04d", r.IntN(10000))},
		}
	}
	return docs
}

func benchRun(b *testing.B, text string) {
	docs := benchDocs(100_000)
	q, err := Parse(text)
	if err != nil {
		b.Fatal(err)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		res, err := q.Run(slices.Values(docs), nil)
		if err != nil {
			b.Fatal(err)
		}
		n = len(res)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(docs)), "ns/doc")
	b.ReportMetric(float64(n), "results")
}

// BenchmarkFilter is the service's common case: a filtered SELECT * over
// 100,000 documents.
func BenchmarkFilter(b *testing.B) {
	benchRun(b, `SELECT * FROM c WHERE c.status = 'processed' AND c.amount > 50`)
}

func BenchmarkProjection(b *testing.B) {
	benchRun(b, `SELECT c.id, c.amount FROM c WHERE c.status = 'processed' AND c.amount > 50`)
}

func BenchmarkOrderByTop(b *testing.B) {
	benchRun(b, `SELECT TOP 10 * FROM c WHERE c.status = 'processed' ORDER BY c.amount DESC`)
}

func BenchmarkAggregate(b *testing.B) {
	benchRun(b, `SELECT VALUE SUM(c.amount) FROM c WHERE c.status = 'processed'`)
}

func BenchmarkFunctionsAndJoin(b *testing.B) {
	benchRun(b, `SELECT VALUE c.id FROM c JOIN i IN c.items WHERE STARTSWITH(c.customerId, 'cust-1') AND i.qty >= 3`)
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(`SELECT c.id, c.amount FROM c JOIN i IN c.items WHERE c.status = @s AND (c.amount > 50 OR ARRAY_CONTAINS(c.tags, 'x')) ORDER BY c.amount DESC OFFSET 10 LIMIT 20`); err != nil {
			b.Fatal(err)
		}
	}
}
