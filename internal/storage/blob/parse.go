package blob

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lapisdev/lapis/internal/storage/wire"
)

// ValidContainerName applies Azure's container name rules: 3 to 63
// characters, lower-case letters, digits and hyphens, starting and ending
// with a letter or digit, no two hyphens in a row. "$root", "$logs" and
// "$web" are the special names Azure also accepts.
func ValidContainerName(name string) bool {
	switch name {
	case "$root", "$logs", "$web":
		return true
	}
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func errInvalidContainerName(name string) error {
	return wire.Errorf(http.StatusBadRequest, "InvalidResourceName",
		"The specified resource name contains invalid characters: %q. Container names are 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.", name)
}

// validBlobName checks a blob name: 1 to 1024 characters of valid UTF-8.
func validBlobName(name string) bool {
	return name != "" && utf8.RuneCountInString(name) <= 1024 && utf8.ValidString(name) && !strings.ContainsRune(name, 0)
}

// validBlockID checks a block id: base64 of at most 64 bytes.
func validBlockID(id string) bool {
	if id == "" {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(id)
	return err == nil && len(b) <= 64
}

// byteRange is an inclusive byte range; End < 0 means "to the end".
type byteRange struct {
	Start, End int64
}

// parseRange parses one "bytes=a-b" or "bytes=a-" range, as Azure reads
// Range and x-ms-range. It returns ok false for anything else (suffix
// ranges, several ranges, bad numbers), which Azure ignores for Range.
func parseRange(s string) (byteRange, bool) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "bytes=")
	if !ok {
		return byteRange{}, false
	}
	a, b, ok := strings.Cut(rest, "-")
	if !ok || a == "" || strings.ContainsAny(rest, ",") {
		return byteRange{}, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || !allDigits(a) {
		return byteRange{}, false
	}
	if b == "" {
		return byteRange{Start: start, End: -1}, true
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < start || !allDigits(b) {
		return byteRange{}, false
	}
	return byteRange{Start: start, End: end}, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// blockLookup is one entry of a Put Block List body.
type blockLookup struct {
	List string // "Latest", "Committed" or "Uncommitted"
	ID   string
}

// maxBlocks is the most blocks a block blob may have.
const maxBlocks = 50000

// parseBlockList reads a Put Block List body, keeping the order of the
// entries across the three kinds.
func parseBlockList(body []byte) ([]blockLookup, error) {
	d := xml.NewDecoder(strings.NewReader(string(body)))
	var out []blockLookup
	depth := 0
	sawRoot := false
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF && sawRoot && depth == 0 {
				return out, nil
			}
			return nil, wire.ErrInvalidXMLDocument
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if t.Name.Local != "BlockList" || sawRoot {
					return nil, wire.ErrInvalidXMLDocument
				}
				sawRoot = true
			case depth == 2:
				switch t.Name.Local {
				case "Latest", "Committed", "Uncommitted":
				default:
					return nil, wire.ErrInvalidXMLDocument
				}
				id, err := elementText(d)
				if err != nil {
					return nil, wire.ErrInvalidXMLDocument
				}
				depth--
				out = append(out, blockLookup{List: t.Name.Local, ID: strings.TrimSpace(id)})
				if len(out) > maxBlocks {
					return nil, wire.Errorf(http.StatusRequestEntityTooLarge, "BlockListTooLong", "The block list may not contain more than %d blocks.", maxBlocks)
				}
			default:
				return nil, wire.ErrInvalidXMLDocument
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth != 1 && len(strings.TrimSpace(string(t))) > 0 {
				return nil, wire.ErrInvalidXMLDocument
			}
		}
	}
}

// elementText reads the text of an element whose start was just read, up
// to its end; an element inside it is an error.
func elementText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", errNested
		}
	}
}

var errNested = errors.New("blob: unexpected element")
