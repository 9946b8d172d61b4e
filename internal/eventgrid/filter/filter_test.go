package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const egEvent = `{
  "id": "ev-1",
  "topic": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
  "subject": "/blobServices/default/containers/Uploads/blobs/Photo.JPG",
  "eventType": "Microsoft.Storage.BlobCreated",
  "eventTime": "2024-01-02T03:04:05Z",
  "dataVersion": "1.0",
  "metadataVersion": "1",
  "data": {
    "size": 1024, "ratio": 0.5, "zero": 0, "neg": -3,
    "name": "Contoso Azure Factory", "flag": true, "off": false, "nil": null,
    "numstr": "5", "Key1": "CaseKey",
    "nested": {"a": {"b": {"c": "deep", "n": 7}}},
    "nums": [1, 2, 3], "strs": ["alpha", "Beta", "gamma"], "bools": [false, true],
    "mixed": [1, "two", true, null], "empty": [], "objs": [{"x": 1}],
    "obj": {"x": 1}
  }
}`

const ceEvent = `{
  "specversion": "1.0",
  "type": "com.example.someevent",
  "source": "/mycontext",
  "id": "C234-1234-1234",
  "time": "2018-04-05T17:31:00Z",
  "subject": null,
  "comexampleextension1": "value",
  "comexampleothervalue": 5,
  "comexampleflag": true,
  "datacontenttype": "application/json",
  "data": {"appinfoA": "abc", "appinfoB": 123, "appinfoC": true}
}`

