package queue

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"<QueueMessage><MessageText>hi</MessageText></QueueMessage>",
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText></MessageText></QueueMessage>",
		"<QueueMessage/>", "<Other><MessageText>x</MessageText></Other>", "", "<", "<QueueMessage><MessageText>&amp;&#xD;</MessageText></QueueMessage>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		text, err := ParseMessage(body)
		if err != nil {
			return
		}
		if len(text) > MaxMessageSize {
			t.Fatalf("accepted %d bytes", len(text))
		}
		// What was accepted survives the service's own encoding.
		b, err := xml.Marshal(toXML([]Message{{Text: text}}, showGet))
		if err != nil {
			t.Fatal(err)
		}
		var back msgListXML
		if err := xml.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(text) && !strings.ContainsFunc(text, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }) &&
			*back.Msgs[0].MessageText != text {
			t.Fatalf("round trip %q -> %q", text, *back.Msgs[0].MessageText)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"abc", "a-b-c", "a--b", "-ab", "ab-", "AB", strings.Repeat("a", 63), strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ok := ValidateName(name) == nil
		want := len(name) >= 3 && len(name) <= 63
		for i := 0; want && i < len(name); i++ {
			c := name[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			case c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
			default:
				want = false
			}
		}
		if ok != want {
			t.Fatalf("ValidateName(%q) ok=%v, want %v", name, ok, want)
		}
	})
}

func TestParseMessageErrors(t *testing.T) {
	for body, code := range map[string]string{
		"<QueueMessage><MessageText>x</MessageText>":  "InvalidXmlDocument",
		"<Other><MessageText>x</MessageText></Other>": "InvalidXmlDocument",
		"<QueueMessage></QueueMessage>":               "InvalidXmlDocument",
		"<QueueMessage><MessageText>" + strings.Repeat("a", MaxMessageSize+1) + "</MessageText></QueueMessage>": "RequestBodyTooLarge",
	} {
		_, err := ParseMessage([]byte(body))
		if err == nil || !strings.HasPrefix(err.Error(), code+":") {
			t.Errorf("ParseMessage(%.40q): %v, want %s", body, err, code)
		}
	}
}
