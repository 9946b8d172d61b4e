package fn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// The host routes HTTP requests to functions; the worker matches routes only
// for requests the host forwards as is (§1.4), to learn the function (when
// the host did not name it in the X-Lapis-Function header) and the route
// values. Templates follow ASP.NET Core's syntax as Azure uses it.

type routeTemplate struct {
	text string
	segs []routeSeg
}

type routeSeg struct {
	literal     string // for a literal segment
	param       string // parameter name, or "" for a literal
	constraints []string
	optional    bool
	catchAll    bool
	complex     bool // literal text mixed with parameters: not matched here
}

func parseRoute(t string) (*routeTemplate, error) {
	rt := &routeTemplate{text: t}
	s := strings.TrimPrefix(strings.TrimPrefix(t, "~"), "/")
	s = strings.TrimSuffix(s, "/")
	if s == "" {
		return rt, nil
	}
	names := map[string]bool{}
	parts := strings.Split(s, "/")
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("route %q has an empty segment", t)
		}
		if strings.Count(p, "{") != strings.Count(p, "}") {
			return nil, fmt.Errorf("route %q: unbalanced braces in %q", t, p)
		}
		if !strings.Contains(p, "{") {
			rt.segs = append(rt.segs, routeSeg{literal: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.Count(p, "{") > 1 {
			rt.segs = append(rt.segs, routeSeg{complex: true})
			continue
		}
		seg, err := parseParam(p[1 : len(p)-1])
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", t, err)
		}
		if seg.catchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("route %q: the catch-all {*%s} must be the last segment", t, seg.param)
		}
		key := strings.ToLower(seg.param)
		if names[key] {
			return nil, fmt.Errorf("route %q: parameter %q appears twice", t, seg.param)
		}
		names[key] = true
		rt.segs = append(rt.segs, seg)
	}
	return rt, nil
}

func parseParam(in string) (routeSeg, error) {
	var seg routeSeg
	if strings.HasPrefix(in, "*") {
		seg.catchAll = true
		in = strings.TrimLeft(in, "*")
	}
	// Split "name:c1:c2(args)?" on colons outside parentheses.
	var fields []string
	depth, start := 0, 0
	for i, r := range in {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ':':
			if depth == 0 {
				fields = append(fields, in[start:i])
				start = i + 1
			}
		}
	}
	fields = append(fields, in[start:])
	name := fields[0]
	last := &fields[len(fields)-1]
	if strings.HasSuffix(*last, "?") {
		seg.optional = true
		*last = strings.TrimSuffix(*last, "?")
		name = fields[0]
	}
	if i := strings.Index(*last, "="); i >= 0 && !strings.Contains((*last)[:i], "(") {
		seg.optional = true // a default value makes it optional
		*last = (*last)[:i]
		name = fields[0]
	}
	if name == "" {
		return seg, fmt.Errorf("a parameter has no name")
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return seg, fmt.Errorf("parameter name %q is not valid", name)
		}
	}
	seg.param = name
	seg.constraints = fields[1:]
	return seg, nil
}

// match matches a path (without the route prefix, slashes trimmed) and
// returns the route values.
func (rt *routeTemplate) match(path string) (map[string]string, bool) {
	path = strings.Trim(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	vals := map[string]string{}
	for i, seg := range rt.segs {
		if seg.catchAll {
			rest := strings.Join(parts[min(i, len(parts)):], "/")
			if rest != "" && !constraintsOK(seg.constraints, rest) {
				return nil, false
			}
			if rest != "" || !seg.optional {
				vals[seg.param] = rest
			}
			return vals, true
		}
		if i >= len(parts) {
			if !seg.optional {
				return nil, false
			}
			continue
		}
		p := parts[i]
		switch {
		case seg.complex:
			return nil, false
		case seg.param == "":
			if !strings.EqualFold(seg.literal, p) {
				return nil, false
			}
		default:
			if !constraintsOK(seg.constraints, p) {
				return nil, false
			}
			vals[seg.param] = p
		}
	}
	if len(parts) > len(rt.segs) {
		return nil, false
	}
	return vals, true
}

var guidRE = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$`)

// constraintsOK checks the ASP.NET route constraints the worker knows;
// others (datetime, required, ...) are left to the host.
func constraintsOK(cs []string, v string) bool {
	for _, c := range cs {
		name, arg, _ := strings.Cut(c, "(")
		arg = strings.TrimSuffix(arg, ")")
		args := strings.Split(arg, ",")
		num := func(i int) int64 {
			n, _ := strconv.ParseInt(strings.TrimSpace(args[min(i, len(args)-1)]), 10, 64)
			return n
		}
		ok := true
		switch strings.ToLower(name) {
		case "int":
			_, err := strconv.ParseInt(v, 10, 32)
			ok = err == nil
		case "long":
			_, err := strconv.ParseInt(v, 10, 64)
			ok = err == nil
		case "double", "float", "decimal":
			_, err := strconv.ParseFloat(v, 64)
			ok = err == nil
		case "bool":
			ok = strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
		case "alpha":
			ok = v != "" && strings.IndexFunc(v, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) < 0
		case "guid":
			ok = guidRE.MatchString(v)
		case "minlength":
			ok = int64(len([]rune(v))) >= num(0)
		case "maxlength":
			ok = int64(len([]rune(v))) <= num(0)
		case "length":
			n := int64(len([]rune(v)))
			ok = n >= num(0) && n <= num(1)
		case "min", "max", "range":
			n, err := strconv.ParseInt(v, 10, 64)
			switch strings.ToLower(name) {
			case "min":
				ok = err == nil && n >= num(0)
			case "max":
				ok = err == nil && n <= num(0)
			default:
				ok = err == nil && n >= num(0) && n <= num(1)
			}
		case "regex":
			re, err := regexp.Compile(arg)
			ok = err != nil || re.MatchString(v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// routePrefix is the HTTP route prefix, as the host applies it: the
// AzureFunctionsJobHost__extensions__http__routePrefix setting if set, else
// extensions.http.routePrefix in the app's host.json (in
// FUNCTIONS_APP_ROOT_PATH, else the working directory), else "api".
func routePrefix() string {
	if p, ok := os.LookupEnv("AzureFunctionsJobHost__extensions__http__routePrefix"); ok {
		return strings.Trim(p, "/")
	}
	dir := os.Getenv("FUNCTIONS_APP_ROOT_PATH")
	if b, err := os.ReadFile(filepath.Join(dir, "host.json")); err == nil {
		var hj struct {
			Extensions struct {
				HTTP struct {
					RoutePrefix *string `json:"routePrefix"`
				} `json:"http"`
			} `json:"extensions"`
		}
		if json.Unmarshal(b, &hj) == nil && hj.Extensions.HTTP.RoutePrefix != nil {
			return strings.Trim(*hj.Extensions.HTTP.RoutePrefix, "/")
		}
	}
	return "api"
}

// stripPrefix removes the route prefix from a request path, reporting
// whether the path was under it.
func stripPrefix(path, prefix string) (string, bool) {
	path = strings.TrimPrefix(path, "/")
	if prefix == "" {
		return path, true
	}
	if len(path) >= len(prefix) && strings.EqualFold(path[:len(prefix)], prefix) {
		rest := path[len(prefix):]
		if rest == "" || rest[0] == '/' {
			return strings.TrimPrefix(rest, "/"), true
		}
	}
	return "", false
}
