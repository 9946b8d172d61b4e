package appconfig

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
)

// LocalSettingsFile is the name of the local-development settings file.
const LocalSettingsFile = "local.settings.json"

// LocalSettings is a parsed local.settings.json, the file Core Tools reads for local development.
type LocalSettings struct {
	IsEncrypted       bool
	Values            map[string]string // app settings; numbers and booleans are kept as their JSON text
	Host              LocalHost
	ConnectionStrings map[string]ConnectionString
}

// LocalHost is local.settings.json "Host".
type LocalHost struct {
	LocalHTTPPort   int    // 0 when unset (Core Tools then uses 7071)
	CORS            string // comma-separated origins, "*" for any
	CORSCredentials bool
}

// CORSOrigins splits CORS into its origins.
func (h LocalHost) CORSOrigins() []string {
	var out []string
	for o := range strings.SplitSeq(h.CORS, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// ConnectionString is one entry of local.settings.json "ConnectionStrings": either a plain string or
// {"ConnectionString": "...", "ProviderName": "..."}.
type ConnectionString struct {
	ConnectionString string
	ProviderName     string
}

// Lookup returns a Lookup over Values (exact names first, then case-insensitively, as environment variables are
// on Windows), falling back to next when it is not nil.
func (s *LocalSettings) Lookup(next Lookup) Lookup {
	return func(name string) (string, bool) {
		if s != nil {
			if v, ok := s.Values[name]; ok {
				return v, true
			}
			for k, v := range s.Values {
				if strings.EqualFold(k, name) {
					return v, true
				}
			}
		}
		if next != nil {
			return next(name)
		}
		return "", false
	}
}

// LoadLocalSettings reads local.settings.json from fsys. A missing file gives an error that wraps fs.ErrNotExist.
func LoadLocalSettings(fsys fs.FS) (*LocalSettings, error) {
	data, err := fs.ReadFile(fsys, LocalSettingsFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", LocalSettingsFile, err)
	}
	return ParseLocalSettings(data)
}

// ParseLocalSettings parses the contents of local.settings.json. Keys are matched case-insensitively. An encrypted
// file (IsEncrypted true, written by "func settings encrypt" with a machine-bound key) cannot be read and is an
// error telling how to decrypt it.
func ParseLocalSettings(data []byte) (*LocalSettings, error) {
	c := &collector{file: LocalSettingsFile}
	s := &LocalSettings{Values: map[string]string{}, ConnectionStrings: map[string]ConnectionString{}}
	clean := cleanJSON(data)
	root, err := parseObject(clean)
	if err != nil {
		if err == errNotObject {
			c.add("", "must hold a JSON object")
		} else {
			c.add("", "%s", syntaxError(clean, err))
		}
		return nil, c.err()
	}
	if v, ok := root.get("IsEncrypted"); ok {
		s.IsEncrypted, _ = c.boolean("IsEncrypted", v)
	}
	if s.IsEncrypted {
		c.add("IsEncrypted", "is true; encrypted settings cannot be read here: run `func settings decrypt` or set it to false with plain-text Values")
		return nil, c.err()
	}
	if v, ok := root.get("Values"); ok {
		if obj, ok := c.object("Values", v); ok {
			for _, m := range obj {
				if val, ok := scalarString(m.Value); ok {
					s.Values[m.Key] = val
				} else {
					c.add("Values."+m.Key, "must be a string, number or boolean, got %s", kind(m.Value))
				}
			}
		}
	}
	if v, ok := root.get("Host"); ok {
		if obj, ok := c.object("Host", v); ok {
			if v, ok := obj.get("LocalHttpPort"); ok {
				s.Host.LocalHTTPPort, _ = c.intRange("Host.LocalHttpPort", v, 1, 65535)
			}
			if v, ok := obj.get("CORS"); ok {
				s.Host.CORS, _ = c.str("Host.CORS", v)
			}
			if v, ok := obj.get("CORSCredentials"); ok {
				s.Host.CORSCredentials, _ = c.boolean("Host.CORSCredentials", v)
			}
		}
	}
	if v, ok := root.get("ConnectionStrings"); ok {
		if obj, ok := c.object("ConnectionStrings", v); ok {
			for _, m := range obj {
				p := "ConnectionStrings." + m.Key
				if str, ok := scalarString(m.Value); ok {
					s.ConnectionStrings[m.Key] = ConnectionString{ConnectionString: str}
					continue
				}
				entry, err := parseObject(m.Value)
				if err != nil {
					c.add(p, "must be a string or an object with ConnectionString and ProviderName, got %s", kind(m.Value))
					continue
				}
				var cs ConnectionString
				if v, ok := entry.get("ConnectionString"); ok {
					cs.ConnectionString, _ = c.str(p+".ConnectionString", v)
				} else {
					c.add(p+".ConnectionString", "is missing")
				}
				if v, ok := entry.get("ProviderName"); ok {
					cs.ProviderName, _ = c.str(p+".ProviderName", v)
				}
				s.ConnectionStrings[m.Key] = cs
			}
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// scalarString renders a JSON string, number or boolean as a setting value: numbers and booleans keep their JSON
// text ("5", "true"). (Core Tools' Newtonsoft reader may render booleans as "True"; settings are compared
// case-insensitively by the Functions runtime, so "true" is the safer choice for Go workers.)
func scalarString(raw json.RawMessage) (string, bool) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return fmt.Sprint(x), true
	case nil:
		return "", true
	}
	return "", false
}
