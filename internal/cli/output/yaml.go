package output

import (
	"bytes"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

// writeYAML writes v as block YAML with sorted keys and sequences not
// indented under their key, which is how PyYAML's safe_dump (used by az)
// lays it out. Like PyYAML it ends a document whose root is a plain scalar
// with "...". Quoting and long strings follow go-yaml, not PyYAML.
func writeYAML(buf *bytes.Buffer, v any) error {
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	root := yamlNode(v)
	if err := enc.Encode(root); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	b := out.Bytes()
	buf.Write(b)
	if root.Kind == yaml.ScalarNode && len(b) > 0 && !bytes.ContainsAny(b[:1], `'"|>`) {
		buf.WriteString("...\n")
	}
	return nil
}

func yamlNode(v any) *yaml.Node {
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		s := "false"
		if x {
			s = "true"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: s}
	case float64:
		return yamlNumber(x)
	case string:
		return yamlString(x)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			n.Content = append(n.Content, yamlNode(e))
		}
		return n
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range sortedKeys(x) {
			n.Content = append(n.Content,
				yamlString(k),
				yamlNode(x[k]))
		}
		return n
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// yamlString is a string scalar. Three cases are forced into double quotes,
// which go-yaml would otherwise leave open to misreading: "<<", which
// readers take for a merge key; YAML 1.1 booleans such as yes and off, which
// PyYAML (az's YAML library) reads as bools; and U+0085, U+2028 or U+2029,
// which readers fold when they appear raw in a quoted scalar. A tab is a
// fourth: go-yaml would put a multi-line string with a tab at the start of a
// line in a literal block, where a tab cannot stand as indentation.
func yamlString(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if s == "<<" || yaml11Bools[s] || strings.ContainsAny(s, "\u0085\u2028\u2029\t") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

var yaml11Bools = map[string]bool{}

func init() {
	for _, s := range strings.Fields("y yes on n no off") {
		yaml11Bools[s] = true
		yaml11Bools[strings.ToUpper(s)] = true
		yaml11Bools[strings.ToUpper(s[:1])+s[1:]] = true
	}
}

// yamlNumber is a number scalar. It carries no tag, so that go-yaml prints
// it plain and readers resolve it as the number it looks like.
func yamlNumber(f float64) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode}
	switch {
	case math.IsNaN(f):
		n.Value = ".nan"
	case math.IsInf(f, 1):
		n.Value = ".inf"
	case math.IsInf(f, -1):
		n.Value = "-.inf"
	default:
		n.Value = pyNumber(f)
		if strings.Contains(n.Value, "e") && !strings.Contains(n.Value, ".") {
			// 1e-05 is a string to YAML 1.1 readers such as PyYAML, which
			// itself writes 1.0e-05.
			n.Value = strings.Replace(n.Value, "e", ".0e", 1)
		}
	}
	return n
}
