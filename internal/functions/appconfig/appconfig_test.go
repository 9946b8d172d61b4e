package appconfig

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*/errors.golden")

// settings is the app-setting store the tests resolve %NAME% against.
var settings = map[string]string{
	"LOG_LEVEL": "debug", "QUEUE_NAME": "orders", "SUFFIX": "v1", "ARG": "--verbose", "ORDERS_DISABLED": "false",
	"AzureWebJobs.cleanup.Disabled": "true",
}

func lookup(name string) (string, bool) { v, ok := settings[name]; return v, ok }

func TestLoadValid(t *testing.T) {
	app, err := Load(os.DirFS("testdata/valid"), Options{Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	h := app.Host
	wantCH := &CustomHandler{
		Description:                 HandlerDescription{DefaultExecutablePath: "handler", Arguments: []string{"--level", "debug"}},
		EnableForwardingHTTPRequest: true,
	}
	if !reflect.DeepEqual(h.CustomHandler, wantCH) || !h.CustomHandler.ForwardHTTP() {
		t.Errorf("CustomHandler = %+v", h.CustomHandler)
	}
	if h.Version != "2.0" || h.ExtensionBundle == nil || h.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" {
		t.Errorf("Version %q, ExtensionBundle %+v", h.Version, h.ExtensionBundle)
	}
	wantHTTP := HTTPOptions{RoutePrefix: "v1", MaxConcurrentRequests: 100, MaxOutstandingRequests: -1, CustomHeaders: map[string]string{"X-Frame-Options": "DENY"}}
	if !reflect.DeepEqual(h.HTTP, wantHTTP) {
		t.Errorf("HTTP = %+v", h.HTTP)
	}
	wantQ := QueueOptions{BatchSize: 8, NewBatchThreshold: 4, MaxPollingInterval: 2 * time.Second, VisibilityTimeout: 30 * time.Second, MaxDequeueCount: 3, MessageEncoding: "none"}
	if h.Queues != wantQ {
		t.Errorf("Queues = %+v", h.Queues)
	}
	if h.FunctionTimeout != 10*time.Minute {
		t.Errorf("FunctionTimeout = %v", h.FunctionTimeout)
	}
	if !reflect.DeepEqual(h.Logging.LogLevel, map[string]string{"default": "Information", "Function.hello": "Debug"}) || h.Logging.FileLoggingMode != "debugOnly" {
		t.Errorf("Logging = %+v", h.Logging)
	}
	if h.Concurrency != (Concurrency{DynamicConcurrencyEnabled: true}) {
		t.Errorf("Concurrency = %+v", h.Concurrency)
	}
	if want := (&RetryPolicy{Strategy: FixedDelay, MaxRetryCount: 2, DelayInterval: 3 * time.Second}); !reflect.DeepEqual(h.Retry, want) {
		t.Errorf("Retry = %+v", h.Retry)
	}
	if raw, ok := h.Extension("SERVICEBUS"); !ok || string(raw) != `{"prefetchCount": 100}` {
		t.Errorf("Extension(serviceBus) = %s, %v", raw, ok)
	}
	if !reflect.DeepEqual(h.WatchDirectories, []string{"shared"}) || h.Functions != nil {
		t.Errorf("WatchDirectories %v, Functions %v", h.WatchDirectories, h.Functions)
	}

	var names []string
	for _, f := range app.Functions {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, []string{"cleanup", "hello", "orders"}) {
		t.Fatalf("functions = %v (bin has no function.json and lib/nested is not top-level)", names)
	}

	hello := app.Function("HELLO")
	if tr := hello.Trigger(); tr == nil || tr.Name != "req" || tr.Direction != In {
		t.Fatalf("hello trigger = %+v", tr)
	}
	if r, _ := hello.Trigger().StringProperty("ROUTE"); r != "hello/{name?}" {
		t.Errorf("route = %q", r)
	}
	var httpProps struct {
		AuthLevel string
		Methods   []string
	}
	if err := json.Unmarshal(hello.Trigger().Raw, &httpProps); err != nil || httpProps.AuthLevel != "anonymous" || len(httpProps.Methods) != 2 {
		t.Errorf("Raw decode: %+v, %v", httpProps, err)
	}
	if hello.Binding("res") == nil || hello.Binding("res").IsTrigger() || hello.Disabled {
		t.Errorf("hello bindings %+v", hello.Bindings)
	}

	orders := app.Function("orders")
	tr := orders.Trigger()
	if tr.Type != "QueueTrigger" || tr.Direction != In || tr.DataType != "string" || orders.Disabled || orders.ScriptFile != "ignored.js" {
		t.Errorf("orders trigger %+v disabled=%v", tr, orders.Disabled)
	}
	if q, _ := tr.StringProperty("queueName"); q != "orders" {
		t.Errorf("queueName = %q, want the resolved setting", q)
	}
	if c, _ := tr.StringProperty("connection"); c != "AzureWebJobsStorage" {
		t.Errorf("connection = %q", c)
	}
	var qt struct{ QueueName string }
	if err := json.Unmarshal(tr.Raw, &qt); err != nil || qt.QueueName != "orders" {
		t.Errorf("Raw not resolved: %s", tr.Raw)
	}
	blob := orders.Binding("receipt")
	if p, _ := blob.StringProperty("path"); p != "receipts/{id}-v1.json" {
		t.Errorf("path = %q", p)
	}
	if extra, _ := blob.Property("extra"); string(extra) != `{"list":["v1",1,true]}` {
		t.Errorf("extra = %s", extra)
	}
	if ret := orders.Binding(ReturnBinding); ret == nil || ret.Direction != Out {
		t.Errorf("$return = %+v", ret)
	}

	cleanup := app.Function("cleanup")
	if !cleanup.Disabled {
		t.Error("cleanup should be disabled by AzureWebJobs.cleanup.Disabled")
	}
	want := &RetryPolicy{Strategy: ExponentialBackoff, MaxRetryCount: -1, MinimumInterval: time.Second, MaximumInterval: time.Minute}
	if !reflect.DeepEqual(cleanup.Retry, want) {
		t.Errorf("cleanup retry = %+v", cleanup.Retry)
	}
}

func TestLoadWithoutLookupKeepsReferences(t *testing.T) {
	app, err := Load(os.DirFS("testdata/valid"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := app.Function("orders").Trigger().StringProperty("queueName"); q != "%QUEUE_NAME%" {
		t.Errorf("queueName = %q", q)
	}
	if a := app.Host.CustomHandler.Description.Arguments; a[1] != "%LOG_LEVEL%" {
		t.Errorf("arguments = %q", a)
	}
	if app.Function("cleanup").Disabled || app.Function("orders").Disabled {
		t.Error("nothing is disabled without settings")
	}
}

func TestLoadDefaultsAndFunctionsList(t *testing.T) {
	fn := &fstest.MapFile{Data: []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`)}
	app, err := Load(fstest.MapFS{"a/function.json": fn, "b/function.json": fn}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(app.Host, DefaultHostConfig()) || len(app.Functions) != 2 {
		t.Errorf("host %+v, %d functions", app.Host, len(app.Functions))
	}
	if app.Host.HTTP.RoutePrefix != "api" || app.Host.Queues.MaxDequeueCount != 5 || app.Host.Queues.BatchSize != 16 ||
		app.Host.Queues.NewBatchThresholdFor(4) != 32 || app.Host.FunctionTimeout != 0 {
		t.Errorf("defaults: %+v", app.Host)
	}
	app, err = Load(fstest.MapFS{
		"host.json":       {Data: []byte(`{"version":"2.0","functions":["B"],"extensions":{"http":{"routePrefix":""}},"functionTimeout":"-1"}`)},
		"a/function.json": fn, "b/function.json": fn,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Functions) != 1 || app.Functions[0].Name != "b" || app.Host.HTTP.RoutePrefix != "" || app.Host.FunctionTimeout != Infinite {
		t.Errorf("functions %v, prefix %q, timeout %v", app.Functions, app.Host.HTTP.RoutePrefix, app.Host.FunctionTimeout)
	}
}

func TestLoadPartialApp(t *testing.T) {
	good := &fstest.MapFile{Data: []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`)}
	bad := &fstest.MapFile{Data: []byte(`{"bindings":[]}`)}
	app, err := Load(fstest.MapFS{"good/function.json": good, "bad/function.json": bad, "Good/function.json": good}, Options{})
	if err == nil || app == nil {
		t.Fatalf("want both an app and an error, got %v, %v", app, err)
	}
	if len(app.Functions) != 1 || app.Functions[0].Name != "Good" {
		t.Errorf("functions = %v", app.Functions)
	}
	want := `bad/function.json: bindings: is empty; a function needs exactly one trigger binding (a type ending in "Trigger", such as httpTrigger)
good/function.json: function name "good" differs from "Good" only in case; function names are case-insensitive`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.File != "bad/function.json" || fe.Path != "bindings" {
		t.Errorf("errors.As FieldError: %+v", fe)
	}
}

// TestLoadInvalid compares the errors for each broken app under testdata/invalid with its errors.golden.
// Run with -update to rewrite the golden files.
func TestLoadInvalid(t *testing.T) {
	dirs, err := filepath.Glob("testdata/invalid/*")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no testdata", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			app, err := Load(os.DirFS(dir), Options{Lookup: lookup})
			if err == nil {
				t.Fatalf("Load succeeded: %+v", app)
			}
			got := err.Error() + "\n"
			golden := filepath.Join(dir, "errors.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestBriefExample(t *testing.T) {
	_, err := Load(os.DirFS("testdata/invalid/bad-direction"), Options{})
	want := `myfunc/function.json: bindings[0].direction: "sideways" is not one of in, out, inout`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestParseTimeSpan(t *testing.T) {
	ok := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"00:05:00", 5 * time.Minute, "00:05:00"},
		{"00:00:01", time.Second, "00:00:01"},
		{"23:59:59", 24*time.Hour - time.Second, "23:59:59"},
		{"1.00:00:00", 24 * time.Hour, "1.00:00:00"},
		{"2.03:04:05", 51*time.Hour + 4*time.Minute + 5*time.Second, "2.03:04:05"},
		{"1:2:3", time.Hour + 2*time.Minute + 3*time.Second, "01:02:03"},
		{"10:30", 10*time.Hour + 30*time.Minute, "10:30:00"},
		{"00:00:00.5", 500 * time.Millisecond, "00:00:00.5000000"},
		{"00:00:00.0000001", 100 * time.Nanosecond, "00:00:00.0000001"},
		{"00:00:00.1234567", 123456700 * time.Nanosecond, "00:00:00.1234567"},
		{" 00:01:00 ", time.Minute, "00:01:00"},
		{"-1", Infinite, "-1"},
		{"00:00:00", 0, "00:00:00"},
		{"106751.23:47:16", 9223372036 * time.Second, "106751.23:47:16"},
		{"106751.23:47:16.8547758", 9223372036854775800, "106751.23:47:16.8547758"},
	}
	for _, tc := range ok {
		got, err := ParseTimeSpan(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if s := FormatTimeSpan(got); s != tc.out {
			t.Errorf("FormatTimeSpan(%v) = %q, want %q", got, s, tc.out)
		}
	}
	bad := map[string]string{
		"":                        "it is empty",
		"300":                     "it has no ':'",
		"5 minutes":               "it has no ':'",
		"24:00:00":                "hours must be 0 to 23",
		"00:60:00":                "minutes must be 0 to 59",
		"00:00:60":                "seconds must be 0 to 59",
		"-00:00:01":               "negative durations are not allowed",
		"-2":                      "negative durations are not allowed",
		"1:2:3:4":                 "too many ':'",
		"00:00.5":                 "a fraction needs seconds (hh:mm:ss.fffffff)",
		"00:00:00.12345678":       "the fraction must be 1 to 7 digits",
		"00:00:00.":               "the fraction must be 1 to 7 digits",
		"x.00:00:00":              "the days part must be a number",
		"106752.00:00:00":         "more than 106751 days",
		"106751.23:47:17":         "too long (the maximum is about 292 years)",
		"106751.23:47:16.8547759": "too long (the maximum is about 292 years)",
		"+00:00:01":               "hours must be 0 to 23",
		"00:0a:00":                "minutes must be 0 to 59",
		"000:00:00":               "hours must be 0 to 23",
	}
	for in, why := range bad {
		_, err := ParseTimeSpan(in)
		want := `"` + in + `" is not a valid TimeSpan: ` + why + `; write hh:mm:ss (e.g. "00:05:00"), d.hh:mm:ss or -1`
		if err == nil || err.Error() != want {
			t.Errorf("ParseTimeSpan(%q) error = %v\nwant %s", in, err, want)
		}
	}
}

func TestResolveSettings(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"%QUEUE_NAME%", "orders", ""},
		{"in-%QUEUE_NAME%-%SUFFIX%.json", "in-orders-v1.json", ""},
		{"{name}/%SUFFIX%/{rand-guid}", "{name}/v1/{rand-guid}", ""},
		{"%ARG%%ARG%", "--verbose--verbose", ""},
		{"%UNSET%", "", `%UNSET% does not resolve to a value: app setting "UNSET" is not set`},
		{"50%", "", `the '%' at position 2 of "50%" has no closing '%'`},
		{"a%%b", "", `empty app setting reference %% at position 1 of "a%%b"`},
	}
	for _, tc := range tests {
		got, err := ResolveSettings(tc.in, lookup)
		if tc.err != "" {
			var se *SettingError
			if err == nil || err.Error() != tc.err || !errors.As(err, &se) {
				t.Errorf("ResolveSettings(%q) error = %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ResolveSettings(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// Values are not resolved again.
	got, err := ResolveSettings("%X%", func(string) (string, bool) { return "%Y%", true })
	if err != nil || got != "%Y%" {
		t.Errorf("nested: %q, %v", got, err)
	}
	_, err = ResolveSettings("%UNSET%", lookup)
	var se *SettingError
	if !errors.As(err, &se) || se.Setting != "UNSET" {
		t.Errorf("SettingError.Setting = %+v", se)
	}
}

func TestLocalSettings(t *testing.T) {
	s, err := LoadLocalSettings(os.DirFS("testdata/valid"))
	if err != nil {
		t.Fatal(err)
	}
	want := &LocalSettings{
		Values: map[string]string{"FUNCTIONS_WORKER_RUNTIME": "custom", "AzureWebJobsStorage": "UseDevelopmentStorage=true",
			"QUEUE_NAME": "orders", "RETRIES": "3", "FEATURE": "true"},
		Host: LocalHost{LocalHTTPPort: 7072, CORS: "http://localhost:3000, https://example.com", CORSCredentials: true},
		ConnectionStrings: map[string]ConnectionString{
			"Sql":   {ConnectionString: "Server=.;Database=x"},
			"Other": {ConnectionString: "Endpoint=sb://x", ProviderName: "System.Data.SqlClient"},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if o := s.Host.CORSOrigins(); !reflect.DeepEqual(o, []string{"http://localhost:3000", "https://example.com"}) {
		t.Errorf("CORSOrigins = %q", o)
	}
	l := s.Lookup(func(n string) (string, bool) { return "env:" + n, n == "HOME" })
	if v, ok := l("queue_name"); !ok || v != "orders" {
		t.Errorf("case-insensitive lookup = %q", v)
	}
	if v, ok := l("HOME"); !ok || v != "env:HOME" {
		t.Errorf("fallback = %q", v)
	}
	if _, ok := l("NOPE"); ok {
		t.Error("NOPE found")
	}
	if _, err := LoadLocalSettings(os.DirFS("testdata")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := []struct{ in, want string }{
		{`{"IsEncrypted": true, "Values": {"A": "zzz"}}`, "local.settings.json: IsEncrypted: is true; encrypted settings cannot be read here: run `func settings decrypt` or set it to false with plain-text Values"},
		{`{"Values": {"A": {"x": 1}, "B": [1]}, "Host": {"LocalHttpPort": 70000, "CORS": 5}, "ConnectionStrings": {"C": {"ProviderName": "p"}, "D": 7, "E": []}}`,
			"local.settings.json: Values.A: must be a string, number or boolean, got an object\n" +
				"local.settings.json: Values.B: must be a string, number or boolean, got an array\n" +
				"local.settings.json: Host.LocalHttpPort: 70000 is out of range; allowed: 1 to 65535\n" +
				"local.settings.json: Host.CORS: must be a string, got a number 5\n" +
				"local.settings.json: ConnectionStrings.C.ConnectionString: is missing\n" +
				"local.settings.json: ConnectionStrings.E: must be a string or an object with ConnectionString and ProviderName, got an array"},
		{`{"Values": {"A": "x",}`, "local.settings.json: invalid JSON at line 1, column 23: unexpected end of JSON"},
		{`"x"`, "local.settings.json: must hold a JSON object"},
	}
	for _, tc := range bad {
		_, err := ParseLocalSettings([]byte(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseLocalSettings(%s):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestCleanJSON(t *testing.T) {
	in := "\xef\xbb\xbf{ // c\n \"a\": \"x // not a comment, /* nor this */\", /* block\n comment */ \"b\": [1, 2, ], \"c\": \"\\\"\",\n}"
	var v map[string]any
	if err := json.Unmarshal(cleanJSON([]byte(in)), &v); err != nil {
		t.Fatalf("%v\n%s", err, cleanJSON([]byte(in)))
	}
	if v["a"] != "x // not a comment, /* nor this */" || len(v["b"].([]any)) != 2 || v["c"] != `"` {
		t.Errorf("got %v", v)
	}
	if got := cleanJSON([]byte("{\"a\":1 /* unterminated")); len(got) != len("{\"a\":1 /* unterminated") {
		t.Errorf("length changed")
	}
}

func TestRetryDelay(t *testing.T) {
	p := &RetryPolicy{Strategy: ExponentialBackoff, MinimumInterval: time.Second, MaximumInterval: 10 * time.Second}
	var got []time.Duration
	for i := 1; i <= 6; i++ {
		got = append(got, p.Delay(i))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exponential delays %v", got)
	}
	if d := (&RetryPolicy{Strategy: FixedDelay, DelayInterval: 3 * time.Second}).Delay(9); d != 3*time.Second {
		t.Errorf("fixed delay %v", d)
	}
	big := &RetryPolicy{Strategy: ExponentialBackoff, MinimumInterval: time.Hour, MaximumInterval: 1 << 62}
	if d := big.Delay(200); d != 1<<62 {
		t.Errorf("overflow: %v", d)
	}
}

func TestValidNames(t *testing.T) {
	for name, want := range map[string]bool{
		"hello": true, "Hello_World-2": true, "a": true, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
		"": false, "1abc": false, "_x": false, "has.dot": false, "has space": false, "héllo": false,
	} {
		if ValidFunctionName(name) != want {
			t.Errorf("ValidFunctionName(%q) = %v", name, !want)
		}
	}
	for name, want := range map[string]bool{
		"req": true, "$return": true, "myQueueItem2": true, "my_item": false, "my-item": false, "1x": false, "": false,
		"$Return": false, strings.Repeat("b", 128): true, strings.Repeat("b", 129): false,
	} {
		if ValidBindingName(name) != want {
			t.Errorf("ValidBindingName(%q) = %v", name, !want)
		}
	}
}

func TestParseFunctionDirect(t *testing.T) {
	f, err := ParseFunction("fn", []byte(`{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"ev"}]}`), nil)
	if err != nil || f.Name != "fn" || f.Dir != "fn" || f.Trigger().Type != "eventGridTrigger" {
		t.Fatalf("%+v, %v", f, err)
	}
	_, err = ParseFunction("fn", []byte(`{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"ev","topic":"%T%"}]}`),
		func(string) (string, bool) { return "", false })
	if want := `fn/function.json: bindings[0].topic: %T% does not resolve to a value: app setting "T" is not set`; err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
}
