package blobbinding

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
)

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		binding string
		path    string // the FieldError path, "" when valid
		msg     string
	}{
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{name}"}`, "", ""},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images"}`, "", ""},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"input/{name}.{ext}","source":"eventgrid","dataType":"binary","connection":"X"}`, "", ""},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"$root/{name}"}`, "", ""},
		{`{"type":"blobTrigger","direction":"in","name":"b"}`, "bindings[0].path", "is missing"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":""}`, "bindings[0].path", "is empty"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":42}`, "bindings[0].path", "is not a string"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"{container}/{name}"}`, "bindings[0].path", "the container part cannot contain binding expressions"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/"}`, "bindings[0].path", `must be in the format "container/blob"`},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"/x"}`, "bindings[0].path", "the container name is empty"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"Images/{name}"}`, "bindings[0].path", "must be lower case"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"im/{name}"}`, "bindings[0].path", "3 to 63 characters"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"my--images/{name}"}`, "bindings[0].path", "two hyphens"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"my_images/{name}"}`, "bindings[0].path", "lower-case letters, digits and hyphens"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{name"}`, "bindings[0].path", "has no closing"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{rand-guid}"}`, "bindings[0].path", "built-ins"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{a}/{a}"}`, "bindings[0].path", "appears more than once"},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{n}","source":"Polling"}`, "bindings[0].source", `"Polling" is not one of LogsAndContainerScan, EventGrid`},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{n}","dataType":"stream"}`, "", ""},
		{`{"type":"blobTrigger","direction":"in","name":"b","path":"images/{n}","connection":7}`, "bindings[0].connection", "is not a string"},
		{`{"type":"blob","direction":"in","name":"b","path":"files/{name}.json"}`, "", ""},
		{`{"type":"blob","direction":"out","name":"b","path":"{container}/{rand-guid}","dataType":"binary"}`, "", ""},
		{`{"type":"blob","direction":"out","name":"b","path":"files"}`, "bindings[0].path", `"container/blob"`},
		{`{"type":"blob","direction":"out","name":"b","path":"Files/x"}`, "bindings[0].path", "lower case"},
		{`{"type":"blob","direction":"in","name":"b","path":"files/{x"}`, "bindings[0].path", "no closing"},
		{`{"type":"blob","direction":"out","name":"b"}`, "bindings[0].path", "is missing"},
		{`{"type":"blob","direction":"inout","name":"b","path":"files/x"}`, "bindings[0].direction", "not allowed"},
		{`{"type":"blobTrigger","direction":"out","name":"b","path":"files/x"}`, "bindings[0].direction", "must be in"},
	} {
		// Give every function a trigger so that the binding under test is judged on its own.
		bindings := "[" + tc.binding
		if !strings.Contains(tc.binding, "blobTrigger") {
			bindings += `,{"type":"blobTrigger","direction":"in","name":"trig","path":"images/{name}"}`
		}
		bindings += "]"
		def, err := appconfig.ParseFunction("f", []byte(`{"bindings":`+bindings+`}`), nil)
		if err == nil {
			err = binding.ValidateFunction(def)
		}
		if tc.path == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.binding, err)
			}
			continue
		}
		var fe *appconfig.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a FieldError", tc.binding, err)
			continue
		}
		if fe.Path != tc.path || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%s: %s: %s, want %s containing %q", tc.binding, fe.Path, fe.Msg, tc.path, tc.msg)
		}
	}
}

func TestPropertyErrors(t *testing.T) {
	b := &appconfig.Binding{Type: "blob", Direction: appconfig.Out, Name: "x", DataType: "text", Properties: map[string]json.RawMessage{}}
	_, err := ParseBlobConfig(b)
	var pes []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *binding.PropertyError
		if !errors.As(e, &pe) {
			t.Fatalf("%v is not a *binding.PropertyError", e)
		}
		pes = append(pes, pe.Property)
	}
	if strings.Join(pes, ",") != "path,dataType" {
		t.Fatalf("properties %v", pes)
	}
}

func TestTriggerConfigMatch(t *testing.T) {
	for _, tc := range []struct {
		path, container, name string
		match                 bool
		prefix                string
	}{
		{"images/{name}", "images", "a/b.png", true, ""},
		{"images/{name}", "images", "", false, ""},
		{"images/{name}", "other", "a.png", false, ""},
		{"images", "images", "anything/at/all", true, ""},
		{"images/thumbs/{name}.png", "images", "thumbs/a.png", true, "thumbs/"},
		{"images/thumbs/{name}.png", "images", "a.png", false, "thumbs/"},
		{"images/fixed.txt", "images", "fixed.txt", true, "fixed.txt"},
	} {
		c, err := ParseTriggerConfig(&appconfig.Binding{Properties: map[string]json.RawMessage{"path": jsonString(tc.path)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Match(tc.container, tc.name); ok != tc.match {
			t.Errorf("%s: Match(%s, %s) = %v", tc.path, tc.container, tc.name, ok)
		}
		if c.Prefix() != tc.prefix {
			t.Errorf("%s: Prefix = %q, want %q", tc.path, c.Prefix(), tc.prefix)
		}
	}
}

func TestConnectionString(t *testing.T) {
	settings := map[string]string{"AzureWebJobsStorage": "A", "Other": "B", "AzureWebJobsPrefixed": "C", "Ident__blobServiceUri": "https://x"}
	lookup := func(k string) (string, bool) { v, ok := settings[k]; return v, ok }
	for _, tc := range []struct{ conn, want, err string }{
		{"", "A", ""},
		{"AzureWebJobsStorage", "A", ""},
		{"Other", "B", ""},
		{"Prefixed", "C", ""},
		{"Missing", "", `the app setting "Missing" is not set`},
		{"Ident", "", "identity-based connections"},
	} {
		got, err := ConnectionString(lookup, tc.conn)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.conn, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.conn, got, err, tc.want)
		}
	}
}

func TestOutputBytes(t *testing.T) {
	for _, tc := range []struct {
		value, dataType, want string
		skip                  bool
		err                   string
	}{
		{`"hello"`, DataTypeString, "hello", false, ""},
		{`"aGVsbG8="`, DataTypeString, "aGVsbG8=", false, ""}, // no base64 guessing
		{`"aGVsbG8="`, DataTypeBinary, "hello", false, ""},
		{`"not base64!"`, DataTypeBinary, "not base64!", false, ""},
		{`{ "a" : [1, 2] }`, DataTypeString, `{"a":[1,2]}`, false, ""},
		{`42`, DataTypeString, "42", false, ""},
		{`null`, DataTypeString, "", true, ""},
		{``, DataTypeString, "", true, ""},
	} {
		got, skip, err := outputBytes(json.RawMessage(tc.value), tc.dataType)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v", tc.value, err)
			}
			continue
		}
		if err != nil || skip != tc.skip || string(got) != tc.want {
			t.Errorf("%s (%s): %q, %v, %v", tc.value, tc.dataType, got, skip, err)
		}
	}
}

func TestInputOutput(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Storage: st}
	fn := function(t, "f", `[{"type":"fakeQueueTrigger","direction":"in","name":"order"},
		{"type":"blob","direction":"in","name":"customer","path":"customers/{customer.id}.json"},
		{"type":"blob","direction":"in","name":"raw","path":"customers/{customer.id}.json","dataType":"binary"},
		{"type":"blob","direction":"in","name":"missing","path":"customers/{orderId}-none.json"},
		{"type":"blob","direction":"out","name":"archive","path":"archive/{orderId}/{sys.MethodName}-{DequeueCount}.json"},
		{"type":"blob","direction":"out","name":"bad","path":"archive/{nope}"}]`, "", env)
	st.acct.upload("customers", "c-9.json", `{"name":"Ada"}`)
	inv := &binding.Invocation{Function: "f",
		Data:     map[string]json.RawMessage{"order": json.RawMessage(`"{\"orderId\":1234,\"customer\":{\"id\":\"c-9\"}}"`)},
		Metadata: map[string]json.RawMessage{"DequeueCount": json.RawMessage(`1`)}}
	b := Blob{}
	ctx := context.Background()
	got, err := b.Read(ctx, fn, fn.Def.Binding("customer"), inv)
	if err != nil || string(got) != `"{\"name\":\"Ada\"}"` {
		t.Fatalf("customer = %s, %v", got, err)
	}
	got, err = b.Read(ctx, fn, fn.Def.Binding("raw"), inv)
	if err != nil || string(got) != `"eyJuYW1lIjoiQWRhIn0="` {
		t.Fatalf("raw = %s, %v", got, err)
	}
	got, err = b.Read(ctx, fn, fn.Def.Binding("missing"), inv)
	if err != nil || string(got) != "null" {
		t.Fatalf("missing = %s, %v", got, err)
	}
	if err := b.Write(ctx, fn, fn.Def.Binding("archive"), inv, json.RawMessage(`{"ok": true}`)); err != nil {
		t.Fatal(err)
	}
	data, _, err := st.acct.ReadBlob(ctx, "archive", "1234/f-1.json")
	if err != nil || string(data) != `{"ok":true}` {
		t.Fatalf("archive blob %q, %v", data, err)
	}
	err = b.Write(ctx, fn, fn.Def.Binding("bad"), inv, json.RawMessage(`"x"`))
	if err == nil || !strings.Contains(err.Error(), `binding expression {nope} in "archive/{nope}": no value named "nope"; available: DequeueCount, customer, orderId`) {
		t.Fatalf("bad path: %v", err)
	}
	if err := b.Write(ctx, fn, fn.Def.Binding("bad"), inv, json.RawMessage(`null`)); err != nil {
		t.Fatalf("null output: %v", err)
	}
}

func init() {
	// A stand-in trigger type for TestInputOutput, whose value is a queue message.
	binding.Register(fakeTrigger{})
}

type fakeTrigger struct{}

func (fakeTrigger) Name() string                      { return "fakeQueueTrigger" }
func (fakeTrigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }
func (fakeTrigger) Validate(*appconfig.Binding) error { return nil }
func (fakeTrigger) Start(context.Context, *binding.Function, binding.Invoker) (func(), error) {
	return func() {}, nil
}
