package httpbinding_test

import (
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/httpbinding"
)

func TestValidate(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"public"}]}`, `f/function.json: bindings[0].authLevel: "public" is not one of anonymous, function, admin`},
		{`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":"get"}]}`, `bindings[0].methods: "get" is not an array`},
		{`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","route":"a/{b"}]}`, `bindings[0].route:`},
		{`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"in","name":"x"}]}`, `bindings[1].direction: "in" is not allowed for type http; allowed: out`},
		{`{"bindings":[{"type":"nopeTrigger","direction":"in","name":"req"}]}`, `bindings[0].type: "nopeTrigger" is not a known binding type`},
		{`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"Admin","methods":["get","POST"],"route":"x/{id:int}"}]}`, ``},
	} {
		fn, err := appconfig.ParseFunction("f", []byte(c.json), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		err = binding.ValidateFunction(fn)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.json, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.json, err, c.want)
		}
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	binding.Register(httpbinding.Trigger{})
}

func TestParseResponse(t *testing.T) {
	r, err := httpbinding.ParseResponse([]byte(`{"StatusCode":"201","Headers":{"X-A":"1"},"Body":{"ok":true}}`))
	if err != nil || r.StatusCode != 201 || r.Headers.Get("X-A") != "1" || string(r.Body) != `{"ok":true}` {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := httpbinding.ParseResponse([]byte(`"nope"`)); err == nil {
		t.Fatal("want error")
	}
}
