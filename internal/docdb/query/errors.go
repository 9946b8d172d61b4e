package query

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by a [*SyntaxError] that reports valid Cosmos DB
// query syntax Lapis does not implement (GROUP BY, subqueries, user-defined
// functions, spatial functions, more than one ORDER BY term, ...).
var ErrUnsupported = errors.New("not supported by Lapis")

// ErrParameter is wrapped by the errors that report a query parameter that
// is missing or whose value cannot be used (not JSON, or not a count where
// TOP, OFFSET or LIMIT needs one).
var ErrParameter = errors.New("query parameter")

// SyntaxError reports a query that cannot be compiled: malformed text, a
// semantic mistake such as an unresolved identifier, or a feature Lapis does
// not support (then it wraps [ErrUnsupported]). The service answers all of
// them with 400 Bad Request and the message.
type SyntaxError struct {
	Pos  int    // byte offset in the query text, 0-based; len(text) for "at the end"
	Line int    // 1-based line of Pos
	Col  int    // 1-based column of Pos, counted in characters
	Msg  string // what is wrong
	Err  error  // ErrUnsupported, or nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d (line %d, column %d): %s", e.Pos, e.Line, e.Col, e.Msg)
}

// Unwrap returns [ErrUnsupported] for unsupported features, else nil.
func (e *SyntaxError) Unwrap() error { return e.Err }

// newSyntaxError locates pos in text.
func newSyntaxError(text string, pos int, err error, msg string) *SyntaxError {
	pos = max(0, min(pos, len(text)))
	line, col := 1, 1
	for i := 0; i < pos; {
		r, n := utf8.DecodeRuneInString(text[i:])
		if i+n > pos {
			break
		}
		i += n
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Pos: pos, Line: line, Col: col, Msg: msg, Err: err}
}

// paramError reports a problem with the parameter name (given with its @).
func paramError(name, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrParameter, name, fmt.Sprintf(format, args...))
}
