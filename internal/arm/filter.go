package arm

import (
	"net/http"
	"strings"
)

// Filter is a parsed ARM $filter for resource and group lists. The subset
// ARM supports there is a conjunction of
//
//	resourceType eq 'Microsoft.Storage/storageAccounts'
//	name eq 'x'        substringof('x', name)
//	location eq 'eastus'
//	resourceGroup eq 'rg'
//	tagName eq 'env' [and tagValue eq 'prod']
//
// joined by "and". Field names, operators and the compared values are
// matched without regard to case, as ARM does; tag values are exact.
type Filter struct {
	clauses []clause
	tagName string
	tagVal  *string
}

type clause struct {
	field, op, value string
}

// ParseFilter parses a $filter; the empty string matches everything.
func ParseFilter(s string) (*Filter, error) {
	f := &Filter{}
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	p := &filterParser{s: s}
	for {
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		switch c.field {
		case "tagname":
			f.tagName = c.value
		case "tagvalue":
			v := c.value
			f.tagVal = &v
		default:
			f.clauses = append(f.clauses, c)
		}
		p.space()
		if p.eof() {
			break
		}
		if !p.word("and") {
			return nil, p.fail("expected 'and'")
		}
	}
	if f.tagVal != nil && f.tagName == "" {
		return nil, p.fail("tagValue needs tagName")
	}
	return f, nil
}

// Match reports whether a record passes the filter.
func (f *Filter) Match(r *Record) bool {
	id, _ := ParseID(r.ID)
	for _, c := range f.clauses {
		var got string
		switch c.field {
		case "resourcetype":
			got = r.Type
		case "name":
			got = r.Name
		case "location":
			got = r.Location
		case "resourcegroup":
			got = id.ResourceGroup
		}
		got, want := strings.ToLower(got), strings.ToLower(c.value)
		if c.op == "eq" && got != want || c.op == "substringof" && !strings.Contains(got, want) {
			return false
		}
	}
	if f.tagName != "" {
		var found bool
		for k, v := range r.Tags {
			if strings.EqualFold(k, f.tagName) && (f.tagVal == nil || v == *f.tagVal) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type filterParser struct {
	s   string
	pos int
}

func (p *filterParser) fail(why string) error {
	return Errorf(http.StatusBadRequest, "InvalidFilterInQueryString",
		"Invalid $filter '%s' specified in the query string: %s at position %d.", p.s, why, p.pos)
}

func (p *filterParser) eof() bool { return p.pos >= len(p.s) }

func (p *filterParser) space() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// word consumes a case-insensitive keyword followed by a space or the end.
func (p *filterParser) word(w string) bool {
	p.space()
	if len(p.s)-p.pos < len(w) || !strings.EqualFold(p.s[p.pos:p.pos+len(w)], w) {
		return false
	}
	end := p.pos + len(w)
	if end < len(p.s) && isIdent(p.s[end]) {
		return false
	}
	p.pos = end
	return true
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (p *filterParser) ident() string {
	p.space()
	start := p.pos
	for p.pos < len(p.s) && isIdent(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *filterParser) str() (string, error) {
	p.space()
	if p.eof() || p.s[p.pos] != '\'' {
		return "", p.fail("expected a quoted string")
	}
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.fail("unterminated string")
		}
		c := p.s[p.pos]
		p.pos++
		if c == '\'' {
			if !p.eof() && p.s[p.pos] == '\'' {
				b.WriteByte('\'')
				p.pos++
				continue
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
}

func (p *filterParser) punct(c byte) error {
	p.space()
	if p.eof() || p.s[p.pos] != c {
		return p.fail("expected '" + string(c) + "'")
	}
	p.pos++
	return nil
}

var filterFields = map[string]bool{"resourcetype": true, "name": true, "location": true, "resourcegroup": true, "tagname": true, "tagvalue": true}

func (p *filterParser) clause() (clause, error) {
	if p.word("substringof") {
		if err := p.punct('('); err != nil {
			return clause{}, err
		}
		v, err := p.str()
		if err != nil {
			return clause{}, err
		}
		if err := p.punct(','); err != nil {
			return clause{}, err
		}
		field := strings.ToLower(p.ident())
		if field != "name" && field != "resourcegroup" {
			return clause{}, p.fail("substringof supports only name and resourceGroup")
		}
		if err := p.punct(')'); err != nil {
			return clause{}, err
		}
		return clause{field: field, op: "substringof", value: v}, nil
	}
	field := strings.ToLower(p.ident())
	if !filterFields[field] {
		return clause{}, p.fail("unsupported field '" + field + "'")
	}
	if !p.word("eq") {
		return clause{}, p.fail("expected 'eq'")
	}
	v, err := p.str()
	if err != nil {
		return clause{}, err
	}
	return clause{field: field, op: "eq", value: v}, nil
}
