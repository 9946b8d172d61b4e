package output

import (
	"fmt"
	"strings"
)

// Format is one of az's -o values.
type Format string

// The output formats. YAML also stands for az's "yamlc", which this package
// prints without colour.
const (
	JSON  Format = "json"
	JSONC Format = "jsonc"
	TSV   Format = "tsv"
	Table Format = "table"
	YAML  Format = "yaml"
	None  Format = "none"
)

// choices is what az lists, in az's order, when -o is given a bad value.
var choices = []string{"json", "jsonc", "none", "table", "tsv", "yaml", "yamlc"}

// ParseFormat turns an --output/-o value into a Format. Like az it ignores
// case and accepts "yamlc" (as YAML). The error names the allowed values the
// way az's argument parser does.
func ParseFormat(s string) (Format, error) {
	v := strings.ToLower(s)
	switch v {
	case "json", "jsonc", "none", "table", "tsv", "yaml":
		return Format(v), nil
	case "yamlc":
		return YAML, nil
	}
	quoted := make([]string, len(choices))
	for i, c := range choices {
		quoted[i] = pyQuote(c)
	}
	return "", fmt.Errorf("argument --output/-o: invalid choice: %s (choose from %s)",
		pyQuote(v), strings.Join(quoted, ", "))
}

// Plain returns f without colour: JSON for JSONC, f itself otherwise. az
// prints jsonc as json when stdout is not a terminal; callers that know that
// can write Write(w, v, f.Plain(), q).
func (f Format) Plain() Format {
	if f == JSONC {
		return JSON
	}
	return f
}

// resolve validates f for Write; the zero Format means JSON, az's default.
func (f Format) resolve() (Format, error) {
	if f == "" {
		return JSON, nil
	}
	return ParseFormat(string(f))
}
