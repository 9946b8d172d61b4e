package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testDocs are the documents every table test runs over: nested objects,
// arrays, missing properties, nulls and properties whose type varies.
const testDocs = `[
{"id":"1","name":"Alice","age":30,"status":"active","amount":120.5,"tags":["a","b"],
 "address":{"city":"Oslo","zip":"0150"},"items":[{"sku":"x","qty":2},{"sku":"y","qty":1}],"customerId":"c1","active":true},
{"id":"2","name":"Bob","age":25,"status":"inactive","amount":40,"tags":["b"],"address":{"city":"Bergen"},
 "items":[{"sku":"x","qty":5}],"customerId":"c2","active":false},
{"id":"3","name":"carol","age":"35","status":"active","amount":75,"tags":[],"address":null,"customerId":"c1","active":true},
{"id":"4","name":"Dave","status":"pending","amount":null,"tags":["c","a","b"],"address":{"city":"Oslo","zip":"0151"},
 "items":[],"customerId":"c3"},
{"id":"5","name":"Eve","age":41,"status":"active","amount":300,"address":{"city":"Trondheim","geo":{"lat":63.4}},
 "items":[{"sku":"z","qty":3},{"sku":"x","qty":1}],"customerId":"c2","active":true},
{"id":"6","age":null,"status":"inactive","amount":10,"tags":"not-an-array","customerId":"c4","active":"yes"},
{"id":"7","name":"Frank","age":29,"status":"active","amount":50,"tags":["a"],"nested":{"deep":{"value":7}},"customerId":"c1","active":false},
{"id":"8","name":"Grace","age":52,"amount":"90","tags":["d"],"address":{"city":"oslo"},"customerId":"c5","active":true},
{"id":"9","name":"Heidi","age":33.5,"status":"active","amount":60,"tags":["b","e"],"score":[1,2],"customerId":"c3"},
{"id":"10","name":"Ivan","age":25,"status":"inactive","amount":0,"tags":["a","b"],"address":{"city":"Bergen","zip":"5003"},
 "items":[{"sku":"y","qty":4}],"customerId":"c5","active":null}
]`

func loadDocs(t testing.TB) []map[string]any {
	t.Helper()
	var docs []map[string]any
	if err := json.Unmarshal([]byte(testDocs), &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}

// docByID returns the JSON of one test document, for expected results.
func docByID(t testing.TB, id string) string {
	for _, d := range loadDocs(t) {
		if d["id"] == id {
			b, _ := json.Marshal(d)
			return string(b)
		}
	}
	t.Fatalf("no document %s", id)
	return ""
}

// checkJSON fails unless got and want (JSON text) are the same JSON.
func checkJSON(t *testing.T, got any, want string) {
	t.Helper()
	checkDefined(t, got)
	data, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("results do not encode: %v", err)
	}
	var g, w any
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", data, want)
	}
}

// checkDefined fails if undefined leaked into a result.
func checkDefined(t testing.TB, v any) {
	t.Helper()
	switch x := v.(type) {
	case undefinedValue:
		t.Fatal("undefined leaked into the results")
	case []any:
		for _, e := range x {
			checkDefined(t, e)
		}
	case map[string]any:
		for _, e := range x {
			checkDefined(t, e)
		}
	}
}

func ids(list ...string) string {
	b, _ := json.Marshal(list)
	return string(b)
}

type runCase struct {
	name   string
	query  string
	params map[string]any
	want   string // JSON array
}

