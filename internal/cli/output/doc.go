// Package output owns how the lapis CLI prints a command's result: the
// global --output/-o formats (json, jsonc, yaml, table, tsv, none) and the
// global --query JMESPath filter applied before printing.
//
// It imitates the Azure CLI (az, built on knack), whose output users script
// against, so the details follow knack rather than taste:
//
//   - the result is normalised through a JSON round trip, then filtered by
//     the query, and a null result prints nothing in every format;
//   - json is indented by two spaces with sorted keys and non-ASCII text kept
//     as is; jsonc is the same with ANSI colours (pygments' terminal palette);
//   - numbers that are integral print without a fraction (5, not 5.0), other
//     numbers in Python's shortest form (0.5, 1e-05);
//   - tsv prints one line per list element (or one line for a non-list), an
//     object's values in key order, nested lists as their length and nested
//     objects as empty fields;
//   - table prints the scalar fields of each row under capitalised headers,
//     skipping id, type and etag, laid out like python-tabulate's "simple"
//     format;
//   - yaml is block YAML with sorted keys, lists not indented under their key.
//
// Objects built by a multi-select hash in the query ({Name:name, Group:group})
// keep the order written in the query in table and tsv output, as they do in
// az; every other object is printed in sorted key order.
//
// Parsing the command line, deciding whether stdout is a terminal (az falls
// back from jsonc to json when it is not) and reading the configured default
// format belong to the caller.
package output
