// Package expr implements Azure Functions binding expressions: the "{name}" parts of a binding's path, queue
// name or other property, resolved per invocation from the trigger's data, and the blob trigger's path patterns,
// which work the other way round and take the values out of a blob's path.
//
// App settings ("%NAME%") are not expressions: appconfig resolves them when function.json is loaded, before a
// binding type ever sees the property.
//
// # Grammar
//
//	template   = { literal | "{{" | "}}" | "{" expression "}" }
//	literal    = any characters but "{" and "}"
//	expression = ( builtin | path ) [ ":" format ]
//	builtin    = "rand-guid" | "DateTime"                  (case-insensitive)
//	path       = name { "." member }
//	name       = ( letter | "_" ) { letter | digit | "_" }   (Unicode letters and digits, as C# identifiers)
//	member     = { letter | digit | "_" | "-" }            (one or more; a number indexes an array)
//	format     = one or more characters but "{" and "}"
//
// "{{" and "}}" stand for literal braces. A lone "{" or "}", an empty or malformed expression and a "{" inside an
// expression are parse errors naming the template and the position (1-based), as Azure reports them.
//
// # Evaluation
//
// [Template.Evaluate] resolves each expression against a [Context]. The first name of a path is looked up,
// ignoring case, in this order:
//
//  1. the trigger metadata (Context.Metadata), e.g. {name} and {BlobTrigger} of a blob trigger, {Id} and
//     {DequeueCount} of a queue trigger;
//  2. the properties of the trigger value (Context.Value) when it is a JSON object, or a JSON string that holds
//     one (a queue message such as {"orderId":42} gives {orderId});
//  3. "sys": {sys.MethodName}, {sys.UtcNow} and {sys.RandGuid} (Context.Sys, unless the metadata has a "sys");
//  4. the built-ins {rand-guid}, a new GUID for every evaluation, and {DateTime}, the current UTC time. Binding
//     data of the same name wins, as in Azure ("DateTime may resolve to user binding data").
//
// Further members walk into JSON objects (ignoring case) and arrays ({customer.id}, {data.url}, {items.0}). A name
// that resolves to nothing is an [*Error] naming the expression, the template and the names that are available.
//
// Values become text as Azure's BindingDataPathHelper makes them: strings as they are, numbers as written, true
// and false as "True" and "False" (.NET's spelling); null, objects and arrays are errors. Times ({DateTime},
// {sys.UtcNow}) default to the path-safe "yyyy-MM-ddTHH-mm-ssZ" ("2018-02-16T17-59-55Z", the form Azure's docs
// show); GUIDs to the 36-character form. An optional ":format" applies to times (.NET standard and custom date
// and time format strings: {DateTime:yyyy/MM/dd}, {DateTime:o}), to GUIDs (N, D, B, P) and to integers (D, X with
// a precision); a string value with a format is formatted as a time if it is an RFC 3339 time, or as a GUID if it
// is one, and is otherwise an error.
//
// # Patterns
//
// A blob trigger's path is a [Pattern]: a template whose expressions are plain names (no members, formats or
// built-ins, each name once). [Pattern.Match] matches a whole blob path ("container/name") against it and returns
// the named values: "input/{name}.{ext}" matches "input/a.b.txt" with name "a.b" and ext "txt". As in Azure the
// match is case-sensitive and each parameter takes as much as it can while the rest still matches (a parameter
// may span "/"); literal text between parameters must appear as written.
package expr