func runCases(t testing.TB) []runCase {
	return []runCase{
		// SELECT and projections.
		{"star", `SELECT * FROM c WHERE c.id = '6'`, nil, "[" + docByID(t, "6") + "]"},
		{"star with root", `SELECT * FROM root r WHERE r.id = "6"`, nil, "[" + docByID(t, "6") + "]"},
		{"value ids", `SELECT VALUE c.id FROM c`, nil, ids("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")},
		{"list omits undefined", `SELECT c.id, c.name FROM c WHERE c.status = 'inactive'`, nil,
			`[{"id":"2","name":"Bob"},{"id":"6"},{"id":"10","name":"Ivan"}]`},
		{"alias and nested implicit name", `SELECT c.id AS ident, c.address.city FROM c WHERE c.customerId = 'c1'`, nil,
			`[{"ident":"1","city":"Oslo"},{"ident":"3"},{"ident":"7"}]`},
		{"implicit $n names", `SELECT c.id, c.age + 1, UPPER(c.name) FROM c WHERE c.id IN ('1', '6')`, nil,
			`[{"id":"1","$1":31,"$2":"ALICE"},{"id":"6"}]`},
		{"bracket name and index", `SELECT c["id"], c.tags[0] FROM c WHERE c.id = '4'`, nil, `[{"id":"4","$1":"c"}]`},
		{"alias itself", `SELECT c FROM c WHERE c.id = '6'`, nil, `[{"c":` + docByID(t, "6") + `}]`},
		{"all undefined gives empty object", `SELECT c.missing FROM c WHERE c.id = '1'`, nil, `[{}]`},
		{"value undefined gives nothing", `SELECT VALUE c.missing FROM c`, nil, `[]`},
		{"object literal", `SELECT VALUE {"id": c.id, city: c.address.city} FROM c WHERE c.id IN ('2', '3')`, nil,
			`[{"id":"2","city":"Bergen"},{"id":"3"}]`},
		{"array literal drops undefined", `SELECT VALUE [c.id, c.missing, 1] FROM c WHERE c.id = '1'`, nil, `[["1",1]]`},
		{"no FROM", `SELECT "a", "b"`, nil, `[{"$1":"a","$2":"b"}]`},
		{"no FROM value", `SELECT VALUE 1 + 2`, nil, `[3]`},
		{"no FROM with WHERE", `SELECT VALUE 'x' WHERE 1 = 1`, nil, `["x"]`},
		{"no FROM with false WHERE", `SELECT VALUE 'x' WHERE false`, nil, `[]`},
		{"object property of literal", `SELECT VALUE {"q": 5}.q`, nil, `[5]`},
		{"keyword property after dot", `SELECT VALUE c.nested.deep.value FROM c`, nil, `[7]`},
		{"array index then property", `SELECT VALUE c.items[1].sku FROM c`, nil, `["y","x"]`},
		{"index out of range", `SELECT VALUE c.score[5] FROM c`, nil, `[]`},
		{"computed index", `SELECT VALUE c.score[0 + 1] FROM c WHERE c.id = '9'`, nil, `[2]`},
		{"bracket property", `SELECT VALUE c.address["city"] FROM c WHERE c.id = '5'`, nil, `["Trondheim"]`},
		{"value AS ignored", `SELECT VALUE c.id AS x FROM c WHERE c.id = '2'`, nil, `["2"]`},

		// FROM and JOIN.
		{"FROM path", `SELECT * FROM c.address a WHERE a.city = 'Oslo'`, nil,
			`[{"city":"Oslo","zip":"0150"},{"city":"Oslo","zip":"0151"}]`},
		{"FROM path default alias", `SELECT VALUE city FROM c.address.city`, nil,
			`["Oslo","Bergen","Oslo","Trondheim","oslo","Bergen"]`},
		{"FROM IN", `SELECT VALUE t FROM t IN c.tags`, nil,
			`["a","b","b","c","a","b","a","d","b","e","a","b"]`},
		{"FROM IN objects", `SELECT VALUE i.sku FROM i IN c.items`, nil, `["x","y","x","z","x","y"]`},
		{"join", `SELECT c.id, t AS tag FROM c JOIN t IN c.tags WHERE c.customerId = 'c1'`, nil,
			`[{"id":"1","tag":"a"},{"id":"1","tag":"b"},{"id":"7","tag":"a"}]`},
		{"double join", `SELECT c.id, t AS tag, i.sku FROM c JOIN t IN c.tags JOIN i IN c.items WHERE c.id IN ('1', '10')`, nil,
			`[{"id":"1","tag":"a","sku":"x"},{"id":"1","tag":"a","sku":"y"},{"id":"1","tag":"b","sku":"x"},
			  {"id":"1","tag":"b","sku":"y"},{"id":"10","tag":"a","sku":"y"},{"id":"10","tag":"b","sku":"y"}]`},
		{"join filter on element", `SELECT VALUE c.id FROM c JOIN i IN c.items WHERE i.qty >= 3`, nil, ids("2", "5", "10")},
		{"join element value", `SELECT VALUE i FROM c JOIN i IN c.items WHERE c.id = '2'`, nil, `[{"sku":"x","qty":5}]`},
		{"join count", `SELECT VALUE COUNT(1) FROM c JOIN t IN c.tags WHERE t = 'b'`, nil, `[5]`},
		{"join path without IN", `SELECT VALUE a.city FROM c JOIN c.address a WHERE c.id IN ('1', '3', '6')`, nil, `["Oslo"]`},

		// WHERE: comparisons and undefined.
		{"greater than skips other types", `SELECT VALUE c.id FROM c WHERE c.age > 30`, nil, ids("5", "8", "9")},
		{"less or equal", `SELECT VALUE c.id FROM c WHERE c.age <= 25`, nil, ids("2", "10")},
		{"not equal", `SELECT VALUE c.id FROM c WHERE c.age != 25`, nil, ids("1", "5", "7", "8", "9")},
		{"not equal <>", `SELECT VALUE c.id FROM c WHERE c.age <> 25`, nil, ids("1", "5", "7", "8", "9")},
		{"string less than is ordinal", `SELECT VALUE c.id FROM c WHERE c.name < 'C'`, nil, ids("1", "2")},
		{"string equality", `SELECT VALUE c.id FROM c WHERE c.age = '35'`, nil, ids("3")},
		{"equals null", `SELECT VALUE c.id FROM c WHERE c.amount = null`, nil, ids("4")},
		{"equals true", `SELECT VALUE c.id FROM c WHERE c.active = true`, nil, ids("1", "3", "5", "8")},
		{"bare boolean", `SELECT VALUE c.id FROM c WHERE c.active`, nil, ids("1", "3", "5", "8")},
		{"NOT boolean", `SELECT VALUE c.id FROM c WHERE NOT c.active`, nil, ids("2", "7")},
		{"NOT comparison", `SELECT VALUE c.id FROM c WHERE NOT (c.status = 'active')`, nil, ids("2", "4", "6", "10")},
		{"NOT binds tighter than =", `SELECT VALUE c.id FROM c WHERE NOT c.status = 'active'`, nil, `[]`},
		{"OR", `SELECT VALUE c.id FROM c WHERE c.status = 'active' OR c.amount > 100`, nil, ids("1", "3", "5", "7", "9")},
		{"AND", `SELECT VALUE c.id FROM c WHERE c.status = 'active' AND c.amount > 50`, nil, ids("1", "3", "5", "9")},
		{"undefined OR true", `SELECT VALUE c.id FROM c WHERE c.missing = 1 OR c.id = '2'`, nil, ids("2")},
		{"undefined AND false is false", `SELECT VALUE c.id FROM c WHERE NOT (c.missing = 1 AND c.id = '2')`, nil,
			ids("1", "3", "4", "5", "6", "7", "8", "9", "10")},
		{"AND binds tighter than OR", `SELECT VALUE c.id FROM c WHERE c.id = '1' OR c.id = '2' AND c.age = 99`, nil, ids("1")},
		{"deep equality of arrays", `SELECT VALUE c.id FROM c WHERE c.tags = ['a', 'b']`, nil, ids("1", "10")},
		{"deep equality of objects", `SELECT VALUE c.id FROM c WHERE c.address = {"city": "Bergen"}`, nil, ids("2")},
		{"ordering arrays is undefined", `SELECT VALUE c.id FROM c WHERE c.tags > []`, nil, `[]`},
		{"cross-type equality is undefined", `SELECT VALUE c.id FROM c WHERE NOT (c.age = 25)`, nil, ids("1", "5", "7", "8", "9")},

		// IN, BETWEEN, LIKE.
		{"IN strings", `SELECT VALUE c.id FROM c WHERE c.customerId IN ('c1', 'c5')`, nil, ids("1", "3", "7", "8", "10")},
		{"NOT IN", `SELECT VALUE c.id FROM c WHERE c.status NOT IN ('active', 'inactive')`, nil, ids("4")},
		{"IN numbers", `SELECT VALUE c.id FROM c WHERE c.age IN (25, 41)`, nil, ids("2", "5", "10")},
		{"IN with parameter", `SELECT VALUE c.id FROM c WHERE c.age IN (@a, 30)`, map[string]any{"@a": 41}, ids("1", "5")},
		{"BETWEEN", `SELECT VALUE c.id FROM c WHERE c.amount BETWEEN 50 AND 100`, nil, ids("3", "7", "9")},
		{"NOT BETWEEN", `SELECT VALUE c.id FROM c WHERE c.amount NOT BETWEEN 50 AND 100`, nil, ids("1", "2", "5", "6", "10")},
		{"BETWEEN strings", `SELECT VALUE c.id FROM c WHERE c.name BETWEEN 'B' AND 'F'`, nil, ids("2", "4", "5")},
		{"BETWEEN then AND", `SELECT VALUE c.id FROM c WHERE c.amount BETWEEN 50 AND 100 AND c.customerId = 'c1'`, nil, ids("3", "7")},
		{"LIKE prefix", `SELECT VALUE c.id FROM c WHERE c.name LIKE 'A%'`, nil, ids("1")},
		{"LIKE underscore", `SELECT VALUE c.id FROM c WHERE c.name LIKE '_ve'`, nil, ids("5")},
		{"NOT LIKE", `SELECT VALUE c.id FROM c WHERE c.name NOT LIKE '%a%'`, nil, ids("1", "2", "5", "9")},
		{"LIKE class", `SELECT VALUE c.id FROM c WHERE c.address.zip LIKE '015[0-9]'`, nil, ids("1", "4")},
		{"LIKE negated class", `SELECT VALUE c.id FROM c WHERE c.address.zip LIKE '015[^0]'`, nil, ids("4")},
		{"LIKE escape", `SELECT VALUE ['50%' LIKE '%!%' ESCAPE '!', '50' LIKE '%!%' ESCAPE '!', 'a.c' LIKE 'a.c', 'abc' LIKE 'a.c']`, nil,
			`[[true,false,true,false]]`},
		{"LIKE parameter", `SELECT VALUE c.id FROM c WHERE c.name LIKE @p`, map[string]any{"@p": "%an%"}, ids("7", "10")},

		// Arithmetic and strings.
		{"arithmetic", `SELECT VALUE c.amount * 2 + 1 FROM c WHERE c.id IN ('1', '2', '8')`, nil, `[242, 81]`},
		{"modulo", `SELECT VALUE c.amount % 7 FROM c WHERE c.id = '2'`, nil, `[5]`},
		{"precedence", `SELECT VALUE 2 + 3 * 4 - 6 / 2`, nil, `[11]`},
		{"division", `SELECT VALUE [10 / 4, -c.age, +c.age, -c.name] FROM c WHERE c.id = '1'`, nil, `[[2.5, -30, 30]]`},
		{"division by zero is undefined", `SELECT VALUE 1 / 0`, nil, `[]`},
		{"concat", `SELECT VALUE c.name || '-' || c.status FROM c WHERE c.id IN ('1', '6')`, nil, `["Alice-active"]`},
		{"concat with a number", `SELECT VALUE c.name || c.age FROM c WHERE c.id = '1'`, nil, `[]`},
		{"escapes", `SELECT VALUE ['it\'s', "say \"hi\"", "\u00e9\n\t\\\/", "\ud83d\ude00"]`, nil,
			`[["it's", "say \"hi\"", "é\n\t\\/", "😀"]]`},
		{"numbers", `SELECT VALUE [1, 1.5, .5, 1e3, 2E-2, -0.25]`, nil, `[[1, 1.5, 0.5, 1000, 0.02, -0.25]]`},
		{"coalesce", `SELECT VALUE c.name ?? 'anon' FROM c WHERE c.id IN ('5', '6')`, nil, `["Eve","anon"]`},
		{"coalesce keeps null", `SELECT VALUE c.age ?? 1 FROM c WHERE c.id = '6'`, nil, `[null]`},
		{"conditional", `SELECT VALUE c.age > 30 ? 'old' : 'young' FROM c WHERE c.id IN ('2', '4', '5')`, nil,
			`["young","young","old"]`},
		{"literals", `SELECT VALUE [true, false, null, undefined, TRUE, Null]`, nil, `[[true,false,null,true,null]]`},
		{"case-insensitive keywords", `select value c.id from c where lower(c.name) = 'carol' order by c.id asc`, nil, ids("3")},
		{"whitespace and newlines", "SELECT\n\tVALUE c.id\nFROM c\r\nWHERE c.id = '2'", nil, ids("2")},

		// Parameters.
		{"parameters", `SELECT VALUE c.id FROM c WHERE c.customerId = @cust AND c.amount > @min`,
			map[string]any{"@cust": "c1", "@min": 60}, ids("1", "3")},
		{"parameters without @", `SELECT VALUE c.id FROM c WHERE c.customerId = @cust AND c.amount > @min`,
			map[string]any{"cust": "c2", "min": 0.0}, ids("2", "5")},
		{"array parameter", `SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(@ids, c.id)`,
			map[string]any{"@ids": []string{"3", "7"}}, ids("3", "7")},
		{"object parameter", `SELECT VALUE c.id FROM c WHERE c.address = @a`,
			map[string]any{"@a": map[string]any{"city": "Bergen"}}, ids("2")},
		{"json.Number parameter", `SELECT VALUE c.id FROM c WHERE c.age = @age`,
			map[string]any{"@age": json.Number("25")}, ids("2", "10")},
		{"null parameter", `SELECT VALUE c.id FROM c WHERE c.address = @a`, map[string]any{"@a": nil}, ids("3")},
		{"TOP parameter", `SELECT TOP @n VALUE c.id FROM c`, map[string]any{"@n": 2}, ids("1", "2")},
		{"OFFSET LIMIT parameters", `SELECT VALUE c.id FROM c OFFSET @o LIMIT @l`, map[string]any{"@o": 1, "@l": 2}, ids("2", "3")},
		{"parameter reused", `SELECT VALUE c.id FROM c WHERE c.customerId = @c OR c.id = @c`, map[string]any{"@c": "c4"}, ids("6")},

		// ORDER BY, TOP, OFFSET LIMIT.
		{"order by mixed types", `SELECT VALUE c.id FROM c ORDER BY c.amount`, nil,
			ids("4", "10", "6", "2", "7", "9", "3", "1", "5", "8")},
		{"order by desc", `SELECT VALUE c.id FROM c ORDER BY c.amount DESC`, nil,
			ids("8", "5", "1", "3", "9", "7", "2", "6", "10", "4")},
		{"order by with undefined and ties", `SELECT VALUE c.id FROM c ORDER BY c.age ASC`, nil,
			ids("4", "6", "2", "10", "7", "1", "9", "5", "8", "3")},
		{"order by desc with undefined and ties", `SELECT VALUE c.id FROM c ORDER BY c.age DESC`, nil,
			ids("3", "8", "5", "9", "1", "7", "2", "10", "6", "4")},
		{"order by booleans", `SELECT VALUE c.id FROM c ORDER BY c.active`, nil,
			ids("4", "9", "10", "2", "7", "1", "3", "5", "8", "6")},
		{"order by strings ordinal", `SELECT VALUE c.id FROM c ORDER BY c.name`, nil,
			ids("6", "1", "2", "4", "5", "7", "8", "9", "10", "3")},
		{"order by arrays after strings", `SELECT VALUE c.id FROM c WHERE c.id IN ('3', '6', '1', '2') ORDER BY c.tags`, nil,
			ids("6", "3", "1", "2")},
		{"order by nested bracket path", `SELECT VALUE c.id FROM c WHERE IS_DEFINED(c.address.city) ORDER BY c.address["city"]`, nil,
			ids("2", "10", "1", "4", "5", "8")},
		{"order by join alias", `SELECT VALUE t FROM c JOIN t IN c.tags WHERE c.id = '4' ORDER BY t`, nil, `["a","b","c"]`},
		{"top with order by", `SELECT TOP 3 VALUE c.name FROM c WHERE IS_DEFINED(c.name) ORDER BY c.name DESC`, nil,
			`["carol","Ivan","Heidi"]`},
		{"order by with offset limit", `SELECT VALUE c.id FROM c ORDER BY c.amount OFFSET 2 LIMIT 3`, nil, ids("6", "2", "7")},
		{"offset limit", `SELECT VALUE c.id FROM c OFFSET 8 LIMIT 5`, nil, ids("9", "10")},
		{"offset past the end", `SELECT VALUE c.id FROM c OFFSET 20 LIMIT 5`, nil, `[]`},
		{"limit 0", `SELECT VALUE c.id FROM c OFFSET 0 LIMIT 0`, nil, `[]`},
		{"top", `SELECT TOP 2 c.id FROM c`, nil, `[{"id":"1"},{"id":"2"}]`},
		{"top 0", `SELECT TOP 0 * FROM c`, nil, `[]`},
		{"top and offset limit", `SELECT TOP 2 VALUE c.id FROM c OFFSET 1 LIMIT 5`, nil, ids("2", "3")},
		{"top larger than limit", `SELECT TOP 5 VALUE c.id FROM c OFFSET 1 LIMIT 2`, nil, ids("2", "3")},
		{"order by projection not key", `SELECT c.name FROM c WHERE c.customerId = 'c2' ORDER BY c.amount DESC`, nil,
			`[{"name":"Eve"},{"name":"Bob"}]`},

		// DISTINCT.
		{"distinct value", `SELECT DISTINCT VALUE c.status FROM c`, nil, `["active","inactive","pending"]`},
		{"distinct objects", `SELECT DISTINCT c.status FROM c`, nil,
			`[{"status":"active"},{"status":"inactive"},{"status":"pending"},{}]`},
		{"distinct with order by", `SELECT DISTINCT VALUE t FROM c JOIN t IN c.tags ORDER BY t`, nil, `["a","b","c","d","e"]`},
		{"distinct with top", `SELECT DISTINCT TOP 2 VALUE c.customerId FROM c`, nil, `["c1","c2"]`},
		{"distinct numbers", `SELECT DISTINCT VALUE c.age FROM c WHERE c.age = 25`, nil, `[25]`},

		// Aggregates.
		{"count value", `SELECT VALUE COUNT(1) FROM c`, nil, `[10]`},
		{"count alias", `SELECT COUNT(1) AS n FROM c`, nil, `[{"n":10}]`},
		{"count implicit name", `SELECT COUNT(1) FROM c`, nil, `[{"$1":10}]`},
		{"count expression counts defined values", `SELECT VALUE COUNT(c.age) FROM c`, nil, `[9]`},
		{"sum", `SELECT VALUE SUM(c.age) FROM c WHERE IS_NUMBER(c.age)`, nil, `[235.5]`},
		{"sum with non-numbers is undefined", `SELECT VALUE SUM(c.age) FROM c`, nil, `[]`},
		{"avg", `SELECT VALUE AVG(c.amount) FROM c WHERE IS_NUMBER(c.amount)`, nil, `[81.9375]`},
		{"min max across types", `SELECT MIN(c.amount) AS lo, MAX(c.amount) AS hi FROM c`, nil, `[{"lo":null,"hi":"90"}]`},
		{"max numbers", `SELECT VALUE MAX(c.age) FROM c WHERE IS_NUMBER(c.age)`, nil, `[52]`},
		{"min strings", `SELECT VALUE MIN(c.name) FROM c`, nil, `["Alice"]`},
		{"max of arrays is undefined", `SELECT VALUE MAX(c.tags) FROM c`, nil, `[]`},
		{"count of nothing", `SELECT VALUE COUNT(1) FROM c WHERE c.id = 'nope'`, nil, `[0]`},
		{"sum of nothing", `SELECT VALUE SUM(c.amount) FROM c WHERE false`, nil, `[0]`},
		{"avg of nothing", `SELECT VALUE AVG(c.amount) FROM c WHERE false`, nil, `[]`},
		{"max of nothing in a list", `SELECT MAX(c.amount) AS m FROM c WHERE false`, nil, `[{}]`},
		{"several aggregates of nothing", `SELECT COUNT(1) AS n, MIN(c.x) AS m FROM c WHERE false`, nil, `[{"n":0}]`},
		{"aggregates in an expression", `SELECT VALUE SUM(c.amount) / COUNT(c.amount) FROM c WHERE IS_NUMBER(c.amount)`, nil, `[81.9375]`},
		{"aggregate over a join", `SELECT VALUE SUM(i.qty) FROM c JOIN i IN c.items`, nil, `[16]`},
		{"aggregate without FROM", `SELECT VALUE COUNT(1)`, nil, `[1]`},
		{"aggregates in an object", `SELECT VALUE {n: COUNT(1), total: SUM(c.amount)} FROM c WHERE c.status = 'active'`, nil,
			`[{"n":5,"total":605.5}]`},
		{"aggregate with constant item", `SELECT COUNT(1) AS n, 'x' AS k FROM c`, nil, `[{"n":10,"k":"x"}]`},
		{"aggregate with offset past it", `SELECT VALUE COUNT(1) FROM c OFFSET 1 LIMIT 1`, nil, `[]`},

		// Functions.
		{"IS_DEFINED", `SELECT VALUE c.id FROM c WHERE NOT IS_DEFINED(c.name)`, nil, ids("6")},
		{"IS_NULL", `SELECT VALUE c.id FROM c WHERE IS_NULL(c.address)`, nil, ids("3")},
		{"IS_STRING", `SELECT VALUE c.id FROM c WHERE IS_STRING(c.age)`, nil, ids("3")},
		{"IS_NUMBER", `SELECT VALUE c.id FROM c WHERE IS_NUMBER(c.amount)`, nil, ids("1", "2", "3", "5", "6", "7", "9", "10")},
		{"IS_BOOL", `SELECT VALUE c.id FROM c WHERE IS_BOOL(c.active)`, nil, ids("1", "2", "3", "5", "7", "8")},
		{"IS_ARRAY", `SELECT VALUE c.id FROM c WHERE IS_ARRAY(c.tags)`, nil, ids("1", "2", "3", "4", "7", "8", "9", "10")},
		{"IS_OBJECT", `SELECT VALUE c.id FROM c WHERE IS_OBJECT(c.address)`, nil, ids("1", "2", "4", "5", "8", "10")},
		{"IS_PRIMITIVE and IS_INTEGER", `SELECT VALUE [IS_PRIMITIVE(c.age), IS_PRIMITIVE(c.tags), IS_INTEGER(c.age), IS_INTEGER(1.5), IS_DEFINED(undefined)] FROM c WHERE c.id = '1'`, nil,
			`[[true,false,true,false,false]]`},
		{"ARRAY_CONTAINS", `SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(c.tags, 'a')`, nil, ids("1", "4", "7", "10")},
		{"ARRAY_CONTAINS partial", `SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(c.items, {"sku": "x"}, true)`, nil, ids("1", "2", "5")},
		{"ARRAY_CONTAINS full match", `SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(c.items, {"sku": "x"})`, nil, `[]`},
		{"ARRAY_CONTAINS whole object", `SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(c.items, {"qty": 2, "sku": "x"})`, nil, ids("1")},
		{"ARRAY_LENGTH", `SELECT c.id, ARRAY_LENGTH(c.tags) AS n FROM c WHERE c.id IN ('1', '3', '5', '6')`, nil,
			`[{"id":"1","n":2},{"id":"3","n":0},{"id":"5"},{"id":"6"}]`},
		{"ARRAY_SLICE and ARRAY_CONCAT", `SELECT VALUE [ARRAY_SLICE(c.tags, 1), ARRAY_SLICE(c.tags, -2, 1), ARRAY_CONCAT(c.tags, ['z'])] FROM c WHERE c.id = '4'`, nil,
			`[[["a","b"],["a"],["c","a","b","z"]]]`},
		{"CONTAINS", `SELECT VALUE c.id FROM c WHERE CONTAINS(c.name, 'a')`, nil, ids("3", "4", "7", "8", "10")},
		{"CONTAINS ignoring case", `SELECT VALUE c.id FROM c WHERE CONTAINS(c.name, 'A', true)`, nil, ids("1", "3", "4", "7", "8", "10")},
		{"STARTSWITH", `SELECT VALUE c.id FROM c WHERE STARTSWITH(c.address.city, 'Osl')`, nil, ids("1", "4")},
		{"STARTSWITH ignoring case", `SELECT VALUE c.id FROM c WHERE STARTSWITH(c.address.city, 'osl', true)`, nil, ids("1", "4", "8")},
		{"ENDSWITH", `SELECT VALUE c.id FROM c WHERE ENDSWITH(c.name, 'e')`, nil, ids("1", "4", "5", "8")},
		{"LOWER UPPER LENGTH", `SELECT VALUE {l: LOWER(c.name), u: UPPER(c.name), n: LENGTH(c.name)} FROM c WHERE c.id = '3'`, nil,
			`[{"l":"carol","u":"CAROL","n":5}]`},
		{"CONCAT", `SELECT VALUE CONCAT(c.name, ' from ', c.address.city) FROM c WHERE c.id IN ('1', '3')`, nil, `["Alice from Oslo"]`},
		{"SUBSTRING INDEX_OF", `SELECT VALUE [SUBSTRING(c.name, 1, 3), SUBSTRING(c.name, 3, 10), SUBSTRING(c.name, 0, -1), INDEX_OF(c.name, 'i'), INDEX_OF(c.name, 'z'), INDEX_OF(c.name, 'e', 2)] FROM c WHERE c.id = '1'`, nil,
			`[["lic","ce","",2,-1,4]]`},
		{"LEFT RIGHT TRIM REPLACE REVERSE", `SELECT VALUE [LEFT('Lapis', 2), RIGHT('Lapis', 3), TRIM('  x  '), LTRIM('  x'), RTRIM('x  '), TRIM('--x--', '-'), REPLACE('aXbX', 'X', 'y'), REVERSE('abc'), REPLICATE('ab', 3), STRINGEQUALS('a', 'A', true)]`, nil,
			`[["La","pis","x","x","x","x","ayby","cba","ababab",true]]`},
		{"TOSTRING", `SELECT VALUE TOSTRING(c.age) FROM c WHERE c.id IN ('1', '6', '9', '4')`, nil, `["30","null","33.5"]`},
		{"TOSTRING of structures", `SELECT VALUE [TOSTRING(c.address), TOSTRING(c.tags), TOSTRING(true), TOSTRING(0.000001), TOSTRING(1e21), TOSTRING(1e-7)] FROM c WHERE c.id = '2'`, nil,
			`[["{\"city\":\"Bergen\"}","[\"b\"]","true","0.000001","1e+21","1e-7"]]`},
		{"math", `SELECT VALUE [ABS(-2), FLOOR(2.7), CEILING(2.1), ROUND(2.5), ROUND(-2.5), ROUND(2.4), TRUNC(-2.7), SIGN(-3), SQRT(9), SQUARE(3), POWER(2, 10), LOG10(1000), LOG(8, 2)]`, nil,
			`[[2,2,3,3,-3,2,-2,-1,3,9,1024,3,3]]`},
		{"wrong argument type is undefined", `SELECT VALUE UPPER(c.age) FROM c WHERE c.id = '1'`, nil, `[]`},
		{"SQRT of a negative is undefined", `SELECT VALUE SQRT(-1)`, nil, `[]`},
		{"IIF", `SELECT VALUE IIF(c.active, 'yes', 'no') FROM c WHERE c.id IN ('1', '2', '6')`, nil, `["yes","no","no"]`},
		{"function names are case-insensitive", `SELECT VALUE is_defined(c.name) FROM c WHERE c.id = '6'`, nil, `[false]`},
	}
}

