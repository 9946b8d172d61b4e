package filter

import (
	"encoding/json"
	"testing"
)

func benchFilter(t testing.TB) *Filter {
	return mustParse(t, `{
	  "includedEventTypes": ["Microsoft.Storage.BlobDeleted", "Microsoft.Storage.BlobCreated"],
	  "subjectBeginsWith": "/blobServices/default/containers/uploads/",
	  "subjectEndsWith": ".jpg",
	  "enableAdvancedFilteringOnArrays": true,
	  "advancedFilters": [
	    {"operatorType": "NumberGreaterThanOrEquals", "key": "data.size", "value": 5},
	    {"operatorType": "StringContains", "key": "data.name", "values": ["fabrikam", "azure"]},
	    {"operatorType": "NumberInRange", "key": "data.nested.a.b.n", "values": [[1, 10]]},
	    {"operatorType": "StringNotIn", "key": "data.strs", "values": ["delta", "epsilon"]},
	    {"operatorType": "IsNullOrUndefined", "key": "data.missing"}
	  ]
	}`)
}

// BenchmarkMatch: one event against one subscription filter with event
// types, subject prefix/suffix and five advanced filters.
func BenchmarkMatch(b *testing.B) {
	ev := mustEG(b, egEvent)
	f := benchFilter(b)
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(ev) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatch10Subscriptions: decode once, match against 10 filters, as a
// topic with 10 subscriptions does per published event.
func BenchmarkMatch10Subscriptions(b *testing.B) {
	raw := json.RawMessage(egEvent)
	filters := make([]*Filter, 10)
	for i := range filters {
		filters[i] = benchFilter(b)
	}
	b.ReportAllocs()
	for b.Loop() {
		ev, err := FromEventGrid(raw)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range filters {
			f.Match(ev)
		}
	}
}

func BenchmarkFromEventGrid(b *testing.B) {
	raw := json.RawMessage(egEvent)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromEventGrid(raw); err != nil {
			b.Fatal(err)
		}
	}
}
