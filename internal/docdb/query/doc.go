// Package query is the query language of Lapis's document store: the
// subset of Azure Cosmos DB for NoSQL's SQL that Lapis supports, parsed
// and evaluated over JSON documents held in memory.
//
// It owns the language only: [Parse] turns query text into a [Query]
// (lexing, parsing and compiling the expressions to closures), and
// [Query.Run] or [Query.Stream] evaluates it over a sequence of documents
// with the query's parameters. Storage, partitions, indexes, request
// charges and continuation tokens belong to package docdb, which can ask a
// Query what it needs ([Query.Features]) and whether its filter pins one
// partition key value ([Query.PartitionKeyValue]). Evaluation is
// deterministic for a given order of documents, so docdb can page by
// re-running a query and skipping the results it already returned.
//
// # Supported
//
//	SELECT [DISTINCT] [TOP n|@p] *|VALUE expr|expr [AS name], ...
//	[FROM name [[AS] alias] | FROM alias IN name.path | FROM name.path [[AS] alias]]
//	[JOIN alias IN alias.path | JOIN alias.path [AS] alias] ...
//	[WHERE expr]
//	[ORDER BY alias.path [ASC|DESC]]
//	[OFFSET n|@p LIMIT m|@p]
//
// Expressions: literals (numbers; strings in single or double quotes with
// JSON escapes; true, false, null, undefined), parameters (@name), object
// {"a": x, b: y} and array [x, y] literals, property access (c.a.b,
// c["a b"], c.tags[0]), arithmetic + - * / %, string concatenation ||,
// comparisons = != <> < <= > >=, AND OR NOT, [NOT] IN (...), [NOT] BETWEEN
// x AND y, [NOT] LIKE with % _ [a-z] [^a-z] and ESCAPE, the conditional
// c ? a : b and coalescing a ?? b. Keywords are case-insensitive. The
// operators bind as in Cosmos DB's grammar, from loosest to tightest:
// ?: ??, OR, AND, BETWEEN IN LIKE, ||, = !=, < <= > >=, + -, * / %, and
// the unary - + NOT. So NOT binds tighter than a comparison, as in Cosmos
// DB: write NOT (c.a = 1).
//
// Functions: IS_ARRAY IS_BOOL IS_DEFINED IS_FINITE_NUMBER IS_INTEGER
// IS_NULL IS_NUMBER IS_OBJECT IS_PRIMITIVE IS_STRING; CONCAT CONTAINS
// ENDSWITH INDEX_OF LEFT LENGTH LOWER LTRIM REPLACE REPLICATE REVERSE RIGHT
// RTRIM STARTSWITH STRINGEQUALS SUBSTRING TOSTRING TRIM UPPER;
// ARRAY_CONCAT ARRAY_CONTAINS ARRAY_LENGTH ARRAY_SLICE; ABS CEILING EXP
// FLOOR LOG LOG10 PI POWER ROUND SIGN SQRT SQUARE TRUNC; IIF. Aggregates:
// COUNT SUM AVG MIN MAX, in SELECT VALUE or in a SELECT list (several may
// be combined in expressions, without GROUP BY).
//
// # Not supported
//
// GROUP BY, subqueries (including EXISTS, ARRAY, IN (SELECT ...)),
// user-defined functions (udf.name), spatial functions (ST_*), date and
// time, regular-expression, bitwise and other functions not listed above,
// bitwise operators, ORDER BY with more than one term, ORDER BY RANK and
// ORDER BY on anything but a property path. These are reported by Parse
// as a [*SyntaxError] wrapping [ErrUnsupported] whose message says what is
// "not supported by Lapis" and where. Query text longer than [MaxLength]
// is refused too.
//
// # Semantics
//
// Values are JSON values plus undefined, the value of a missing property.
// A comparison or arithmetic operation between different types, or on
// undefined, is undefined, as is = between values of different types.
// x IN (...) is true when x equals one of the values and false when it
// equals none, and undefined when x is. AND and OR follow Cosmos DB's
// three-valued truth tables (false AND undefined is false, true OR
// undefined is true, NOT undefined is undefined), in which a value that is
// not a boolean counts as undefined. c ? a : b takes b unless c is true.
// WHERE keeps a row only if its condition is exactly true. A projected
// property whose value is undefined is left out of the object; SELECT
// VALUE of an undefined value yields nothing for that row. Arrays built by
// a query drop undefined elements. Strings compare ordinally, by code
// point. Arithmetic whose result JSON cannot represent (division by zero,
// overflow) is undefined.
//
// ORDER BY sorts by type first, then by value within a type:
// undefined < null < false < true < numbers < strings < arrays < objects.
// As in Cosmos DB today, rows whose sort property is undefined are kept
// (first in ascending order, last in descending). Ties keep the input
// order. DISTINCT, then OFFSET, then LIMIT and TOP apply after sorting;
// with both TOP and LIMIT the smaller wins.
//
// Aggregates skip undefined values. COUNT and SUM of no values are 0; AVG,
// MIN and MAX of no values are undefined, so SELECT VALUE MAX(c.x) over no
// documents returns no result and SELECT MAX(c.x) AS m returns {}. SUM and
// AVG are undefined if any value is not a number; MIN and MAX compare
// null < booleans < numbers < strings and are undefined if any value is an
// array or object.
//
// Documents are map[string]any as encoding/json decodes them, with numbers
// as float64; json.Number and Go integer types are read as numbers too.
// Results are built from the same types and can share memory with the
// documents. Parameter values are converted to that representation.
package query
