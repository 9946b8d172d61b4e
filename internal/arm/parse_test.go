package arm

import (
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	for _, tt := range []struct {
		in, canonical, typ string
		ok                 bool
	}{
		{"/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg", "Microsoft.Resources/resourceGroups", true},
		{"/SUBSCRIPTIONS/s/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/a",
			"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a", "Microsoft.Storage/storageAccounts", true},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/ns/queues/q",
			"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/ns/queues/q", "Microsoft.ServiceBus/namespaces/queues", true},
		{"/subscriptions/s", "", "", false},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts", "", "", false},
		{"/subscriptions/s/resourceGroups/rg/things/x", "", "", false},
		{"/subscriptions/s/resourceGroups/rg/providers/NS/t//", "", "", false},
	} {
		id, err := ParseID(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseID(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (id.String() != tt.canonical || id.TypeName() != tt.typ) {
			t.Errorf("ParseID(%q) = %s (%s), want %s (%s)", tt.in, id, id.TypeName(), tt.canonical, tt.typ)
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg/providers/a/b/c/d/e",
		"subscriptions//resourceGroups/", "/subscriptions/s/resourceGroups/rg/providers/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if AsError(err).Status != 400 {
				t.Fatalf("ParseID(%q) error is not a 400: %v", s, err)
			}
			return
		}
		// A parsed id round-trips through its canonical form.
		again, err := ParseID(id.String())
		if err != nil || again.String() != id.String() {
			t.Fatalf("ParseID(%q).String() = %q does not round-trip: %v", s, id.String(), err)
		}
	})
}

func TestParseFilter(t *testing.T) {
	good := []string{"", "name eq 'a'", "NAME EQ 'a''b'", "resourceType eq 'x' and name eq 'y'", "substringof('x', name)",
		"tagName eq 'a' and tagValue eq 'b'", "  location eq 'eastus'  "}
	for _, s := range good {
		if _, err := ParseFilter(s); err != nil {
			t.Errorf("ParseFilter(%q) = %v", s, err)
		}
	}
	bad := []string{"name", "name eq", "name eq x", "name gt 'x'", "foo eq 'x'", "name eq 'x' or name eq 'y'",
		"name eq 'unterminated", "substringof('x' name)", "substringof('x', location)", "tagValue eq 'x'", "name eq 'a' and"}
	for _, s := range bad {
		_, err := ParseFilter(s)
		if err == nil || AsError(err).Code != "InvalidFilterInQueryString" || !strings.Contains(err.Error(), "position") {
			t.Errorf("ParseFilter(%q) = %v, want InvalidFilterInQueryString with a position", s, err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"name eq 'a'", "substringof('x', name) and tagName eq 'e'", "tagName eq 'a' and tagValue eq ''''", "(", "'"} {
		f.Add(s)
	}
	rec := &Record{Resource: Resource{ID: "/subscriptions/s/resourceGroups/rg/providers/N/t/n", Name: "n", Type: "N/t",
		Tags: map[string]string{"a": "b"}}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if AsError(err).Status != 400 {
				t.Fatalf("ParseFilter(%q) error is not a 400: %v", s, err)
			}
			return
		}
		flt.Match(rec)
	})
}