func TestRun(t *testing.T) {
	docs := loadDocs(t)
	for _, tc := range runCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			got, err := q.Run(slices.Values(docs), tc.params)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkJSON(t, got, tc.want)
		})
	}
}

// TestRunDoesNotChangeDocs runs every case and checks the documents are as
// they were.
func TestRunDoesNotChangeDocs(t *testing.T) {
	docs := loadDocs(t)
	for _, tc := range runCases(t) {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Run(slices.Values(docs), tc.params); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(docs, loadDocs(t)) {
		t.Error("running queries changed the documents")
	}
}

func TestParameterErrors(t *testing.T) {
	docs := loadDocs(t)
	cases := []struct {
		query  string
		params map[string]any
		want   string
	}{
		{`SELECT * FROM c WHERE c.customerId = @cust`, nil, "@cust: no value given"},
		{`SELECT * FROM c WHERE c.customerId = @cust`, map[string]any{"@other": 1}, "@cust: no value given"},
		{`SELECT TOP @n * FROM c`, map[string]any{"@n": "two"}, "TOP needs a non-negative integer"},
		{`SELECT * FROM c OFFSET @o LIMIT 1`, map[string]any{"@o": -1}, "OFFSET needs a non-negative integer"},
		{`SELECT * FROM c OFFSET 1 LIMIT @l`, map[string]any{"@l": 1.5}, "LIMIT needs a non-negative integer"},
		{`SELECT * FROM c WHERE c.x = @x`, map[string]any{"@x": make(chan int)}, "@x: encoding chan int as JSON"},
		{`SELECT * FROM c WHERE c.x = @x`, map[string]any{"@x": json.Number("1e999")}, "@x"},
	}
	for _, tc := range cases {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.Run(slices.Values(docs), tc.params)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrParameter) {
			t.Errorf("%s with %v: error %v, want one containing %q and wrapping ErrParameter", tc.query, tc.params, err, tc.want)
		}
	}
}