func mustEG(t testing.TB, raw string) *Event {
	t.Helper()
	ev, err := FromEventGrid(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func mustCE(t testing.TB, raw string) *Event {
	t.Helper()
	ev, err := FromCloudEvent(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func mustParse(t testing.TB, raw string) *Filter {
	t.Helper()
	f, err := Parse(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("Parse(%s): %v", raw, err)
	}
	return f
}

type advCase struct {
	name   string
	af     string // one advancedFilters element
	arrays bool
	want   bool
}

func runAdv(t *testing.T, ev *Event, cases []advCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := fmt.Sprintf(`{"enableAdvancedFilteringOnArrays": %v, "advancedFilters": [%s]}`, tc.arrays, tc.af)
			f := mustParse(t, raw)
			if got := f.Match(ev); got != tc.want {
				t.Errorf("Match = %v, want %v\nfilter: %s", got, tc.want, raw)
			}
			// The unprepared path must agree with the prepared one.
			g := *f
			g.prepared = nil
			if got := g.Match(ev); got != tc.want {
				t.Errorf("unprepared Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func af(op, key, vals string) string {
	switch {
	case vals == "":
		return fmt.Sprintf(`{"operatorType":%q,"key":%q}`, op, key)
	case strings.HasPrefix(vals, "["):
		return fmt.Sprintf(`{"operatorType":%q,"key":%q,"values":%s}`, op, key, vals)
	default:
		return fmt.Sprintf(`{"operatorType":%q,"key":%q,"value":%s}`, op, key, vals)
	}
}

func TestNumberOperators(t *testing.T) {
	ev := mustEG(t, egEvent)
	runAdv(t, ev, []advCase{
		{"In hit", af(NumberIn, "data.size", `[5, 1024]`), false, true},
		{"In miss", af(NumberIn, "data.size", `[5, 1]`), false, false},
		{"In float", af(NumberIn, "data.ratio", `[0.5]`), false, true},
		{"In zero", af(NumberIn, "data.zero", `[0]`), false, true},
		{"NotIn hit", af(NumberNotIn, "data.size", `[41, 0]`), false, true},
		{"NotIn miss", af(NumberNotIn, "data.size", `[1024]`), false, false},
		{"LessThan true", af(NumberLessThan, "data.size", `2000`), false, true},
		{"LessThan equal", af(NumberLessThan, "data.size", `1024`), false, false},
		{"LessThan negative", af(NumberLessThan, "data.neg", `0`), false, true},
		{"GreaterThan true", af(NumberGreaterThan, "data.size", `20`), false, true},
		{"GreaterThan equal", af(NumberGreaterThan, "data.size", `1024`), false, false},
		{"LessThanOrEquals equal", af(NumberLessThanOrEquals, "data.size", `1024`), false, true},
		{"LessThanOrEquals false", af(NumberLessThanOrEquals, "data.size", `1023.5`), false, false},
		{"GreaterThanOrEquals equal", af(NumberGreaterThanOrEquals, "data.size", `1024`), false, true},
		{"GreaterThanOrEquals false", af(NumberGreaterThanOrEquals, "data.size", `1024.01`), false, false},
		{"InRange inside", af(NumberInRange, "data.size", `[[3.14159, 999.95], [1000, 4000]]`), false, true},
		{"InRange bounds inclusive low", af(NumberInRange, "data.size", `[[1024, 2000]]`), false, true},
		{"InRange bounds inclusive high", af(NumberInRange, "data.size", `[[0, 1024]]`), false, true},
		{"InRange outside", af(NumberInRange, "data.size", `[[3.14159, 999.95], [3000, 4000]]`), false, false},
		{"NotInRange outside", af(NumberNotInRange, "data.size", `[[3.14159, 999.95], [3000, 4000]]`), false, true},
		{"NotInRange inside", af(NumberNotInRange, "data.size", `[[1000, 2000]]`), false, false},
		{"nested number", af(NumberGreaterThan, "data.nested.a.b.n", `6`), false, true},
	})
}

func TestBoolOperator(t *testing.T) {
	ev := mustEG(t, egEvent)
	runAdv(t, ev, []advCase{
		{"true==true", af(BoolEquals, "data.flag", `true`), false, true},
		{"true==false", af(BoolEquals, "data.flag", `false`), false, false},
		{"false==false", af(BoolEquals, "data.off", `false`), false, true},
		{"string is not bool", af(BoolEquals, "data.name", `true`), false, false},
		{"missing", af(BoolEquals, "data.nope", `false`), false, false},
	})
}

func TestStringOperators(t *testing.T) {
	ev := mustEG(t, egEvent)
	runAdv(t, ev, []advCase{
		{"Contains", af(StringContains, "data.name", `["microsoft", "azure"]`), false, true},
		{"Contains case-insensitive", af(StringContains, "data.name", `["AZURE FAC"]`), false, true},
		{"Contains miss", af(StringContains, "data.name", `["aws"]`), false, false},
		{"NotContains hit", af(StringNotContains, "data.name", `["fabrikam", "aws"]`), false, true},
		{"NotContains miss (one value contained)", af(StringNotContains, "data.name", `["fabrikam", "CONTOSO"]`), false, false},
		{"BeginsWith", af(StringBeginsWith, "data.name", `["event", "contoso"]`), false, true},
		{"BeginsWith miss", af(StringBeginsWith, "data.name", `["azure"]`), false, false},
		{"NotBeginsWith", af(StringNotBeginsWith, "data.name", `["azure"]`), false, true},
		{"NotBeginsWith miss", af(StringNotBeginsWith, "data.name", `["CONT"]`), false, false},
		{"EndsWith", af(StringEndsWith, "subject", `["jpg", "png"]`), false, true},
		{"EndsWith miss", af(StringEndsWith, "subject", `["png"]`), false, false},
		{"NotEndsWith", af(StringNotEndsWith, "subject", `["png"]`), false, true},
		{"NotEndsWith miss", af(StringNotEndsWith, "subject", `[".Jpg"]`), false, false},
		{"In exact, any case", af(StringIn, "data.name", `["x", "contoso azure factory"]`), false, true},
		{"In is not substring", af(StringIn, "data.name", `["contoso"]`), false, false},
		{"NotIn hit", af(StringNotIn, "data.name", `["aws", "bridge"]`), false, true},
		{"NotIn miss", af(StringNotIn, "data.name", `["CONTOSO AZURE FACTORY"]`), false, false},
		{"nested string", af(StringIn, "data.nested.a.b.c", `["DEEP"]`), false, true},
		{"unicode fold", af(StringIn, "data.name", `["CONTOSO AZURE FACTORY"]`), false, true},
	})
}

func TestEnvelopeKeys(t *testing.T) {
	ev := mustEG(t, egEvent)
	runAdv(t, ev, []advCase{
		{"id", af(StringIn, "id", `["EV-1"]`), false, true},
		{"topic", af(StringEndsWith, "topic", `["/storageAccounts/acct"]`), false, true},
		{"subject", af(StringContains, "subject", `["/containers/uploads/"]`), false, true},
		{"eventType", af(StringIn, "eventType", `["microsoft.storage.blobcreated"]`), false, true},
		{"dataVersion", af(StringIn, "dataVersion", `["1.0"]`), false, true},
		{"key names are case-insensitive", af(StringIn, "EventType", `["Microsoft.Storage.BlobCreated"]`), false, true},
		{"Data.Key1 as in Azure's docs", af(StringIn, "Data.Key1", `["casekey"]`), false, true},
		{"data.key1 finds Key1", af(StringIn, "data.key1", `["casekey"]`), false, true},
		{"source is not an Event Grid key", af(IsNotNull, "source", ``), false, false},
	})
}

func TestCloudEventKeys(t *testing.T) {
	ev := mustCE(t, ceEvent)
	runAdv(t, ev, []advCase{
		{"id", af(StringIn, "id", `["c234-1234-1234"]`), false, true},
		{"source", af(StringBeginsWith, "source", `["/my"]`), false, true},
		{"type", af(StringIn, "type", `["com.example.someevent"]`), false, true},
		{"specversion", af(StringIn, "specversion", `["1.0"]`), false, true},
		{"string extension", af(StringIn, "comexampleextension1", `["VALUE"]`), false, true},
		// Azure's own example: a numeric extension attribute with StringBeginsWith.
		{"numeric extension, string operator", af(StringBeginsWith, "comexampleothervalue", `["5", "1"]`), false, true},
		{"numeric extension, number operator", af(NumberIn, "comexampleothervalue", `[5]`), false, true},
		{"bool extension, string operator", af(StringIn, "comexampleflag", `["TRUE"]`), false, true},
		{"bool extension, bool operator", af(BoolEquals, "comexampleflag", `true`), false, true},
		{"data string", af(StringIn, "data.appinfoA", `["ABC"]`), false, true},
		{"data number is not a string", af(StringIn, "data.appinfoB", `["123"]`), false, false},
		{"data number", af(NumberGreaterThan, "data.appinfoB", `100`), false, true},
		{"data bool", af(BoolEquals, "data.appinfoC", `true`), false, true},
		{"null subject is null", af(IsNullOrUndefined, "subject", ``), false, true},
		{"eventType is not a CloudEvents key", af(IsNotNull, "eventType", ``), false, false},
	})
}

// The Azure note: a missing key fails every operator except NumberNotIn and
// StringNotIn (and IsNullOrUndefined). Lapis also fails NumberNotInRange,
// which that note does not list, and treats JSON null like a missing key.
func TestMissingAndNullKeys(t *testing.T) {
	ev := mustEG(t, egEvent)
	ops := []struct {
		op, vals string
		want     bool
	}{
		{NumberIn, `[1]`, false},
		{NumberNotIn, `[1]`, true},
		{NumberLessThan, `1`, false},
		{NumberGreaterThan, `1`, false},
		{NumberLessThanOrEquals, `1`, false},
		{NumberGreaterThanOrEquals, `1`, false},
		{NumberInRange, `[[0, 1]]`, false},
		{NumberNotInRange, `[[0, 1]]`, false},
		{BoolEquals, `false`, false},
		{StringContains, `["a"]`, false},
		{StringNotContains, `["a"]`, false},
		{StringBeginsWith, `["a"]`, false},
		{StringNotBeginsWith, `["a"]`, false},
		{StringEndsWith, `["a"]`, false},
		{StringNotEndsWith, `["a"]`, false},
		{StringIn, `["a"]`, false},
		{StringNotIn, `["a"]`, true},
		{IsNullOrUndefined, ``, true},
		{IsNotNull, ``, false},
	}
	var cases []advCase
	for _, key := range []string{"data.missing", "data.nil", "data.nested.a.x", "data.name.below", "nope"} {
		for _, o := range ops {
			for _, arrays := range []bool{false, true} {
				cases = append(cases, advCase{fmt.Sprintf("%s/%s/arrays=%v", key, o.op, arrays), af(o.op, key, o.vals), arrays, o.want})
			}
		}
	}
	runAdv(t, ev, cases)
}

// A present value of the wrong type never matches, positive or negative
// operator; IsNotNull holds for any non-null value.
func TestTypeMismatch(t *testing.T) {
	ev := mustEG(t, egEvent)
	runAdv(t, ev, []advCase{
		{"string for NumberIn", af(NumberIn, "data.numstr", `[5]`), false, false},
		{"string for NumberNotIn", af(NumberNotIn, "data.numstr", `[6]`), false, false},
		{"string for NumberGreaterThan", af(NumberGreaterThan, "data.name", `0`), false, false},
		{"string for NumberNotInRange", af(NumberNotInRange, "data.name", `[[0, 1]]`), false, false},
		{"bool for NumberIn", af(NumberIn, "data.flag", `[1]`), false, false},
		{"number for StringIn", af(StringIn, "data.size", `["1024"]`), false, false},
		{"number for StringNotIn", af(StringNotIn, "data.size", `["x"]`), false, false},
		{"number for StringNotContains", af(StringNotContains, "data.size", `["x"]`), false, false},
		{"bool for StringIn", af(StringIn, "data.flag", `["true"]`), false, false},
		{"number for BoolEquals", af(BoolEquals, "data.zero", `false`), false, false},
		{"object for StringNotIn", af(StringNotIn, "data.obj", `["x"]`), false, false},
		{"object for NumberNotIn", af(NumberNotIn, "data.nested", `[1]`), false, false},
		{"object IsNotNull", af(IsNotNull, "data.obj", ``), false, true},
		{"object IsNullOrUndefined", af(IsNullOrUndefined, "data.obj", ``), false, false},
		{"string IsNotNull", af(IsNotNull, "data.name", ``), false, true},
		{"false IsNotNull", af(IsNotNull, "data.off", ``), false, true},
		{"zero IsNullOrUndefined", af(IsNullOrUndefined, "data.zero", ``), false, false},
	})
}

func TestArrays(t *testing.T) {
	ev := mustEG(t, egEvent)
	runAdv(t, ev, []advCase{
		// Flag off: an array value matches no value operator, positive or negative.
		{"off NumberIn", af(NumberIn, "data.nums", `[2]`), false, false},
		{"off NumberNotIn", af(NumberNotIn, "data.nums", `[9]`), false, false},
		{"off StringIn", af(StringIn, "data.strs", `["alpha"]`), false, false},
		{"off StringNotIn", af(StringNotIn, "data.strs", `["zeta"]`), false, false},
		{"off BoolEquals", af(BoolEquals, "data.bools", `true`), false, false},
		{"off IsNotNull", af(IsNotNull, "data.nums", ``), false, true},
		{"off IsNullOrUndefined", af(IsNullOrUndefined, "data.nums", ``), false, false},
		{"off empty IsNotNull", af(IsNotNull, "data.empty", ``), false, true},

		// Flag on, positive operators: any element.
		{"on NumberIn", af(NumberIn, "data.nums", `[2]`), true, true},
		{"on NumberIn miss", af(NumberIn, "data.nums", `[9]`), true, false},
		{"on NumberGreaterThan some", af(NumberGreaterThan, "data.nums", `2`), true, true},
		{"on NumberGreaterThan none", af(NumberGreaterThan, "data.nums", `3`), true, false},
		{"on NumberLessThan", af(NumberLessThan, "data.nums", `2`), true, true},
		{"on NumberLessThanOrEquals", af(NumberLessThanOrEquals, "data.nums", `1`), true, true},
		{"on NumberGreaterThanOrEquals", af(NumberGreaterThanOrEquals, "data.nums", `3`), true, true},
		{"on NumberInRange", af(NumberInRange, "data.nums", `[[2.5, 10]]`), true, true},
		{"on NumberInRange miss", af(NumberInRange, "data.nums", `[[4, 10]]`), true, false},
		{"on BoolEquals", af(BoolEquals, "data.bools", `true`), true, true},
		{"on StringIn", af(StringIn, "data.strs", `["BETA"]`), true, true},
		{"on StringContains", af(StringContains, "data.strs", `["amm"]`), true, true},
		{"on StringBeginsWith", af(StringBeginsWith, "data.strs", `["gam"]`), true, true},
		{"on StringEndsWith", af(StringEndsWith, "data.strs", `["TA"]`), true, true},
		{"on StringIn miss", af(StringIn, "data.strs", `["delta"]`), true, false},

		// Flag on, negative operators: every element must satisfy.
		{"on NumberNotIn all", af(NumberNotIn, "data.nums", `[9, 0]`), true, true},
		{"on NumberNotIn one hit", af(NumberNotIn, "data.nums", `[3]`), true, false},
		{"on NumberNotInRange all", af(NumberNotInRange, "data.nums", `[[4, 9]]`), true, true},
		{"on NumberNotInRange one hit", af(NumberNotInRange, "data.nums", `[[3, 9]]`), true, false},
		{"on StringNotIn all", af(StringNotIn, "data.strs", `["delta"]`), true, true},
		{"on StringNotIn one hit", af(StringNotIn, "data.strs", `["GAMMA"]`), true, false},
		{"on StringNotContains all", af(StringNotContains, "data.strs", `["zz"]`), true, true},
		{"on StringNotContains one hit", af(StringNotContains, "data.strs", `["ph"]`), true, false},
		{"on StringNotBeginsWith all", af(StringNotBeginsWith, "data.strs", `["z"]`), true, true},
		{"on StringNotBeginsWith one hit", af(StringNotBeginsWith, "data.strs", `["b"]`), true, false},
		{"on StringNotEndsWith all", af(StringNotEndsWith, "data.strs", `["z"]`), true, true},
		{"on StringNotEndsWith one hit", af(StringNotEndsWith, "data.strs", `["A"]`), true, false},

		// Mixed arrays: elements of another type are ignored.
		{"on mixed NumberIn", af(NumberIn, "data.mixed", `[1]`), true, true},
		{"on mixed StringIn", af(StringIn, "data.mixed", `["TWO"]`), true, true},
		{"on mixed BoolEquals", af(BoolEquals, "data.mixed", `true`), true, true},
		{"on mixed NumberNotIn ignores strings", af(NumberNotIn, "data.mixed", `[2]`), true, true},
		{"on mixed StringNotIn ignores numbers", af(StringNotIn, "data.mixed", `["1"]`), true, true},
		{"on strings-only NumberNotIn: nothing comparable", af(NumberNotIn, "data.strs", `[1]`), true, false},
		{"on empty positive", af(NumberIn, "data.empty", `[1]`), true, false},
		{"on empty negative", af(StringNotIn, "data.empty", `["a"]`), true, false},
		{"on empty IsNotNull", af(IsNotNull, "data.empty", ``), true, true},
		{"on array of objects", af(NumberIn, "data.objs", `[1]`), true, false},
		{"on key through array of objects", af(NumberIn, "data.objs.x", `[1]`), true, false},
	})
}

func TestOrAndSemantics(t *testing.T) {
	ev := mustEG(t, egEvent)
	f := mustParse(t, `{"advancedFilters":[
		{"operatorType":"StringContains","key":"subject","values":["/providers/microsoft.devtestlab/","/containers/uploads/"]},
		{"operatorType":"NumberGreaterThan","key":"data.size","value":1000}]}`)
	if !f.Match(ev) {
		t.Fatal("OR within a filter, AND across filters: want match")
	}
	f = mustParse(t, `{"advancedFilters":[
		{"operatorType":"StringContains","key":"subject","values":["/containers/uploads/"]},
		{"operatorType":"StringContains","key":"subject","values":["/providers/Microsoft.Compute/"]}]}`)
	if f.Match(ev) {
		t.Fatal("two filters on the same key are ANDed: want no match")
	}
}

func TestEventTypesAndSubject(t *testing.T) {
	ev := mustEG(t, egEvent)
	cases := []struct {
		name, filter string
		want         bool
	}{
		{"empty filter", `{}`, true},
		{"null filter", `null`, true},
		{"types empty list", `{"includedEventTypes":[]}`, true},
		{"types hit", `{"includedEventTypes":["Microsoft.Storage.BlobDeleted","Microsoft.Storage.BlobCreated"]}`, true},
		{"types case-insensitive", `{"includedEventTypes":["microsoft.storage.BLOBCREATED"]}`, true},
		{"types miss", `{"includedEventTypes":["Microsoft.Storage.BlobDeleted"]}`, false},
		{"types All", `{"includedEventTypes":["All"]}`, true},
		{"begins", `{"subjectBeginsWith":"/blobServices/default/containers/Uploads/"}`, true},
		{"begins case-insensitive by default", `{"subjectBeginsWith":"/BLOBSERVICES/default/containers/uploads/"}`, true},
		{"begins case-sensitive miss", `{"subjectBeginsWith":"/blobServices/default/containers/uploads/","isSubjectCaseSensitive":true}`, false},
		{"begins case-sensitive hit", `{"subjectBeginsWith":"/blobServices/default/containers/Uploads/","isSubjectCaseSensitive":true}`, true},
		{"ends", `{"subjectEndsWith":".jpg"}`, true},
		{"ends case-sensitive miss", `{"subjectEndsWith":".jpg","isSubjectCaseSensitive":true}`, false},
		{"ends case-sensitive hit", `{"subjectEndsWith":".JPG","isSubjectCaseSensitive":true}`, true},
		{"ends miss", `{"subjectEndsWith":".png"}`, false},
		{"both", `{"subjectBeginsWith":"/blobServices/","subjectEndsWith":".jpg"}`, true},
		{"both, one misses", `{"subjectBeginsWith":"/tableServices/","subjectEndsWith":".jpg"}`, false},
		{"all three", `{"includedEventTypes":["Microsoft.Storage.BlobCreated"],"subjectEndsWith":"jpg","advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.size","value":5}]}`, true},
		{"advanced fails", `{"includedEventTypes":["Microsoft.Storage.BlobCreated"],"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.size","value":5}]}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.filter).Match(ev); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}

	noSubject := mustEG(t, `{"id":"1","eventType":"T","data":{}}`)
	if !mustParse(t, `{"includedEventTypes":["t"]}`).Match(noSubject) {
		t.Error("an event without subject passes a filter without subject rules")
	}
	if mustParse(t, `{"subjectBeginsWith":"/a"}`).Match(noSubject) {
		t.Error("an event without subject fails subjectBeginsWith")
	}
	noType := mustEG(t, `{"id":"1","subject":"/a"}`)
	if mustParse(t, `{"includedEventTypes":["t"]}`).Match(noType) {
		t.Error("an event without eventType fails includedEventTypes")
	}

	ce := mustCE(t, `{"specversion":"1.0","id":"1","source":"/s","type":"Com.Example.Created","subject":"orders/42.json"}`)
	if !mustParse(t, `{"includedEventTypes":["com.example.created"],"subjectBeginsWith":"ORDERS/","subjectEndsWith":".json"}`).Match(ce) {
		t.Error("CloudEvents: includedEventTypes applies to type, subject filters to subject")
	}
}

func TestNilAndGoBuiltFilters(t *testing.T) {
	ev := mustEG(t, egEvent)
	var nilF *Filter
	if !nilF.Match(ev) {
		t.Error("nil filter matches everything")
	}
	if (&Filter{}).Match(nil) {
		t.Error("nil event matches nothing")
	}
	f := &Filter{AdvancedFilters: []AdvancedFilter{
		{OperatorType: NumberIn, Key: "data.size", Values: []any{5, int64(1024)}},
		{OperatorType: NumberInRange, Key: "data.size", Values: []any{[]any{1, 2000.0}}},
		{OperatorType: BoolEquals, Key: "data.flag", Value: true},
	}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if !f.Match(ev) {
		t.Error("unprepared Go-built filter")
	}
	f.Prepare()
	if !f.Match(ev) {
		t.Error("prepared Go-built filter")
	}
	// An invalid advanced filter never matches.
	bad := &Filter{AdvancedFilters: []AdvancedFilter{{OperatorType: "NumberSortOf", Key: "data.size", Values: []any{1}}}}
	if bad.Match(ev) {
		t.Error("invalid operator matched")
	}
}

func TestValidate(t *testing.T) {
	many := func(n int, mk func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = mk(i)
		}
		return strings.Join(parts, ",")
	}
	cases := []struct {
		name, filter, field, msg string
	}{
		{"ok", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":["x"]}]}`, "", ""},
		{"ok 25 filters", `{"advancedFilters":[` + many(25, func(i int) string { return `{"operatorType":"IsNotNull","key":"data.a"}` }) + `]}`, "", ""},
		{"26 filters", `{"advancedFilters":[` + many(26, func(i int) string { return `{"operatorType":"IsNotNull","key":"data.a"}` }) + `]}`, "advancedFilters", "at most 25 advanced filters"},
		{"26 values in one filter", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":[` + many(26, func(i int) string { return `"v"` }) + `]}]}`, "advancedFilters[0].values", "at most 25 values"},
		{"26 values across filters", `{"advancedFilters":[` +
			`{"operatorType":"StringIn","key":"data.a","values":[` + many(20, func(i int) string { return `"v"` }) + `]},` +
			`{"operatorType":"NumberGreaterThan","key":"data.b","value":1},` +
			`{"operatorType":"NumberIn","key":"data.c","values":[1,2,3,4,5]}]}`, "advancedFilters[2].values", "at most 25 filter values across all advanced filters"},
		{"25 values across filters ok", `{"advancedFilters":[` +
			`{"operatorType":"StringIn","key":"data.a","values":[` + many(20, func(i int) string { return `"v"` }) + `]},` +
			`{"operatorType":"NumberInRange","key":"data.c","values":[[1,2],[3,4],[5,6],[7,8],[9,10]]}]}`, "", ""},
		{"string too long", `{"advancedFilters":[{"operatorType":"StringContains","key":"data.a","values":["x","` + strings.Repeat("é", 513) + `"]}]}`, "advancedFilters[0].values[1]", "at most 512 characters per string value (got 513)"},
		{"string 512 ok", `{"advancedFilters":[{"operatorType":"StringContains","key":"data.a","values":["` + strings.Repeat("a", 512) + `"]}]}`, "", ""},
		{"unknown operator", `{"advancedFilters":[{"operatorType":"NumberAbout","key":"data.a","value":1}]}`, "advancedFilters[0].operatorType", "unknown operator type"},
		{"missing operator", `{"advancedFilters":[{"key":"data.a","value":1}]}`, "advancedFilters[0].operatorType", "required"},
		{"missing key", `{"advancedFilters":[{"operatorType":"NumberLessThan","value":1}]}`, "advancedFilters[0].key", "required"},
		{"empty key segment", `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data..a","value":1}]}`, "advancedFilters[0].key", "empty segment"},
		{"key too deep", `{"advancedFilters":[{"operatorType":"IsNotNull","key":"data` + strings.Repeat(".a", 16) + `"}]}`, "advancedFilters[0].key", "at most 16"},
		{"single op without value", `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.a"}]}`, "advancedFilters[0].value", "required"},
		{"single op with values", `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.a","values":[1]}]}`, "advancedFilters[0].values", "single value"},
		{"number op string value", `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.a","value":"5"}]}`, "advancedFilters[0].value", "must be a number"},
		{"bool op number value", `{"advancedFilters":[{"operatorType":"BoolEquals","key":"data.a","value":1}]}`, "advancedFilters[0].value", "must be a boolean"},
		{"multi op with value", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","value":"x"}]}`, "advancedFilters[0].value", "takes values"},
		{"multi op no values", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":[]}]}`, "advancedFilters[0].values", "at least one"},
		{"string op number value", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":["x",5]}]}`, "advancedFilters[0].values[1]", "must be a string"},
		{"number op string values", `{"advancedFilters":[{"operatorType":"NumberIn","key":"data.a","values":["5"]}]}`, "advancedFilters[0].values[0]", "must be a number"},
		{"range not a pair", `{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.a","values":[[1,2,3]]}]}`, "advancedFilters[0].values[0]", "range"},
		{"range flat", `{"advancedFilters":[{"operatorType":"NumberNotInRange","key":"data.a","values":[1,2]}]}`, "advancedFilters[0].values[0]", "range"},
		{"range reversed", `{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.a","values":[[5,1]]}]}`, "advancedFilters[0].values[0]", "low must not exceed high"},
		{"null op with values", `{"advancedFilters":[{"operatorType":"IsNullOrUndefined","key":"data.a","values":["x"]}]}`, "advancedFilters[0].values", "takes no value"},
		{"empty event type", `{"includedEventTypes":["a",""]}`, "includedEventTypes[1]", "must not be empty"},
		{"operator case-insensitive", `{"advancedFilters":[{"operatorType":"stringin","key":"data.a","values":["x"]}]}`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(json.RawMessage(tc.filter))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want ValidationError, got %v", err)
			}
			if ve.Field != tc.field || !strings.Contains(ve.Message, tc.msg) {
				t.Fatalf("got %q, want field %q containing %q", err, tc.field, tc.msg)
			}
		})
	}
	if _, err := Parse(json.RawMessage(`{"advancedFilters": 5}`)); err == nil {
		t.Error("malformed JSON accepted")
	}
}

func TestFieldAndDecode(t *testing.T) {
	ev := mustEG(t, egEvent)
	if v, ok := ev.Field("data.size"); !ok || v != 1024.0 {
		t.Errorf("data.size = %v %v", v, ok)
	}
	if v, ok := ev.Field("data.nested.a.b.c"); !ok || v != "deep" {
		t.Errorf("nested = %v %v", v, ok)
	}
	if v, ok := ev.Field("data.nil"); !ok || v != nil {
		t.Errorf("null = %v %v", v, ok)
	}
	if _, ok := ev.Field("data.none"); ok {
		t.Error("missing key found")
	}
	if v, ok := ev.Field("data.nums"); !ok || len(v.([]any)) != 3 {
		t.Errorf("array = %v", v)
	}
	if v, ok := ev.Field("data.nested"); !ok || v.(map[string]any)["a"] == nil {
		t.Errorf("object = %v", v)
	}
	if ev.EventType() != "Microsoft.Storage.BlobCreated" || ev.Subject() == "" || ev.Schema() != SchemaEventGrid {
		t.Error("accessors")
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":1} {}`, `{`} {
		if _, err := FromEventGrid(json.RawMessage(bad)); err == nil {
			t.Errorf("FromEventGrid(%q) accepted", bad)
		}
	}
	m := FromMap(SchemaEventGrid, map[string]any{"eventType": "T", "data": map[string]any{"n": 3, "s": []any{"a"}}})
	f := mustParse(t, `{"includedEventTypes":["t"],"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"NumberIn","key":"data.n","values":[3]},{"operatorType":"StringIn","key":"data.s","values":["A"]}]}`)
	if !f.Match(m) {
		t.Error("FromMap event")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	raw := `{"includedEventTypes":["A"],"subjectBeginsWith":"/x","subjectEndsWith":".y","isSubjectCaseSensitive":true,"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"BoolEquals","key":"data.b","value":false},{"operatorType":"NumberInRange","key":"data.n","values":[[1,2]]},{"operatorType":"IsNotNull","key":"id"}]}`
	f := mustParse(t, raw)
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != raw {
		t.Errorf("round trip:\n got %s\nwant %s", out, raw)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	ev := mustEG(t, egEvent)
	f := benchFilter(t)
	if !f.Match(ev) {
		t.Fatal("bench filter should match")
	}
	if n := testing.AllocsPerRun(200, func() { f.Match(ev) }); n != 0 {
		t.Errorf("Match allocates %v times per call", n)
	}
}

func TestConcurrentMatch(t *testing.T) {
	ev := mustEG(t, egEvent)
	f := benchFilter(t)
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && f.Match(ev)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Match disagreed")
		}
	}
}

func TestMatchEnvelopeAgreesWithMatch(t *testing.T) {
	ev, err := FromEventGrid([]byte(`{"id":"1","eventType":"Orders.Created","subject":"/orders/Blue/1","data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		`{}`, `{"includedEventTypes":["orders.created"]}`, `{"includedEventTypes":["Other"]}`, `{"includedEventTypes":["All"]}`,
		`{"subjectBeginsWith":"/ORDERS/"}`, `{"subjectBeginsWith":"/ORDERS/","isSubjectCaseSensitive":true}`,
		`{"subjectEndsWith":"/1"}`, `{"subjectEndsWith":"/2"}`,
	} {
		f, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if !f.Simple() {
			t.Fatalf("%s: not simple", raw)
		}
		if got, want := f.MatchEnvelope(ev.EventType(), ev.Subject()), f.Match(ev); got != want {
			t.Errorf("%s: MatchEnvelope %v, Match %v", raw, got, want)
		}
	}
	f, _ := Parse([]byte(`{"advancedFilters":[{"operatorType":"IsNotNull","key":"data"}]}`))
	if f.Simple() {
		t.Error("a filter with advanced filters is Simple")
	}
}
