package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tString
	tParam
	tLParen
	tRParen
	tLBrack
	tRBrack
	tLBrace
	tRBrace
	tComma
	tDot
	tColon
	tStar
	tPlus
	tMinus
	tSlash
	tPercent
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tConcat   // ||
	tQuestion // ?
	tCoalesce // ??
	tAmp      // &, bitwise: not supported
	tPipe     // |
	tCaret    // ^
	tTilde    // ~
	tShl      // <<
	tShr      // >>
	tShrZ     // >>>
)

var punctText = map[tokKind]string{
	tLParen: "(", tRParen: ")", tLBrack: "[", tRBrack: "]", tLBrace: "{", tRBrace: "}",
	tComma: ",", tDot: ".", tColon: ":", tStar: "*", tPlus: "+", tMinus: "-", tSlash: "/",
	tPercent: "%", tEq: "=", tNe: "!=", tLt: "<", tLe: "<=", tGt: ">", tGe: ">=",
	tConcat: "||", tQuestion: "?", tCoalesce: "??", tAmp: "&", tPipe: "|", tCaret: "^",
	tTilde: "~", tShl: "<<", tShr: ">>", tShrZ: ">>>",
}

type token struct {
	kind tokKind
	pos  int     // byte offset of the token's first character
	text string  // the token's source text
	str  string  // decoded value of a string literal; name of a parameter (with @)
	num  float64 // value of a number literal
}

// describe names a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tIdent:
		if isReserved(t.text) {
			return "keyword " + strings.ToUpper(t.text)
		}
		return fmt.Sprintf("identifier %q", t.text)
	case tNumber:
		return "number " + t.text
	case tString:
		return "string " + t.text
	case tParam:
		return "parameter " + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

// is reports whether t is the keyword kw (given in upper case).
func (t token) is(kw string) bool {
	return t.kind == tIdent && len(t.text) == len(kw) && strings.EqualFold(t.text, kw)
}

// reserved are the keywords that cannot name an alias or a property
// without brackets. ALL, FIRST and LAST are keywords only before "(".
var reserved = map[string]bool{
	"AND": true, "ARRAY": true, "AS": true, "ASC": true, "BETWEEN": true, "BY": true,
	"DESC": true, "DISTINCT": true, "ESCAPE": true, "EXISTS": true, "FALSE": true,
	"FROM": true, "GROUP": true, "IN": true, "JOIN": true, "LEFT": true, "LIKE": true,
	"LIMIT": true, "NOT": true, "NULL": true, "OFFSET": true, "OR": true, "ORDER": true,
	"RANK": true, "RIGHT": true, "SELECT": true, "TOP": true, "TRUE": true, "UDF": true,
	"UNDEFINED": true, "VALUE": true, "WHERE": true,
}

func isReserved(s string) bool {
	return len(s) <= 9 && reserved[strings.ToUpper(s)]
}

// lex splits text into tokens, ending with tEOF.
func lex(text string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			return append(toks, token{kind: tEOF, pos: len(text)}), nil
		}
		start := i
		c := text[i]
		switch {
		case isIdentStart(c):
			for i < len(text) && isIdentPart(text[i]) {
				i++
			}
			toks = append(toks, token{kind: tIdent, pos: start, text: text[start:i]})
			continue
		case isDigit(c) || c == '.' && i+1 < len(text) && isDigit(text[i+1]):
			tok, err := lexNumber(text, start)
			if err != nil {
				return nil, err
			}
			i = start + len(tok.text)
			toks = append(toks, tok)
			continue
		case c == '"' || c == '\'':
			tok, err := lexString(text, start)
			if err != nil {
				return nil, err
			}
			i = start + len(tok.text)
			toks = append(toks, tok)
			continue
		case c == '@':
			i++
			if i >= len(text) || !isIdentStart(text[i]) {
				return nil, newSyntaxError(text, start, nil, "a parameter needs a name after @, such as @name")
			}
			for i < len(text) && isIdentPart(text[i]) {
				i++
			}
			toks = append(toks, token{kind: tParam, pos: start, text: text[start:i], str: text[start:i]})
			continue
		}
		kind, n := punct(text[i:])
		if n == 0 {
			r, _ := utf8.DecodeRuneInString(text[i:])
			return nil, newSyntaxError(text, start, nil, fmt.Sprintf("unexpected character %q", r))
		}
		i += n
		toks = append(toks, token{kind: kind, pos: start, text: text[start:i]})
	}
}

