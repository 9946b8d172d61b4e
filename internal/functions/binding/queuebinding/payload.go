package queuebinding

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// DecodeMessage returns the text a function sees for a message's stored text. With messageEncoding "base64"
// (the default) it is the base64-decoded text when the stored text is valid base64 whose bytes are UTF-8, and
// otherwise the stored text as is: Lapis accepts both, so that messages from clients that do not encode (the Go
// azqueue client, Event Grid) work. Azure's host fails such a message instead ("The input is not a valid
// Base-64 string"), and it ends in the poison queue. With "none" the stored text is used as is.
func DecodeMessage(text, encoding string) string {
	if encoding == "none" || text == "" {
		return text
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil || !utf8.Valid(b) {
		return text
	}
	return string(b)
}

// EncodeMessage returns the text to store for a message: base64 unless messageEncoding is "none".
func EncodeMessage(text, encoding string) string {
	if encoding == "none" {
		return text
	}
	return base64.StdEncoding.EncodeToString([]byte(text))
}

// Value is the trigger value in Data: a message that is a JSON object or array is passed as that JSON; any other
// message (numbers and quoted strings included) as a JSON string.
func Value(text string) json.RawMessage {
	t := bytes.TrimLeft([]byte(text), " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return json.RawMessage(text)
	}
	return jsonString(text)
}

func jsonString(s string) json.RawMessage {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
	}
	if plain { // ids, pop receipts, most texts: nothing to escape
		b := make([]byte, 0, len(s)+2)
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}

// TimeFormat is how the metadata's times are written: ISO 8601 with an offset and whole seconds, as the Functions
// host's custom-handler payload shows them ("2019-10-16T17:58:31+00:00").
const TimeFormat = "2006-01-02T15:04:05-07:00"

func jsonTime(t time.Time) json.RawMessage {
	return json.RawMessage(`"` + t.UTC().Format(TimeFormat) + `"`)
}

// Metadata is the trigger metadata of a message whose decoded text is text: DequeueCount (a number), Id,
// PopReceipt, InsertionTime, ExpirationTime, NextVisibleTime (strings), as the custom-handler payload has them,
// and QueueTrigger (the decoded text), which binding expressions such as {queueTrigger} use.
func Metadata(m *storageclient.Message, text string) map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"DequeueCount":    strconv.AppendInt(nil, m.DequeueCount, 10),
		"Id":              jsonString(m.ID),
		"PopReceipt":      jsonString(m.PopReceipt),
		"InsertionTime":   jsonTime(m.InsertionTime),
		"ExpirationTime":  jsonTime(m.ExpirationTime),
		"NextVisibleTime": jsonTime(m.NextVisibleTime),
		"QueueTrigger":    jsonString(text),
	}
}
