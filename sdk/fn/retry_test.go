package fn

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func retryApp() *App {
	app := NewApp()
	app.Timer("cleanup_job", "0 */5 * * * *", func(ctx *Context, t TimerInfo) error { return nil },
		Retry(ExponentialBackoff(5, 10*time.Second, 15*time.Minute)))
	app.Function("ingest", Trigger{Type: "eventHubTrigger", Name: "events", Props: map[string]any{"eventHubName": "in"}},
		func(ctx *Context, inv *Invocation) (any, error) { return nil, nil },
		Retry(FixedDelay(RetryForever, 1500*time.Millisecond)))
	app.Timer("plain", "0 0 * * * *", func(ctx *Context, t TimerInfo) error { return nil })
	return app
}

// The description carries each policy as function.json's "retry", and a
// function without one has no "retry".
func TestRetryDescribe(t *testing.T) {
	var got struct {
		Functions []map[string]json.RawMessage
	}
	if err := json.Unmarshal(retryApp().FunctionJSON(), &got); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"strategy":"exponentialBackoff","maxRetryCount":5,"minimumInterval":"00:00:10","maximumInterval":"00:15:00"}`,
		`{"strategy":"fixedDelay","maxRetryCount":-1,"delayInterval":"00:00:01.5000000"}`,
		``,
	}
	for i, f := range got.Functions {
		var b bytes.Buffer
		if r, ok := f["retry"]; ok {
			json.Compact(&b, r)
		}
		if b.String() != want[i] {
			t.Errorf("function %d: retry %s, want %s", i, b.String(), want[i])
		}
	}
	if len(got.Functions) != 3 {
		t.Fatalf("%d functions", len(got.Functions))
	}

	// The same policy in the function.json files.
	dir := t.TempDir()
	if err := retryApp().WriteFunctionJSON(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cleanup_job", "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantFile := `{
  "bindings": [
    {
      "type": "timerTrigger",
      "direction": "in",
      "name": "timer",
      "schedule": "0 */5 * * * *"
    }
  ],
  "retry": {
    "strategy": "exponentialBackoff",
    "maxRetryCount": 5,
    "minimumInterval": "00:00:10",
    "maximumInterval": "00:15:00"
  }
}
`
	if string(b) != wantFile {
		t.Errorf("function.json:\n%s\nwant:\n%s", b, wantFile)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "plain", "function.json")); bytes.Contains(b, []byte("retry")) {
		t.Errorf("plain/function.json has a retry policy:\n%s", b)
	}

	// A description decodes back to the same policies.
	var d Description
	if err := json.Unmarshal(retryApp().FunctionJSON(), &d); err != nil {
		t.Fatal(err)
	}
	if p := d.Functions[0].Retry; p == nil || *p != ExponentialBackoff(5, 10*time.Second, 15*time.Minute) {
		t.Errorf("decoded %+v", p)
	}
	if p := d.Functions[1].Retry; p == nil || *p != FixedDelay(-1, 1500*time.Millisecond) {
		t.Errorf("decoded %+v", p)
	}
	if p := d.Functions[2].Retry; p != nil {
		t.Errorf("decoded %+v", p)
	}
}

func TestRetryInvalid(t *testing.T) {
	timer := func(ctx *Context, t TimerInfo) error { return nil }
	for _, tc := range []struct {
		name string
		p    RetryPolicy
		want string
	}{
		{"zero policy", RetryPolicy{}, "no strategy"},
		{"bad strategy", RetryPolicy{Strategy: "linear", MaxRetryCount: 1}, `strategy "linear"`},
		{"count", FixedDelay(-2, time.Second), "maxRetryCount -2 is out of range"},
		{"negative delay", FixedDelay(3, -time.Second), "delayInterval -1s is negative"},
		{"sub-tick delay", FixedDelay(3, 150*time.Nanosecond), "100ns ticks"},
		{"negative min", ExponentialBackoff(3, -time.Second, time.Minute), "minimumInterval -1s is negative"},
		{"zero min", ExponentialBackoff(3, 0, time.Minute), "minimumInterval is zero"},
		{"min above max", ExponentialBackoff(3, time.Hour, time.Minute), "maximumInterval 1m0s is shorter than minimumInterval 1h0m0s"},
		{"mixed", RetryPolicy{Strategy: StrategyFixedDelay, DelayInterval: time.Second, MaximumInterval: time.Minute}, "maximumInterval 1m0s is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tc.want)
			}
			defer func() {
				p := recover()
				if s, _ := p.(string); !strings.HasPrefix(s, `fn: Timer("t"): retry policy: `) || !strings.Contains(s, tc.want) {
					t.Errorf("panic %v; want one containing %q", p, tc.want)
				}
			}()
			NewApp().Timer("t", "0 * * * * *", timer, Retry(tc.p))
		})
	}
	for _, tc := range []struct {
		name string
		reg  func(*App)
		want string
	}{
		{"http", func(a *App) {
			a.HTTP("h", func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) { return nil, nil }, Retry(FixedDelay(1, 0)))
		}, "does not apply to a httpTrigger function"},
		{"queue", func(a *App) {
			a.Queue("q", "orders", func(ctx *Context, m QueueMessage) error { return nil }, Retry(FixedDelay(1, 0)))
		}, "poison queue"},
		{"twice", func(a *App) { a.Timer("t", "0 * * * * *", timer, Retry(FixedDelay(1, 0)), Retry(FixedDelay(2, 0))) }, "two retry policies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if s, _ := p.(string); !strings.HasPrefix(s, "fn: ") || !strings.Contains(s, tc.want) {
					t.Errorf("panic %v; want one containing %q", p, tc.want)
				}
			}()
			tc.reg(NewApp())
		})
	}
	// Every trigger Azure applies policies to takes one, in any case; zero
	// retries and a zero fixed delay are valid.
	app := NewApp()
	for i, typ := range []string{"timerTrigger", "eventHubTrigger", "CosmosDBTrigger", "kafkaTrigger"} {
		app.Function("f"+string(rune('a'+i)), Trigger{Type: typ, Name: "in"},
			func(ctx *Context, inv *Invocation) (any, error) { return nil, nil }, Retry(FixedDelay(0, 0)))
	}
}

func TestTimeSpan(t *testing.T) {
	for d, s := range map[time.Duration]string{
		0:                "00:00:00",
		10 * time.Second: "00:00:10",
		15 * time.Minute: "00:15:00",
		23*time.Hour + 59*time.Minute + 59*time.Second: "23:59:59",
		24 * time.Hour:                      "1.00:00:00",
		50*time.Hour + 100*time.Millisecond: "2.02:00:00.1000000",
		100 * time.Nanosecond:               "00:00:00.0000001",
	} {
		if got := formatTimeSpan(d); got != s {
			t.Errorf("formatTimeSpan(%v) = %q, want %q", d, got, s)
		}
		if got, err := parseTimeSpan(s); err != nil || got != d {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v", s, got, err, d)
		}
	}
	if got, err := parseTimeSpan("01:30"); err != nil || got != 90*time.Minute {
		t.Errorf("parseTimeSpan(01:30) = %v, %v", got, err)
	}
	if got, err := parseTimeSpan("00:00:01.5"); err != nil || got != 1500*time.Millisecond {
		t.Errorf("parseTimeSpan(00:00:01.5) = %v, %v", got, err)
	}
	for _, s := range []string{"", "10", "24:00:00", "00:60:00", "00:00:60", "1:2:3:4", "00:00.5", "00:00:01.12345678", "-00:00:01", "x.00:00:00", "00:00:01."} {
		if d, err := parseTimeSpan(s); err == nil {
			t.Errorf("parseTimeSpan(%q) = %v; want an error", s, d)
		}
	}
}

func TestRetryContext(t *testing.T) {
	ctx := func(meta string) *Context {
		inv, err := decodeInvocation([]byte(`{"Data":{},"Metadata":` + meta + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return &Context{Invocation: inv}
	}
	// What Lapis's host sends (package retry's Context and Exception).
	lapisException := `{"ClassName":"System.Exception","Message":"boom","Data":null,"InnerException":null,"HelpURL":null,` +
		`"StackTraceString":null,"RemoteStackTraceString":null,"RemoteStackIndex":0,"ExceptionMethod":null,` +
		`"HResult":-2146233088,"Source":"Lapis","WatsonBuckets":null}`
	for _, tc := range []struct {
		name, meta string
		want       RetryContext
	}{
		{"first attempt", `{"RetryContext":{"RetryCount":0,"MaxRetryCount":3,"Exception":null}}`,
			RetryContext{MaxRetryCount: 3}},
		{"retry", `{"sys":{"MethodName":"f"},"RetryContext":{"RetryCount":2,"MaxRetryCount":3,"Exception":` + lapisException + `}}`,
			RetryContext{RetryCount: 2, MaxRetryCount: 3, Exception: &RetryException{
				ClassName: "System.Exception", Message: "boom", Source: "Lapis", HResult: -2146233088}}},
		{"camelCase, serialised twice, nested", `{"retryContext":"{\"retryCount\":1,\"maxRetryCount\":-1,\"exception\":` +
			`{\"ClassName\":\"System.InvalidOperationException\",\"Message\":\"outer\",\"StackTraceString\":\"   at F()\",` +
			`\"InnerException\":{\"ClassName\":\"System.Exception\",\"Message\":\"inner\"}}}"}`,
			RetryContext{RetryCount: 1, MaxRetryCount: RetryForever, Exception: &RetryException{
				ClassName: "System.InvalidOperationException", Message: "outer", StackTraceString: "   at F()",
				InnerException: &RetryException{ClassName: "System.Exception", Message: "inner"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ctx(tc.meta).RetryContext()
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("RetryContext() = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
	for _, meta := range []string{`{}`, `{"RetryContext":null}`, `{"RetryContext":"x"}`, `{"RetryContext":{"RetryCount":"one"}}`} {
		if got, ok := ctx(meta).RetryContext(); ok {
			t.Errorf("%s: RetryContext() = %+v, true; want false", meta, got)
		}
	}
	if _, ok := (&Context{}).RetryContext(); ok {
		t.Error("a context without an invocation has a retry context")
	}

	for _, tc := range []struct {
		rc   RetryContext
		last bool
	}{
		{RetryContext{RetryCount: 0, MaxRetryCount: 0}, true},
		{RetryContext{RetryCount: 2, MaxRetryCount: 3}, false},
		{RetryContext{RetryCount: 3, MaxRetryCount: 3}, true},
		{RetryContext{RetryCount: 100, MaxRetryCount: RetryForever}, false},
	} {
		if got := tc.rc.Last(); got != tc.last {
			t.Errorf("%+v.Last() = %v", tc.rc, got)
		}
	}
}