func punct(s string) (tokKind, int) {
	two := func(next byte, k2, k1 tokKind) (tokKind, int) {
		if len(s) > 1 && s[1] == next {
			return k2, 2
		}
		return k1, 1
	}
	switch s[0] {
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case '[':
		return tLBrack, 1
	case ']':
		return tRBrack, 1
	case '{':
		return tLBrace, 1
	case '}':
		return tRBrace, 1
	case ',':
		return tComma, 1
	case '.':
		return tDot, 1
	case ':':
		return tColon, 1
	case '*':
		return tStar, 1
	case '+':
		return tPlus, 1
	case '-':
		return tMinus, 1
	case '/':
		return tSlash, 1
	case '%':
		return tPercent, 1
	case '=':
		return tEq, 1
	case '!':
		if len(s) > 1 && s[1] == '=' {
			return tNe, 2
		}
		return 0, 0
	case '<':
		if len(s) > 1 {
			switch s[1] {
			case '=':
				return tLe, 2
			case '>':
				return tNe, 2
			case '<':
				return tShl, 2
			}
		}
		return tLt, 1
	case '>':
		if strings.HasPrefix(s, ">>>") {
			return tShrZ, 3
		}
		if len(s) > 1 {
			switch s[1] {
			case '=':
				return tGe, 2
			case '>':
				return tShr, 2
			}
		}
		return tGt, 1
	case '|':
		return two('|', tConcat, tPipe)
	case '?':
		return two('?', tCoalesce, tQuestion)
	case '&':
		return tAmp, 1
	case '^':
		return tCaret, 1
	case '~':
		return tTilde, 1
	}
	return 0, 0
}

// lexNumber reads DIGITS [. DIGITS] [e [+-] DIGITS] or . DIGITS [exponent].
func lexNumber(text string, start int) (token, error) {
	i := start
	digits := func() {
		for i < len(text) && isDigit(text[i]) {
			i++
		}
	}
	digits()
	if i < len(text) && text[i] == '.' {
		i++
		digits()
	}
	if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
		j := i + 1
		if j < len(text) && (text[j] == '+' || text[j] == '-') {
			j++
		}
		if j >= len(text) || !isDigit(text[j]) {
			return token{}, newSyntaxError(text, start, nil, fmt.Sprintf("malformed number %q", text[start:j]))
		}
		i = j
		digits()
	}
	if i < len(text) && isIdentStart(text[i]) {
		return token{}, newSyntaxError(text, i, nil, fmt.Sprintf("unexpected %q after number %s", text[i], text[start:i]))
	}
	s := text[start:i]
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, newSyntaxError(text, start, nil, fmt.Sprintf("number %s is out of range", s))
	}
	return token{kind: tNumber, pos: start, text: s, num: f}, nil
}

// lexString reads a single- or double-quoted string with JSON escapes
// (plus \' so single-quoted strings can hold a quote).
func lexString(text string, start int) (token, error) {
	quote := text[start]
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(text) {
			return token{}, newSyntaxError(text, start, nil, "unterminated string literal")
		}
		c := text[i]
		switch {
		case c == quote:
			i++
			return token{kind: tString, pos: start, text: text[start:i], str: b.String()}, nil
		case c < 0x20:
			return token{}, newSyntaxError(text, i, nil, "control character in string literal; use an escape such as \\n")
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(text) {
			return token{}, newSyntaxError(text, start, nil, "unterminated string literal")
		}
		esc := text[i+1]
		switch esc {
		case '"', '\'', '\\', '/':
			b.WriteByte(esc)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(text, i+2)
			if !ok {
				return token{}, newSyntaxError(text, i, nil, "malformed \\u escape: want four hex digits")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(text, i+4); ok && i+3 < len(text) && text[i+2] == '\\' && text[i+3] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					}
				}
			}
			b.WriteRune(r) // a lone surrogate becomes U+FFFD
		default:
			return token{}, newSyntaxError(text, i, nil, fmt.Sprintf("unknown escape \\%c in string literal", esc))
		}
		i += 2
	}
}

func hex4(text string, at int) (rune, bool) {
	if at+4 > len(text) {
		return 0, false
	}
	n, err := strconv.ParseUint(text[at:at+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
