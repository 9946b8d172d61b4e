package schema

import (
	"net/http"
	"strings"
	"testing"
)

func ceHeader(ct string) http.Header { return http.Header{"Content-Type": {ct}} }

const ceOK = `{"specversion":"1.0","id":"c1","source":"/my/source","type":"com.example.t","subject":"sub","time":"2026-11-24T05:00:00Z","datacontenttype":"application/json","dataschema":"https://example.com/s.json","zext":"v","aext":42,"bext":true,"next":null,"data":{"a":"<b>"}}`

func TestCloudEventsValid(t *testing.T) {
	wantRaw := `{"specversion":"1.0","id":"c1","source":"/my/source","type":"com.example.t","subject":"sub","time":"2026-11-24T05:00:00Z","datacontenttype":"application/json","dataschema":"https://example.com/s.json","aext":42,"bext":true,"zext":"v","data":{"a":"<b>"}}`
	cases := []struct {
		name   string
		header http.Header
		body   string
		n      int
	}{
		{"structured", ceHeader("application/cloudevents+json; charset=utf-8"), ceOK, 1},
		{"batched", ceHeader("application/cloudevents-batch+json; charset=utf-8"), "[" + ceOK + "," + ceOK + "]", 2},
		{"application/json object", ceHeader("application/json"), ceOK, 1},
		{"application/json array", ceHeader("application/json"), "[" + ceOK + "]", 1},
		{"no content type", nil, ceOK, 1},
		{"curl -d", ceHeader("application/x-www-form-urlencoded"), ceOK, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := Parse(CloudEventSchemaV1_0, topicID, c.header, []byte(c.body), now)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != c.n {
				t.Fatalf("got %d events", len(evs))
			}
			e := evs[0]
			if string(e.Raw) != wantRaw {
				t.Errorf("raw =\n%s\nwant\n%s", e.Raw, wantRaw)
			}
			if e.Schema != CloudEventSchemaV1_0 || e.ID != "c1" || e.Source != "/my/source" || e.Topic != topicID ||
				e.Type != "com.example.t" || e.Subject != "sub" || e.Time != "2026-11-24T05:00:00Z" || e.Size != len(ceOK) {
				t.Errorf("event = %+v", e)
			}
		})
	}
	// Minimal event, and data_base64.
	evs, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent),
		[]byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAEC"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(evs[0].Raw); got != `{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAEC"}` {
		t.Errorf("raw = %s", got)
	}
}

func TestCloudEventsErrors(t *testing.T) {
	ev := func(extra string) string {
		return `{"specversion":"1.0","id":"1","source":"s","type":"t"` + extra + `}`
	}
	del := func(attr string) string {
		s := ev("")
		for _, p := range []string{`"` + attr + `":"1.0",`, `"` + attr + `":"1",`, `,"` + attr + `":"s"`, `,"` + attr + `":"t"`} {
			s = strings.Replace(s, p, "", 1)
		}
		return s
	}
	wrongCE := "This resource is configured to receive event in 'CloudEventV10' schema. The JSON received does not conform to the expected schema. "
	structured := ceHeader(ctCloudEvent)
	cases := []struct {
		name   string
		header http.Header
		body   string
		msg    string
	}{
		{"missing specversion", structured, del("specversion"), "Required property 'specversion' was not set."},
		{"missing id", structured, del("id"), "Required property 'id' was not set."},
		{"missing source", structured, del("source"), "Required property 'source' was not set."},
		{"missing type", structured, del("type"), "Required property 'type' was not set."},
		{"empty id", structured, strings.Replace(ev(""), `"id":"1"`, `"id":""`, 1), "Required property 'id' was not set."},
		{"specversion 0.3", structured, strings.Replace(ev(""), `"1.0"`, `"0.3"`, 1),
			"Property 'specversion' was found to be set to '0.3', but the only supported value is '1.0'."},
		{"numeric specversion", structured, strings.Replace(ev(""), `"1.0"`, `1.0`, 1), "Property 'specversion' must be a string, but was Float."},
		{"bad time", structured, ev(`,"time":"2026-13-01T00:00:00Z"`), "The event time property 'time' was not a valid date/time."},
		{"numeric subject", structured, ev(`,"subject":3`), "Property 'subject' must be a string, but was Integer."},
		{"relative dataschema", structured, ev(`,"dataschema":"s.json"`), "Property 'dataschema' must be an absolute URI, but was 's.json'."},
		{"data and data_base64", structured, ev(`,"data":1,"data_base64":"AA=="`), "Properties 'data' and 'data_base64' cannot both be set."},
		{"bad base64", structured, ev(`,"data_base64":"!!"`), "Property 'data_base64' is not valid base64."},
		{"numeric base64", structured, ev(`,"data_base64":1`), "Property 'data_base64' must be a string, but was Integer."},
		{"upper-case extension", structured, ev(`,"myExt":"v"`),
			"Extension attribute name 'myExt' is not valid: names are 1 to 20 lower-case letters a-z or digits 0-9."},
		{"extension with underscore", structured, ev(`,"my_ext":"v"`),
			"Extension attribute name 'my_ext' is not valid: names are 1 to 20 lower-case letters a-z or digits 0-9."},
		{"extension 21 chars", structured, ev(`,"abcdefghijklmnopqrstu":"v"`),
			"Extension attribute name 'abcdefghijklmnopqrstu' is not valid: names are 1 to 20 lower-case letters a-z or digits 0-9."},
		{"object extension", structured, ev(`,"ext":{}`), "Extension attribute 'ext' must be a string, a number or a boolean, but was StartObject."},
		{"array extension", structured, ev(`,"ext":[]`), "Extension attribute 'ext' must be a string, a number or a boolean, but was StartArray."},
		{"structured given array", structured, "[" + ev("") + "]", "Unexpected token when reading JSON. Expected: StartObject, actual: StartArray."},
		{"batch given object", ceHeader(ctCloudEventBatch), ev(""), "Unexpected token when reading JSON. Expected: StartArray, actual: StartObject."},
		{"batch element not object", ceHeader(ctCloudEventBatch), `["x"]`, "Unexpected token when reading JSON. Expected: StartObject, actual: String."},
		{"json number", ceHeader("application/json"), `7`, "Unexpected token when reading JSON. Expected: StartObject, actual: Integer."},
		{"event grid event", ceHeader("application/json"), `[{"id":"1","subject":"s","eventType":"t","eventTime":"2026-11-24T05:00:00Z"}]`,
			wrongCE + "The event has 'eventType' and no 'specversion': it is in the Event Grid schema."},
		{"invalid json", structured, `{`, "The request body is not valid JSON: unexpected EOF."},
		{"non-json without ce headers", ceHeader("text/plain"), `hello`, "The request body is not valid JSON: invalid character 'h' looking for beginning of value."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := Parse(CloudEventSchemaV1_0, topicID, c.header, []byte(c.body), now)
			if err == nil {
				t.Fatalf("accepted: %s", evs[0].Raw)
			}
			wantErr(t, err, 400, DetailInputJSONInvalid, c.msg)
		})
	}
	// A 20-character extension name is fine.
	if _, err := Parse(CloudEventSchemaV1_0, topicID, structured, []byte(ev(`,"abcdefghijklmnopqrst":"v"`)), now); err != nil {
		t.Error(err)
	}
}

func binHeader(extra ...string) http.Header {
	h := http.Header{}
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", "b1")
	h.Set("ce-source", "/src")
	h.Set("ce-type", "com.example.bin")
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			h.Del(extra[i])
		} else {
			h.Set(extra[i], extra[i+1])
		}
	}
	return h
}

func TestCloudEventsBinary(t *testing.T) {
	cases := []struct {
		name   string
		header http.Header
		body   string
		raw    string
	}{
		{"json data", binHeader("Content-Type", "application/json", "ce-subject", "s%20x", "ce-time", "2026-11-24T05:00:00Z",
			"ce-dataschema", "https://x/y", "ce-myext", "caf%C3%A9", "ce-traceparent", "00-ab"),
			`{"k": [1, 2]}`,
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin","subject":"s x","time":"2026-11-24T05:00:00Z","datacontenttype":"application/json","dataschema":"https://x/y","myext":"café","traceparent":"00-ab","data":{"k":[1,2]}}`},
		{"text data", binHeader("Content-Type", "text/plain; charset=utf-8"), "hello \"world\"",
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin","datacontenttype":"text/plain; charset=utf-8","data":"hello \"world\""}`},
		{"binary data", binHeader("Content-Type", "application/octet-stream"), "\x00\x01\x02",
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin","datacontenttype":"application/octet-stream","data_base64":"AAEC"}`},
		{"no body", binHeader(), "",
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin"}`},
		{"no content type, json body", binHeader(), `"x"`,
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin","data":"x"}`},
		{"no content type, bytes", binHeader(), "\xff",
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin","data_base64":"/w=="}`},
		{"ce-datacontenttype without Content-Type", binHeader("ce-datacontenttype", "text/plain"), "hi",
			`{"specversion":"1.0","id":"b1","source":"/src","type":"com.example.bin","datacontenttype":"text/plain","data":"hi"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := Parse(CloudEventSchemaV1_0, topicID, c.header, []byte(c.body), now)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events", len(evs))
			}
			if string(evs[0].Raw) != c.raw {
				t.Errorf("raw =\n%s\nwant\n%s", evs[0].Raw, c.raw)
			}
			if evs[0].ID != "b1" || evs[0].Source != "/src" || evs[0].Size < len(c.body) {
				t.Errorf("event = %+v", evs[0])
			}
			// The structured form re-validates to itself.
			again, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent), evs[0].Raw, now)
			if err != nil || string(again[0].Raw) != c.raw {
				t.Errorf("re-parse: %v %s", err, again[0].Raw)
			}
		})
	}

	errs := []struct {
		name   string
		header http.Header
		body   string
		msg    string
	}{
		{"specversion 0.3", binHeader("ce-specversion", "0.3"), "", "Property 'specversion' was found to be set to '0.3', but the only supported value is '1.0'."},
		{"missing id", binHeader("ce-id", ""), "", "Required header 'ce-id' was not set."},
		{"missing source", binHeader("ce-source", ""), "", "Required header 'ce-source' was not set."},
		{"missing type", binHeader("ce-type", ""), "", "Required header 'ce-type' was not set."},
		{"bad time", binHeader("ce-time", "now"), "", "The event time property 'time' was not a valid date/time."},
		{"bad extension name", binHeader("ce-my_ext", "v"), "", "Extension attribute name 'my_ext' is not valid: names are 1 to 20 lower-case letters a-z or digits 0-9."},
		{"ce-data", binHeader("ce-data", "v"), "", "Extension attribute name 'data' is not valid: names are 1 to 20 lower-case letters a-z or digits 0-9."},
		{"bad percent", binHeader("ce-subject", "%zz"), "", "Header 'ce-subject' is not valid: bad percent-encoding."},
		{"not utf8", binHeader("ce-subject", "%ff"), "", "Header 'ce-subject' is not valid: not UTF-8."},
		{"bad json data", binHeader("Content-Type", "application/json"), "{", "The request body is not valid JSON: unexpected EOF."},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			evs, err := Parse(CloudEventSchemaV1_0, topicID, c.header, []byte(c.body), now)
			if err == nil {
				t.Fatalf("accepted: %s", evs[0].Raw)
			}
			wantErr(t, err, 400, DetailInputJSONInvalid, c.msg)
		})
	}
}
