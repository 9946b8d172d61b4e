package eventgridbinding_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/eventgridbinding"
)

func TestOutputConfig(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{`{"type":"eventGrid","direction":"out","name":"o"}`,
			`bindings[1].topicEndpointUri: is required: the name of the app setting that holds the topic's endpoint URL, e.g. "MyTopicUriSetting"`},
		{`{"type":"eventGrid","direction":"out","name":"o","topicEndpointUri":"U"}`, `bindings[1].topicKeySetting: is required`},
		{`{"type":"eventGrid","direction":"out","name":"o","topicEndpointUri":5,"topicKeySetting":"K"}`, `bindings[1].topicEndpointUri: 5 is not a string`},
		{`{"type":"eventGrid","direction":"out","name":"o","topicEndpointUri":"U","topicKeySetting":" "}`, `bindings[1].topicKeySetting: must not be empty`},
		{`{"type":"eventGrid","direction":"out","name":"o","connection":"MyTopic"}`, `bindings[1].connection: identity-based Event Grid connections are not supported`},
		{`{"type":"eventGrid","direction":"in","name":"o","topicEndpointUri":"U","topicKeySetting":"K"}`, `bindings[1].direction: "in" is not allowed for type eventGrid`},
		{`{"type":"eventGrid","direction":"out","name":"o","topicEndpointUri":"U","topicKeySetting":"K"}`, ``},
	} {
		def, err := appconfig.ParseFunction("f", []byte(`{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"},`+c.out+`]}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = binding.ValidateFunction(def)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.out, err)
			}
			continue
		}
		var fe *appconfig.FieldError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want %q", c.out, err, c.want)
		}
	}
}

// topic is a test Event Grid topic that records what is published to it.
type topic struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []published
	status int    // the answer's status (0: 200)
	answer string // the answer's body
}

type published struct {
	path, query, key, ctype string
	body                    []byte
}

func newTopic(t *testing.T) *topic {
	tp := &topic{}
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tp.mu.Lock()
		tp.reqs = append(tp.reqs, published{path: r.URL.Path, query: r.URL.RawQuery, key: r.Header.Get("aeg-sas-key"),
			ctype: r.Header.Get("Content-Type"), body: b})
		status, answer := tp.status, tp.answer
		tp.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
		}
		io.WriteString(w, answer)
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *topic) published() []published {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]published(nil), tp.reqs...)
}

// endpoint is the topic's endpoint on a .localhost name, as Lapis's topics have them.
func (tp *topic) endpoint() string {
	u, _ := url.Parse(tp.srv.URL)
	return "http://mytopic.localhost:" + u.Port() + "/api/events"
}

const withOutput = `[{"type":"eventGridTrigger","direction":"in","name":"event"},
	{"type":"eventGrid","direction":"out","name":"outputEvent","topicEndpointUri":"MyTopicUriSetting","topicKeySetting":"MyTopicKeySetting"}]`

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestOutputPublishes(t *testing.T) {
	tp := newTopic(t)
	fn := testFunction(t, withOutput, map[string]string{"MyTopicUriSetting": tp.endpoint(), "MyTopicKeySetting": "topic-key-1"})
	fn.Env.Clock = func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.FixedZone("CET", 3600)) }
	b := &fn.Def.Bindings[1]
	ctx := context.Background()

	// The Event Grid schema: id and eventTime filled in.
	if err := (eventgridbinding.Output{}).Write(ctx, fn, b, nil, json.RawMessage(`[{"subject":"s1","eventType":"T","data":1},{"id":"x","subject":"s2","eventType":"T","eventTime":"2026-01-01T00:00:00Z"}]`)); err != nil {
		t.Fatal(err)
	}
	// CloudEvents.
	if err := (eventgridbinding.Output{}).Write(ctx, fn, b, nil, json.RawMessage(`{"specversion":"1.0","id":"c","source":"/s","type":"T","time":"2026-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	// Nothing to publish: no request.
	if err := (eventgridbinding.Output{}).Write(ctx, fn, b, nil, json.RawMessage(`null`)); err != nil {
		t.Fatal(err)
	}
	got := tp.published()
	if len(got) != 2 {
		t.Fatalf("%d publishes, want 2", len(got))
	}
	for i, p := range got {
		if p.path != "/api/events" || p.query != "api-version=2018-01-01" || p.key != "topic-key-1" {
			t.Errorf("publish %d: %+v", i, p)
		}
	}
	if got[0].ctype != "application/json; charset=utf-8" || got[1].ctype != "application/cloudevents-batch+json; charset=utf-8" {
		t.Errorf("content types %q, %q", got[0].ctype, got[1].ctype)
	}
	var events []map[string]any
	if err := json.Unmarshal(got[0].body, &events); err != nil || len(events) != 2 {
		t.Fatalf("body %s: %v", got[0].body, err)
	}
	if id, _ := events[0]["id"].(string); !uuidRE.MatchString(id) || events[0]["eventTime"] != "2026-03-04T04:06:07.008Z" ||
		events[0]["subject"] != "s1" || events[0]["data"] != 1.0 {
		t.Errorf("event 0: %v", events[0])
	}
	if events[1]["id"] != "x" || events[1]["eventTime"] != "2026-01-01T00:00:00Z" {
		t.Errorf("event 1: %v", events[1])
	}
	if string(got[1].body) != `[{"specversion":"1.0","id":"c","source":"/s","type":"T","time":"2026-01-01T00:00:00Z"}]` {
		t.Errorf("cloud events body %s", got[1].body)
	}

	// A refusal fails the write, naming the status and the topic's message.
	tp.mu.Lock()
	tp.status, tp.answer = 401, `{"error":{"code":"Unauthorized","message":"The request authorization key is not authorized."}}`
	tp.mu.Unlock()
	err := (eventgridbinding.Output{}).Write(ctx, fn, b, nil, json.RawMessage(`{"subject":"s","eventType":"T"}`))
	var pe *eventgridbinding.PublishError
	if !errors.As(err, &pe) || pe.Status != 401 || !strings.Contains(err.Error(), "401 Unauthorized") ||
		!strings.Contains(err.Error(), "The request authorization key is not authorized.") || strings.Contains(err.Error(), "topic-key-1") {
		t.Errorf("refused: %v", err)
	}
}

func TestOutputSettings(t *testing.T) {
	tp := newTopic(t)
	for _, c := range []struct {
		name     string
		settings map[string]string
		want     string
	}{
		{"no endpoint setting", map[string]string{"MyTopicKeySetting": "k"}, `topicEndpointUri: the app setting "MyTopicUriSetting" is not set`},
		{"no key setting", map[string]string{"MyTopicUriSetting": tp.endpoint()}, `topicKeySetting: the app setting "MyTopicKeySetting" is not set`},
		{"not a URL", map[string]string{"MyTopicUriSetting": "mytopic", "MyTopicKeySetting": "k"}, `holds "mytopic", which is not an absolute http or https URL`},
	} {
		fn := testFunction(t, withOutput, c.settings)
		err := (eventgridbinding.Output{}).Write(context.Background(), fn, &fn.Def.Bindings[1], nil, json.RawMessage(`{"subject":"s","eventType":"T"}`))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if n := len(tp.published()); n != 0 {
		t.Errorf("%d publishes", n)
	}

	// A %Setting% reference resolved when function.json was loaded leaves the URL itself in topicEndpointUri.
	def, err := appconfig.ParseFunction("f", []byte(`{"bindings":[{"type":"eventGridTrigger","direction":"in","name":"event"},
		{"type":"eventGrid","direction":"out","name":"o","topicEndpointUri":"%TOPIC%","topicKeySetting":"KEY"}]}`),
		func(n string) (string, bool) { return tp.endpoint() + "?api-version=2018-01-01", n == "TOPIC" })
	if err != nil {
		t.Fatal(err)
	}
	fn := &binding.Function{Def: def, Env: &binding.Env{}, Settings: func(n string) (string, bool) { return "k2", n == "KEY" }}
	if err := (eventgridbinding.Output{}).Write(context.Background(), fn, &def.Bindings[1], nil, json.RawMessage(`{"subject":"s","eventType":"T"}`)); err != nil {
		t.Fatal(err)
	}
	if got := tp.published(); len(got) != 1 || got[0].key != "k2" || got[0].query != "api-version=2018-01-01" {
		t.Errorf("published %+v", got)
	}
}
