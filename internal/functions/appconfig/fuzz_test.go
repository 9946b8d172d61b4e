package appconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func addFunctionSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*/function.json")
	more, _ := filepath.Glob("testdata/invalid/*/*/function.json")
	for _, p := range append(files, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","route":"%R%"}],"disabled":"%D%",
		"retry":{"strategy":"fixedDelay","maxRetryCount":1,"delayInterval":"00:00:01"}} // c`))
	f.Add([]byte(`{"bindings":[{"type":"x","direction":"out","name":"$return","p":[{"q":"%A%%B%"}]}]}`))
}

// FuzzLoadFunction loads an app whose one function.json is the fuzz input, and checks the loader's promises: no
// panic, every error is a *FieldError about that file, and a loaded function has exactly one trigger (direction
// in), unique binding names and $return only as an out binding.
func FuzzLoadFunction(f *testing.F) {
	addFunctionSeeds(f)
	lookup := func(name string) (string, bool) {
		if strings.HasPrefix(name, "A") {
			return "%value%", true
		}
		return "", name == "D"
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"fn/function.json": {Data: data}}
		for _, opts := range []Options{{}, {Lookup: lookup}} {
			app, err := Load(fsys, opts)
			if err != nil {
				for _, e := range unjoin(err) {
					var fe *FieldError
					if !errors.As(e, &fe) || fe.File != "fn/function.json" || fe.Msg == "" {
						t.Fatalf("unexpected error %T %v", e, e)
					}
				}
				if app == nil || len(app.Functions) != 0 {
					t.Fatalf("a broken function was loaded")
				}
				continue
			}
			if len(app.Functions) != 1 {
				t.Fatalf("got %d functions", len(app.Functions))
			}
			fn := app.Functions[0]
			triggers := 0
			names := map[string]bool{}
			for _, b := range fn.Bindings {
				if b.IsTrigger() {
					triggers++
					if b.Direction != In {
						t.Fatalf("trigger direction %q", b.Direction)
					}
				}
				if b.Name == ReturnBinding && b.Direction != Out {
					t.Fatal("$return not out")
				}
				if names[strings.ToLower(b.Name)] {
					t.Fatalf("duplicate binding name %q", b.Name)
				}
				names[strings.ToLower(b.Name)] = true
				if !ValidBindingName(b.Name) || b.Raw == nil {
					t.Fatalf("bad binding %+v", b)
				}
			}
			if triggers != 1 || fn.Trigger() == nil {
				t.Fatalf("%d triggers", triggers)
			}
		}
	})
}

// FuzzParseHost checks that host.json parsing never panics and reports only FieldErrors.
func FuzzParseHost(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/host.json")
	more, _ := filepath.Glob("testdata/invalid/*/host.json")
	for _, p := range append(files, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHost(data, func(string) (string, bool) { return "v", true })
		if err != nil {
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) || fe.File != HostFile {
					t.Fatalf("unexpected error %T %v", e, e)
				}
			}
			return
		}
		if h.Version != "2.0" || h.Queues.BatchSize < 1 || h.Queues.BatchSize > 32 || h.Queues.MaxDequeueCount < 1 {
			t.Fatalf("invalid config accepted: %+v", h)
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// FuzzParseTimeSpan checks that every accepted TimeSpan formats back to one that parses to the same duration.
func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"00:05:00", "1.02:03:04.5", "-1", "10:30", "23:59:59.9999999", "106751.23:47:16.8547758", "x", "1:2", "00:00:00."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeSpan(s)
		if err != nil {
			if !strings.Contains(err.Error(), "is not a valid TimeSpan") {
				t.Fatalf("odd error %v", err)
			}
			return
		}
		if d < 0 && d != Infinite {
			t.Fatalf("negative %v", d)
		}
		if d != Infinite && d%(100*time.Nanosecond) != 0 {
			t.Fatalf("not whole ticks: %v", d)
		}
		text := FormatTimeSpan(d)
		back, err := ParseTimeSpan(text)
		if err != nil || back != d {
			t.Fatalf("%q → %v → %q → %v, %v", s, d, text, back, err)
		}
	})
}
