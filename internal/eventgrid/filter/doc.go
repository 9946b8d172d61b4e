// Package filter decides whether an event matches an Event Grid event
// subscription's filter, as Azure Event Grid does.
//
// It owns exactly three things: the ARM JSON shape of an eventSubscription's
// properties.filter (Filter, AdvancedFilter; Parse or json.Unmarshal), its
// validation against Azure's rules and limits (Validate), and matching a
// decoded event against it (Match, with Event built once per published event by
// FromEventGrid, FromCloudEvent or FromMap). It does no I/O and knows nothing of
// topics, subscriptions, delivery or schemas beyond the envelope keys below.
//
// Sources: the current azure-docs article event-grid/event-filtering.md
// (operator pseudo-code, the missing-key note, limits) and the 2018 revision
// cited in shared/reference/azure-wire-protocols.md §2.3.
//
// # Matching
//
// An event matches when all of these hold (an empty part always holds):
//
//	includedEventTypes   eventType (Event Grid) / type (CloudEvents) equals one entry, case-insensitively;
//	                     nil, [] or an entry "All" means every type
//	subjectBeginsWith    subject has the prefix; case-insensitive unless isSubjectCaseSensitive
//	subjectEndsWith      subject has the suffix; same case rule; a missing subject is ""
//	advancedFilters      every filter holds (AND); within one filter, any of values (OR)
//
// # Keys
//
// A key is dot-separated: "subject", "data.a.b.c", a CloudEvents extension
// name. Each segment names an object member, exact name first, else the first
// member equal under case folding (Azure's own examples write "Data.Key1",
// "Subject", "ID"). Event Grid events answer id, topic, subject, eventType,
// eventTime, dataVersion, metadataVersion and data.*; CloudEvents answer id,
// source, type, specversion, subject, time, datacontenttype, dataschema,
// extension attributes and data.*. There is no aliasing between the schemas
// (eventType is undefined on a CloudEvent). As in Azure, a member whose name
// contains a dot cannot be addressed (no escapes), and a key cannot pass
// through an array. Azure documents no depth limit now (the 2018 article
// allowed two levels below data); Lapis caps keys at MaxKeyDepth segments.
//
// # Values and types
//
// Numbers are float64, strings are compared case-insensitively (Unicode simple
// folding), booleans only by BoolEquals. A value of a type the operator does
// not take is a type mismatch: Number* operators need a JSON number (the
// string "5" is not one), String* operators a JSON string, BoolEquals a JSON
// boolean. A type mismatch never matches, positive or negative operator.
// One exception, following Azure's CloudEvents example (StringBeginsWith on
// the numeric extension comexampleothervalue): CloudEvents context attributes
// (top-level members other than data) that are numbers or booleans are also
// seen by String* operators in their canonical string form ("5", "true").
//
// # Missing keys, null, arrays
//
// "Missing" means the key is undefined or its value is JSON null (Azure's
// IsNullOrUndefined treats both alike; Lapis extends that to every operator).
// "Flag" is enableAdvancedFilteringOnArrays.
//
//	operator                     missing/null  scalar        array, flag off  array, flag on
//	NumberIn                     false         v in values   false            any element in values
//	NumberNotIn                  TRUE          v not in      false            every number element not in, ≥1 number element
//	NumberLessThan (…OrEquals)   false         v < x (<=)    false            any element
//	NumberGreaterThan (…OrEq.)   false         v > x (>=)    false            any element
//	NumberInRange                false         lo<=v<=hi     false            any element in any range
//	NumberNotInRange             false (*)     in no range   false            every number element in no range, ≥1
//	BoolEquals                   false         v == x        false            any element
//	StringIn                     false         equal any     false            any element
//	StringNotIn                  TRUE          equal none    false            every string element equals none, ≥1
//	StringContains               false         contains any  false            any element
//	StringNotContains            false         contains none false            every string element, ≥1
//	StringBeginsWith/EndsWith    false         any prefix    false            any element
//	StringNotBeginsWith/EndsWith false         no prefix     false            every string element, ≥1
//	IsNullOrUndefined            true          false         false            false
//	IsNotNull                    false         true          true             true
//
// Azure's note says a missing key is "not matched" for every operator except
// NumberNotIn and StringNotIn, which are "matched"; note that this includes
// StringNotContains, StringNotBeginsWith and StringNotEndsWith. (*) The note
// lists neither NumberInRange nor NumberNotInRange; Lapis makes
// NumberNotInRange not match, like the other operators introduced with it
// (StringNot*), rather than like the older NotIn pair.
//
// With the flag on, array elements of another type than the operator's (and
// nulls, objects, nested arrays) are ignored, as Azure's pseudo-code says;
// an array with no element of the operator's type (including []) behaves like
// a type mismatch and matches nothing but IsNotNull. Azure does not support
// arrays of objects. With the flag off, an array satisfies no value operator,
// positive or negative; it is still not null.
//
// # Validation
//
// Validate returns the first violation as a *ValidationError whose Field is the
// JSON path ("advancedFilters[2].values[0]") and whose Message states the rule:
//
//	at most 25 advanced filters per subscription            MaxAdvancedFilters
//	at most 25 filter values across all advanced filters    MaxFilterValues (a [lo,hi] range is one value,
//	                                                        value is one, IsNull/IsNotNull none)
//	at most 512 characters per string value (UTF-16 units)  MaxStringValueLength
//	operatorType required and known (case-insensitive)
//	key required, no empty segment, at most MaxKeyDepth segments
//	value for the single-value operators (NumberLessThan, NumberGreaterThan,
//	…OrEquals: a number; BoolEquals: a boolean); values (non-empty) for the rest:
//	numbers, strings, or [lo, hi] pairs with lo <= hi; neither for IsNullOrUndefined/IsNotNull
//	includedEventTypes entries non-empty
//
// Match does not validate: an advanced filter that would fail validation never
// matches.
//
// # Performance
//
// Parse/Unmarshal compile the filter (lower-cased operator lookup, split keys,
// typed values); events are decoded once into a compact tree. Match then does
// no JSON work and no allocation (see BenchmarkMatch and
// TestMatchDoesNotAllocate). Prepared Filters and Events are safe for
// concurrent use.
package filter