func TestFeatures(t *testing.T) {
	cases := []struct {
		query string
		want  Features
	}{
		{`SELECT * FROM c`, Features{}},
		{`SELECT VALUE c.id FROM c ORDER BY c.x`, Features{OrderBy: true, Value: true}},
		{`SELECT COUNT(1) AS n FROM c`, Features{Aggregate: true}},
		{`SELECT VALUE {n: COUNT(1)} FROM c`, Features{Aggregate: true, Value: true}},
		{`SELECT DISTINCT TOP 3 t FROM c JOIN t IN c.tags OFFSET 1 LIMIT 2`, Features{Distinct: true, Top: true, OffsetLimit: true, Join: true}},
	}
	for _, tc := range cases {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Features(); got != tc.want {
			t.Errorf("%s: Features() = %+v, want %+v", tc.query, got, tc.want)
		}
	}
	q, _ := Parse(`SELECT TOP @n * FROM c WHERE c.a = @a AND c.b = @b OR c.a = @a`)
	if got, want := q.Parameters(), []string{"@n", "@a", "@b"}; !slices.Equal(got, want) {
		t.Errorf("Parameters() = %v, want %v", got, want)
	}
	if q.String() != `SELECT TOP @n * FROM c WHERE c.a = @a AND c.b = @b OR c.a = @a` {
		t.Errorf("String() = %q", q.String())
	}
}

