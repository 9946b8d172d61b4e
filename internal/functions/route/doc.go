// Package route implements Azure Functions HTTP route templates: the "route" property of an httpTrigger binding,
// which the Functions host hands to ASP.NET Core routing.
//
// A template compiles once with Parse and then matches request paths with Template.Match:
//
//	t, err := route.Parse("products/{category:alpha}/{id:int?}")
//	params, ok := t.Match("/products/books/12") // {"category": "books", "id": "12"}, true
//
// A Table holds the routes of an app with their HTTP methods and picks the best match for a request, reporting
// NotFound (404) or MethodNotAllowed (405, with the allowed methods) when nothing fits.
//
// # Template syntax
//
// Segments are separated by '/'. A leading "/" or "~/" and a trailing "/" are ignored. Each segment is a literal,
// a parameter, or a mix of literals and parameters such as "{name}.{ext}" (a "complex segment").
//
//   - Literals match case-insensitively. "{{" and "}}" stand for literal braces; '?' may not appear in a literal.
//   - {name} matches one non-empty segment. Names are case-insensitive and unique in a template.
//   - {name?} is optional; {name=value} has a default used when the segment is missing. A parameter cannot be both.
//   - {*name} and {**name} are catch-alls: they take the rest of the path, slashes included (and a trailing slash),
//     may be empty, and must be the last segment.
//   - {name:c1:c2(args)...} adds constraints, all of which the value must satisfy; they combine with '?' and '='
//     as in {id:int?} and {page:int:min(1)=1}.
//
// Constraints (names case-insensitive), following ASP.NET Core's DefaultInlineConstraintResolver and parsing with
// the invariant culture:
//
//	int, long           integer (optional surrounding white space and sign) within 32 / 64 bits
//	bool                "true" or "false", any case
//	decimal             .NET decimal: digits, thousands separators, '.', leading or trailing sign, no exponent
//	double, float       .NET floating point: as decimal plus an exponent, "NaN", "Infinity"; no trailing sign
//	guid                the N, D, B, P and X formats of Guid.TryParse
//	datetime            a date and/or time (see the differences below)
//	alpha               ASCII letters only
//	minlength(n)  maxlength(n)  length(n)  length(a,b)
//	                    length in UTF-16 code units, as .NET's string.Length
//	min(n)  max(n)  range(a,b)
//	                    a 64-bit integer within the bounds (inclusive)
//	regex(pattern)      the pattern matches somewhere in the value, ignoring case; anchor it with ^ and $
//	required            a non-empty value
//	file, nonfile       the value's last '/'-separated part does / does not look like a file name ("a.txt")
//
// Constraint arguments follow ASP.NET's parser: inside parentheses, ')' ends the arguments only when followed by
// ':', '=' or the end of the parameter, so "regex(^a:b$)" works but "regex(^(a|b):c$)" is cut after "(a|b)", in
// ASP.NET too. Braces in a regex are written doubled: "regex(^\\d{{3}}$)".
//
// Constraints also apply to default values. An optional parameter without a value skips its constraints; a
// catch-all with constraints and no value does not match, as in ASP.NET.
//
// # Matching and decoding
//
// Match takes the path as it is on the wire (percent-encoded; in Go r.URL.EscapedPath(), not r.URL.Path) without
// the query string, relative to the route prefix. It decodes as Kestrel does before routing: every %XX except %2F,
// which stays encoded so an encoded slash never splits a segment (a value can therefore hold the text "%2F");
// malformed escapes and escapes that do not form UTF-8 are kept as written. '+' is not a space. Empty interior
// segments ("a//b") count as missing values.
//
// A complex segment matches right to left the way ASP.NET's MatchComplexSegment does: each literal is found at its
// last occurrence, and each parameter takes the non-empty text between literals ("{a}-{b}" on "1-2-3" gives a="1-2",
// b="3"). An optional last parameter must follow a '.', and "{name}.{ext?}" matches "abc" as well as "abc.txt".
//
// # Route order
//
// Table orders routes by ASP.NET Core's inbound precedence, computed per segment: literal (1) before a constrained
// parameter or complex segment (2) before a plain parameter (3) before a constrained catch-all (4) before a
// catch-all (5), compared segment by segment as the decimal d0.d1d2..., so a template that ends where another goes
// on sorts first ("a" before "a/{b?}"). Ties are broken by the template text, ignoring case, then by insertion
// order. The first route in that order whose template matches the path and whose methods include the request's
// method wins. When some template matched the path but none allowed the method, the outcome is MethodNotAllowed.
// Adding a template equal to an existing one (ignoring case and surrounding '/') with overlapping methods is a
// *ConflictError, as Azure rejects conflicting function routes.
//
// # Deliberate differences from ASP.NET Core
//
//   - regex uses Go's RE2 syntax: no look-around or back-references (the template is rejected with the RE2 error),
//     and matching runs in linear time, so there is no match timeout.
//   - datetime accepts a fixed list of common layouts (ISO 8601 dates, times and offsets, "1/2/2006 3:04 PM",
//     "Jan 2, 2006", "2 January 2006", RFC 1123, "15:04") rather than everything DateTime.TryParse guesses at.
//   - Literals compare with Unicode simple case folding (strings.EqualFold) rather than .NET's OrdinalIgnoreCase;
//     the two differ only for a few non-ASCII letters.
//   - Table reports MethodNotAllowed separately from NotFound; whether to answer 405 (as ASP.NET endpoint routing
//     does) or 404 is the caller's choice.
//   - HEAD is not implied by GET; list it in methods to allow it (as in ASP.NET endpoint routing).
package route
