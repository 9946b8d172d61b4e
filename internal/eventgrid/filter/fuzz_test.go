package filter

import (
	"encoding/json"
	"testing"
)

var fuzzFilters = []string{
	`{}`,
	`null`,
	`{"includedEventTypes":["A","All"],"subjectBeginsWith":"/a","subjectEndsWith":"b","isSubjectCaseSensitive":true}`,
	`{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"NumberIn","key":"data.a","values":[1,2]},{"operatorType":"StringNotIn","key":"data.b","values":["x"]}]}`,
	`{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.a.b","values":[[1,2],[3,"x"],5]},{"operatorType":"BoolEquals","key":"id","value":{"x":1}}]}`,
	`{"advancedFilters":[{"operatorType":"IsNullOrUndefined","key":".."},{"operatorType":"StringContains","key":"subject","values":[""]}]}`,
	`{"advancedFilters":[{"operatorType":"numbergreaterthan","key":"Data.Key1","value":5}]}`,
}

var fuzzEvents = []string{
	egEvent,
	ceEvent,
	`{}`,
	`{"data":[1,2,{"a":null}],"subject":5,"eventType":["x"]}`,
	`{"data":{"a":{"b":[1e400,-1e400,"\u00e9",true]}},"subject":"\uFFFD\u212a"}`,
}

func FuzzMatch(f *testing.F) {
	for _, fl := range fuzzFilters {
		for _, ev := range fuzzEvents {
			f.Add(fl, ev, false)
			f.Add(fl, ev, true)
		}
	}
	f.Fuzz(func(t *testing.T, filterJSON, eventJSON string, cloud bool) {
		var flt Filter
		if err := json.Unmarshal([]byte(filterJSON), &flt); err != nil {
			return
		}
		_ = flt.Validate()
		var ev *Event
		var err error
		if cloud {
			ev, err = FromCloudEvent(json.RawMessage(eventJSON))
		} else {
			ev, err = FromEventGrid(json.RawMessage(eventJSON))
		}
		if err != nil {
			return
		}
		got := flt.Match(ev)
		// The unprepared path must agree with the prepared one.
		g := flt
		g.prepared = nil
		if g.Match(ev) != got {
			t.Fatalf("prepared and unprepared Match disagree")
		}
		for _, a := range flt.AdvancedFilters {
			_, _ = ev.Field(a.Key)
		}
		flt.EnableAdvancedFilteringOnArrays = !flt.EnableAdvancedFilteringOnArrays
		flt.Prepare()
		_ = flt.Match(ev)
	})
}

func FuzzParse(f *testing.F) {
	for _, fl := range fuzzFilters {
		f.Add(fl)
	}
	ev, err := FromEventGrid(json.RawMessage(egEvent))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		flt, err := Parse(json.RawMessage(raw))
		if err != nil {
			return
		}
		_ = flt.Match(ev)
		out, err := json.Marshal(flt)
		if err != nil {
			t.Fatalf("marshal a parsed filter: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse %s (from %s): %v", out, raw, err)
		}
		if again.Match(ev) != flt.Match(ev) {
			t.Fatalf("round trip changed the result: %s", out)
		}
	})
}