func TestPartitionKeyValue(t *testing.T) {
	params := map[string]any{"@p": "c9", "q": 7}
	cases := []struct {
		query, path string
		want        any
		ok          bool
	}{
		{`SELECT * FROM c WHERE c.customerId = 'c1'`, "/customerId", "c1", true},
		{`SELECT * FROM c WHERE c.customerId = @p`, "/customerId", "c9", true},
		{`SELECT * FROM c WHERE @q = c.customerId`, "/customerId", 7.0, true},
		{`SELECT * FROM c WHERE c.total > 10 AND (c.x = 1 AND c["customerId"] = 'c2')`, "/customerId", "c2", true},
		{`SELECT * FROM orders o WHERE o.address.zip = '0150'`, "/address/zip", "0150", true},
		{`SELECT * FROM c WHERE c.customerId = 'c1' OR c.customerId = 'c2'`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE c.customerId IN ('c1')`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE NOT (c.customerId = 'c1')`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE c.customerId != 'c1'`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE c.customerId = @missing`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE c.customerId = undefined`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE c.other = 'c1'`, "/customerId", nil, false},
		{`SELECT * FROM c WHERE c.customerId = c.other`, "/customerId", nil, false},
		{`SELECT * FROM c`, "/customerId", nil, false},
		{`SELECT VALUE a FROM c.address a WHERE a.zip = '1'`, "/zip", nil, false},
		{`SELECT t FROM c JOIN t IN c.tags WHERE t.customerId = 'c1'`, "/customerId", nil, false},
		{`SELECT t FROM c JOIN t IN c.tags WHERE c.customerId = 'c1'`, "/customerId", "c1", true},
	}
	for _, tc := range cases {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := q.PartitionKeyValue(tc.path, params)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: PartitionKeyValue(%q) = %v, %v; want %v, %v", tc.query, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

// countingDocs yields docs and counts how many were read.
func countingDocs(docs []map[string]any, n *int) iter.Seq[map[string]any] {
	return func(yield func(map[string]any) bool) {
		for _, d := range docs {
			*n++
			if !yield(d) {
				return
			}
		}
	}
}

func TestStreamReadsNoMoreThanNeeded(t *testing.T) {
	docs := loadDocs(t)
	cases := []struct {
		query string
		reads int
	}{
		{`SELECT TOP 2 * FROM c`, 2},
		{`SELECT VALUE c.id FROM c WHERE c.status = 'inactive' OFFSET 1 LIMIT 1`, 6}, // the second inactive is doc 6
		{`SELECT VALUE c.id FROM c WHERE c.status = 'active' OFFSET 1 LIMIT 1`, 3},
		{`SELECT TOP 1 VALUE c.id FROM c ORDER BY c.id`, 10},
		{`SELECT TOP 1 VALUE COUNT(1) FROM c`, 10},
		{`SELECT TOP 2 VALUE t FROM c JOIN t IN c.tags`, 1}, // doc 1 has two tags
	}
	for _, tc := range cases {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if _, err := q.Run(countingDocs(docs, &n), nil); err != nil {
			t.Fatal(err)
		}
		if n != tc.reads {
			t.Errorf("%s read %d documents, want %d", tc.query, n, tc.reads)
		}
	}

	// Breaking out of the loop stops reading.
	q, _ := Parse(`SELECT VALUE c.id FROM c`)
	n := 0
	seq, err := q.Stream(countingDocs(docs, &n), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for v := range seq {
		got = append(got, v)
		if len(got) == 3 {
			break
		}
	}
	if n != 3 || len(got) != 3 {
		t.Errorf("read %d documents for %d results, want 3 and 3", n, len(got))
	}
	// The sequence runs again from the start.
	again := slices.Collect(seq)
	checkJSON(t, again, ids("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"))
}

// TestPagingBySkipping checks that re-running a query and skipping the
// results already returned pages through the same results Run returns.
func TestPagingBySkipping(t *testing.T) {
	docs := loadDocs(t)
	for _, text := range []string{
		`SELECT VALUE c.id FROM c ORDER BY c.age DESC`,
		`SELECT c.id, t FROM c JOIN t IN c.tags`,
		`SELECT DISTINCT VALUE c.customerId FROM c`,
	} {
		q, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		all, err := q.Run(slices.Values(docs), nil)
		if err != nil {
			t.Fatal(err)
		}
		var paged []any
		for page := 0; ; page++ {
			seq, _ := q.Stream(slices.Values(docs), nil)
			var got []any
			i := 0
			for v := range seq {
				if i >= page*3 {
					got = append(got, v)
				}
				i++
				if len(got) == 3 {
					break
				}
			}
			paged = append(paged, got...)
			if len(got) < 3 {
				break
			}
		}
		if !reflect.DeepEqual(all, paged) {
			t.Errorf("%s: paged results differ:\n%v\n%v", text, all, paged)
		}
	}
}

func TestConcurrentRuns(t *testing.T) {
	docs := loadDocs(t)
	q, err := Parse(`SELECT c.id, UPPER(c.name) AS n FROM c JOIN t IN c.tags WHERE CONTAINS(c.name, @s, true) ORDER BY c.id`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := q.Run(slices.Values(docs), map[string]any{"@s": "a"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := q.Run(slices.Values(docs), map[string]any{"@s": "a"})
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("concurrent run: %v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDocumentNumberTypes(t *testing.T) {
	docs := []map[string]any{
		{"id": "a", "n": 3},
		{"id": "b", "n": json.Number("1.5")},
		{"id": "c", "n": int64(2)},
		{"id": "d", "n": float32(0.5)},
		{"id": "e", "n": struct{}{}},
	}
	q, err := Parse(`SELECT VALUE c.id FROM c WHERE c.n > 1 ORDER BY c.n`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.Run(slices.Values(docs), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, got, `["b","c","a"]`)
	q, _ = Parse(`SELECT VALUE SUM(c.n) FROM c WHERE IS_NUMBER(c.n)`)
	got, _ = q.Run(slices.Values(docs), nil)
	checkJSON(t, got, `[7]`)
}

func TestNilDocs(t *testing.T) {
	q, _ := Parse(`SELECT VALUE COUNT(1) FROM c`)
	got, err := q.Run(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, got, `[0]`)
	q, _ = Parse(`SELECT * FROM c WHERE c.x = 1`)
	got, _ = q.Run(slices.Values([]map[string]any{nil, {}}), nil)
	checkJSON(t, got, `[]`)
}

func TestLikePatterns(t *testing.T) {
	cases := []struct {
		s, pat string
		esc    rune
		want   bool
	}{
		{"abc", "abc", 0, true},
		{"abc", "a%", 0, true},
		{"abc", "%c", 0, true},
		{"abc", "a_c", 0, true},
		{"ac", "a_c", 0, false},
		{"a\nc", "a_c", 0, true},
		{"abc", "[a-c]bc", 0, true},
		{"dbc", "[a-c]bc", 0, false},
		{"dbc", "[^a-c]bc", 0, true},
		{"-", "[a-]", 0, true},
		{"b", "[z-a]", 0, false},
		{"]", "[]]", 0, true}, // a ] first in a class is literal
		{"]", "]", 0, true},
		{"[x", "[x", 0, true},
		{"^", "[^]", 0, false},
		{"20%", "20[%]", 0, true},
		{"_n", "[_]n", 0, true},
		{"a.b", "a.b", 0, true},
		{"axb", "a.b", 0, false},
		{"a(b)", "a(%)", 0, true},
		{"a\\b", "a\\b", 0, true},
		{"x%", "x^%", '^', true},
		{"xy", "x^%", '^', false},
		{"x^", "x^", '^', true},
		{"é", "_", 0, true},
	}
	for _, tc := range cases {
		if got := likeRegexp(tc.pat, tc.esc).MatchString(tc.s); got != tc.want {
			t.Errorf("%q LIKE %q ESCAPE %q = %v, want %v (regexp %s)", tc.s, tc.pat, tc.esc, got, tc.want, likeRegexp(tc.pat, tc.esc))
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", 125: "125", -3: "-3", 0.1234: "0.1234", 1e21: "1e+21", 1.5e-7: "1.5e-7",
		123456789012: "123456789012", 1e20: "100000000000000000000", 0.000001: "0.000001",
	} {
		if got := formatNumber(f); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", f, got, want)
		}
	}
}

func Example() {
	docs := []map[string]any{
		{"id": "1", "customer": "c1", "total": 120.0},
		{"id": "2", "customer": "c2", "total": 40.0},
		{"id": "3", "customer": "c1", "total": 75.0},
	}
	q, err := Parse(`SELECT c.id, c.total FROM c WHERE c.customer = @customer ORDER BY c.total DESC`)
	if err != nil {
		panic(err)
	}
	results, err := q.Run(slices.Values(docs), map[string]any{"@customer": "c1"})
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(results)
	fmt.Println(string(out))
	// Output: [{"id":"1","total":120},{"id":"3","total":75}]
}
