package query

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	deep := "SELECT VALUE " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200)
	cases := []struct {
		query       string
		pos         int
		msg         string
		unsupported bool
	}{
		// Malformed queries.
		{`SELECT * FROM c WHERE`, 21, "unexpected end of query, expected an expression", false},
		{`SELECT * FORM c`, 9, `unexpected identifier "FORM", expected FROM, WHERE, ORDER BY, OFFSET or the end of the query`, false},
		{`SELECT c.id FORM c`, 12, `unexpected identifier "FORM", expected AS, ",", FROM`, false},
		{`SELEC * FROM c`, 0, `unexpected identifier "SELEC", expected SELECT`, false},
		{``, 0, "unexpected end of query, expected SELECT", false},
		{`SELECT`, 6, "unexpected end of query, expected an expression", false},
		{`SELECT * FROM`, 13, "expected a container name or an alias", false},
		{`SELECT * FROM c WHERE c.x = 1 AND`, 33, "expected an expression", false},
		{`SELECT * FROM c WHERE c.name = 'abc`, 31, "unterminated string literal", false},
		{`SELECT * FROM c WHERE c.x = 1e`, 28, `malformed number "1e"`, false},
		{`SELECT * FROM c WHERE c.x = 12abc`, 30, `unexpected 'a' after number 12`, false},
		{`SELECT * FROM c WHERE c.x = #`, 28, `unexpected character '#'`, false},
		{`SELECT * FROM c WHERE c.x = 'a\qb'`, 30, `unknown escape \q`, false},
		{`SELECT * FROM c WHERE c.x = '\u12'`, 29, `malformed \u escape`, false},
		{"SELECT * FROM c WHERE c.x = 'a\nb'", 30, "control character in string literal", false},
		{`SELECT * FROM c WHERE c.x = @`, 28, "a parameter needs a name", false},
		{`SELECT * FROM c WHERE c.x = 1e999`, 28, "number 1e999 is out of range", false},
		{`SELECT * FROM c WHERE (c.a = 1`, 30, `unexpected end of query, expected ")"`, false},
		{`SELECT * FROM c WHERE c.a IN ()`, 26, "IN needs at least one value", false},
		{`SELECT * FROM c WHERE c.a IN 1`, 29, `expected "(" after IN`, false},
		{`SELECT * FROM c WHERE c.a BETWEEN 1 OR 2`, 36, "expected AND in BETWEEN", false},
		{`SELECT * FROM c WHERE c.a LIKE 'x' ESCAPE 'ab'`, 42, "ESCAPE needs exactly one character", false},
		{`SELECT * FROM c WHERE c.a ? 1`, 29, `expected ":" in c ? a : b`, false},
		{`SELECT * FROM c WHERE c.`, 24, `expected a property name after "."`, false},
		{`SELECT * FROM c WHERE c.a = [1, 2`, 33, `expected "," or "]" in the array`, false},
		{`SELECT VALUE {a 1}`, 16, `expected ":" after the property name`, false},
		{`SELECT VALUE {1: 1}`, 14, "expected a property name", false},
		{`SELECT TOP -1 * FROM c`, 11, `unexpected "-", expected a non-negative integer or a parameter after TOP`, false},
		{`SELECT TOP 1.5 * FROM c`, 11, "TOP needs a non-negative integer, not 1.5", false},
		{`SELECT * FROM c OFFSET 1`, 24, "expected LIMIT after OFFSET n", false},
		{`SELECT * FROM c LIMIT 1`, 16, "LIMIT needs an OFFSET before it", false},
		{`SELECT * FROM c OFFSET 1 LIMIT 2 WHERE c.x = 1`, 33, "unexpected keyword WHERE, expected the end of the query", false},
		{`SELECT * FROM c ORDER c.x`, 22, "expected BY after ORDER", false},
		{`SELECT VALUE * FROM c`, 13, "SELECT VALUE * is not valid", false},
		{`SELECT *, c.id FROM c`, 8, `unexpected ","`, false},
		{`SELECT c.id AS FROM c`, 15, "expected an alias after AS", false},
		{`SELECT c.id AS select FROM c`, 15, "unexpected keyword SELECT, expected an alias after AS", false},
		{`SELECT * FROM c WHERE c.a = FROM`, 28, "unexpected keyword FROM, expected an expression", false},
		{`SELECT COUNT(*) FROM c`, 13, "COUNT(*) is not valid; write COUNT(1)", false},
		{`SELECT * FROM c.tags[0]`, 14, "needs an alias", false},
		{`SELECT * FROM c JOIN t IN c.tags[x]`, 33, "expected a property name in quotes or an array index", false},
		{"SELECT *\nFROM c\nWHERE c.x =", 27, "expected an expression", false},
		{deep, 77, "the expression nests too deeply", false},
		{"SELECT VALUE '" + strings.Repeat("x", MaxLength) + "'", MaxLength, "the query is longer than 524288 bytes", false},

		// Semantic errors.
		{`SELECT x.id FROM c`, 7, `identifier "x" could not be resolved; properties must start with an alias from FROM or JOIN, as in c.x`, false},
		{`SELECT id FROM c`, 7, `identifier "id" could not be resolved`, false},
		{`SELECT Families.id FROM Families f`, 7, `identifier "Families" could not be resolved`, false},
		{`SELECT VALUE c.id`, 13, `identifier "c" could not be resolved: the query has no FROM clause`, false},
		{`SELECT *`, 0, "SELECT * needs a FROM clause", false},
		{`SELECT * FROM c JOIN t IN c.tags`, 0, "SELECT * is only valid with a single input", false},
		{`SELECT c.id FROM c JOIN c IN c.tags`, 24, `the alias "c" is already defined`, false},
		{`SELECT c.id FROM c JOIN t IN t.tags`, 29, `identifier "t" could not be resolved`, false},
		{`SELECT c.id, COUNT(1) FROM c`, 7, `"c" is used outside an aggregate function`, false},
		{`SELECT VALUE c.id + COUNT(1) FROM c`, 13, `"c" is used outside an aggregate function`, false},
		{`SELECT * FROM c WHERE COUNT(1) > 1`, 22, "the aggregate function COUNT is not allowed in WHERE", false},
		{`SELECT * FROM c ORDER BY MAX(c.x)`, 25, "ORDER BY needs a property path", false},
		{`SELECT VALUE COUNT(SUM(c.x)) FROM c`, 19, "aggregate functions cannot be nested", false},
		{`SELECT VALUE SUM(c.x, c.y) FROM c`, 13, "SUM takes one argument", false},
		{`SELECT c.name, c.address.name FROM c`, 15, `the property name "name" is projected more than once`, false},
		{`SELECT c.a AS x, c.b AS x FROM c`, 17, `the property name "x" is projected more than once`, false},
		{`SELECT VALUE {"a": 1, "a": 2}`, 22, `the property "a" appears more than once`, false},
		{`SELECT * FROM c ORDER BY LOWER(c.name)`, 25, "ORDER BY needs a property path such as c.name", false},
		{`SELECT * FROM c ORDER BY c.a + 1`, 25, "ORDER BY needs a property path", false},
		{`SELECT * FROM c WHERE FOO(c.x)`, 22, "unknown function FOO", false},
		{`SELECT * FROM c WHERE CONTAINS(c.x)`, 22, "CONTAINS takes 2 to 3 arguments, not 1", false},
		{`SELECT VALUE LOWER()`, 13, "LOWER takes 1 argument, not 0", false},
		{`SELECT VALUE CONCAT('a')`, 13, "CONCAT takes at least 2 arguments, not 1", false},

		// Features Lapis does not support.
		{`SELECT c.id FROM c GROUP BY c.id`, 19, "GROUP BY is not supported by Lapis", true},
		{`SELECT * FROM c ORDER BY c.a, c.b`, 30, "ORDER BY with more than one term is not supported by Lapis", true},
		{`SELECT * FROM c ORDER BY c.a DESC, c.b`, 35, "ORDER BY with more than one term", true},
		{`SELECT * FROM c ORDER BY RANK FullTextScore(c.text, 'x')`, 25, "ORDER BY RANK is not supported by Lapis", true},
		{`SELECT udf.tax(c.x) FROM c`, 7, "the user-defined function udf.tax is not supported by Lapis", true},
		{`SELECT * FROM c WHERE ST_DISTANCE(c.loc, {"type": "Point"}) < 10`, 22, "the function ST_DISTANCE is not supported by Lapis", true},
		{`SELECT * FROM c WHERE REGEXMATCH(c.name, 'a')`, 22, "the function REGEXMATCH is not supported by Lapis", true},
		{`SELECT VALUE GetCurrentDateTime()`, 13, "the function GETCURRENTDATETIME is not supported by Lapis", true},
		{`SELECT * FROM c WHERE EXISTS(SELECT VALUE t FROM t IN c.tags)`, 22, "EXISTS with a subquery is not supported by Lapis", true},
		{`SELECT VALUE ARRAY(SELECT VALUE t FROM t IN c.tags) FROM c`, 13, "ARRAY with a subquery", true},
		{`SELECT * FROM c WHERE c.id IN (SELECT VALUE 1)`, 31, "a subquery in IN is not supported by Lapis", true},
		{`SELECT * FROM (SELECT * FROM c)`, 14, "a subquery as a FROM or JOIN source is not supported by Lapis", true},
		{`SELECT c.id FROM c JOIN (SELECT VALUE t FROM t IN c.tags)`, 24, "a subquery as a FROM or JOIN source", true},
		{`SELECT VALUE (SELECT VALUE 1)`, 13, "a subquery is not supported by Lapis", true},
		{`SELECT VALUE FIRST(SELECT VALUE 1)`, 13, "FIRST with a subquery", true},
		{`SELECT * FROM c WHERE c.a & 1`, 26, "the bitwise operator & is not supported by Lapis", true},
		{`SELECT * FROM c WHERE c.a | 1 = 1`, 26, "the bitwise operator |", true},
		{`SELECT VALUE 1 << 2`, 15, "the bitwise operator <<", true},
		{`SELECT VALUE ~1`, 13, "the bitwise operator ~", true},
	}
	for _, tc := range cases {
		_, err := Parse(tc.query)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.query, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) || errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("Parse(%q):\n got %v (unsupported %v)\nwant position %d, %q (unsupported %v)",
				tc.query, err, errors.Is(err, ErrUnsupported), tc.pos, tc.msg, tc.unsupported)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Parse("SELECT *\nFROM c\nWHERE c.name = 'é' AND")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	if se.Line != 3 || se.Col != 23 {
		t.Errorf("line %d column %d, want 3 and 23", se.Line, se.Col)
	}
	want := "syntax error at position 39 (line 3, column 23): unexpected end of query, expected an expression"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
	}
	_, err = Parse(`SELECT c.id FROM c GROUP BY c.id`)
	if want := "syntax error at position 19 (line 1, column 20): GROUP BY is not supported by Lapis"; err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
	}
}

