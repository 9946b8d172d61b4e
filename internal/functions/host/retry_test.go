package host_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	_ "github.com/lapisdev/lapis/internal/functions/binding/timerbinding" // registers timerTrigger
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/retry"
)

// TestGoSDKAppRetry shows that a retry policy a Go SDK app declares (fn.Retry) reaches the function's definition
// exactly as the same policy in function.json does, so the triggers that apply policies (retry.PolicyFor(fn.Def,
// fn.Host), as the timer trigger calls it) treat both apps alike.
func TestGoSDKAppRetry(t *testing.T) {
	dir := copyApp(t, "sdkapp")
	src, _ := filepath.Abs(filepath.Join("testdata", "sdkapp"))
	goBuild(t, src, filepath.Join(dir, "app"), ".")
	h, err := host.New(host.Options{Dir: dir, Settings: map[string]string{"SDKAPP_RETRY": "1"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { h.Close() })

	for _, tc := range []struct {
		name         string
		functionJSON string // the same function written by hand, Azure's way
		want         *appconfig.RetryPolicy
	}{
		{"backoff", `{
			"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *", "useMonitor": false}],
			"retry": {"strategy": "exponentialBackoff", "maxRetryCount": 5, "minimumInterval": "00:00:10", "maximumInterval": "00:15:00"}
		}`, &appconfig.RetryPolicy{Strategy: appconfig.ExponentialBackoff, MaxRetryCount: 5,
			MinimumInterval: 10 * time.Second, MaximumInterval: 15 * time.Minute}},
		{"fixed", `{
			"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 * * * *"}],
			"retry": {"strategy": "fixedDelay", "maxRetryCount": -1, "delayInterval": "00:00:01.5"}
		}`, &appconfig.RetryPolicy{Strategy: appconfig.FixedDelay, MaxRetryCount: -1, DelayInterval: 1500 * time.Millisecond}},
		{"noretry", `{
			"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 * * * *"}]
		}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := h.Function(tc.name)
			if fn == nil {
				t.Fatalf("function %s not described; have %d functions", tc.name, len(h.Functions()))
			}
			if !reflect.DeepEqual(fn.Def.Retry, tc.want) {
				t.Errorf("Def.Retry = %+v, want %+v", fn.Def.Retry, tc.want)
			}
			if got := retry.PolicyFor(fn.Def, fn.Host); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("retry.PolicyFor = %+v, want %+v", got, tc.want)
			}
			def, err := appconfig.ParseFunction(tc.name, []byte(tc.functionJSON), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fn.Def.Retry, def.Retry) {
				t.Errorf("described retry %+v, function.json's %+v", fn.Def.Retry, def.Retry)
			}
			// The rest of the definition is the same too.
			a, b := fn.Def.Trigger(), def.Trigger()
			if a.Type != b.Type || a.Direction != b.Direction || a.Name != b.Name || len(a.Properties) != len(b.Properties) {
				t.Fatalf("described trigger %+v, function.json's %+v", a, b)
			}
			for k, v := range b.Properties {
				var x, y bytes.Buffer
				json.Compact(&x, a.Properties[k])
				json.Compact(&y, v)
				if x.String() != y.String() {
					t.Errorf("trigger %s: described %s, function.json's %s", k, x.String(), y.String())
				}
			}
			if len(fn.Def.Bindings) != len(def.Bindings) || fn.Def.Disabled != def.Disabled {
				t.Errorf("described %+v, function.json's %+v", fn.Def, def)
			}
		})
	}
}