// TestValidQueries parses queries that must be accepted.
func TestValidQueries(t *testing.T) {
	for _, q := range []string{
		`SELECT * FROM c`,
		`SELECT * FROM Families f WHERE f.id = 'x'`,
		`SELECT * FROM root`,
		`select * from c where c.a = 1 order by c.b desc offset 0 limit 10`,
		`SELECT TOP 10 c.id FROM c ORDER BY c._ts DESC`,
		`SELECT DISTINCT VALUE c.x FROM c`,
		`SELECT c.id FROM c JOIN t IN c.tags JOIN s IN t.sub WHERE s.x = 1`,
		`SELECT c.id FROM c JOIN c.address a`,
		`SELECT VALUE c FROM c`,
		`SELECT VALUE {"a": c.a, "b": [1, 2, {"c": null}]} FROM c`,
		`SELECT c.all, c.first, c.last FROM c`,
		`SELECT VALUE LEFT(c.name, 1) || RIGHT(c.name, 1) FROM c`,
		`SELECT * FROM c WHERE c["order"] = 1 AND c.value = 2 AND c.select = 3`,
		`SELECT VALUE c.a ?? c.b ?? 'x' FROM c`,
		`SELECT VALUE c.a ? c.b ? 1 : 2 : 3 FROM c`,
		`SELECT VALUE COUNT(1) FROM c WHERE c.type = @type`,
		`SELECT * FROM c WHERE c.a NOT IN (1, 2) AND c.b NOT BETWEEN 1 AND 2 AND c.c NOT LIKE 'x%' ESCAPE '\\'`,
		`SELECT * FROM c WHERE --1 = 1`,
		`SELECT * FROM c WHERE NOT NOT c.a`,
		`SELECT * FROM c WHERE c.a = .5e-3`,
	} {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%q): %v", q, err)
		}
	}
}
