package cosmosbinding_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/cosmosbinding"
	"github.com/lapisdev/lapis/internal/functions/functest"
)

// invocations records what a trigger fired, in place of a host.
type invocations struct {
	mu   sync.Mutex
	docs [][]map[string]any
}

func (r *invocations) Invoke(_ context.Context, inv *binding.Invocation) (*binding.Result, error) {
	var docs []map[string]any
	if err := json.Unmarshal(inv.Data["documents"], &docs); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs = append(r.docs, docs)
	return &binding.Result{}, nil
}

func (r *invocations) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.docs {
		for _, d := range b {
			out = append(out, d["id"].(string))
		}
	}
	return out
}

// startTrigger starts the cosmosDBTrigger of function.json text fj (settings give %NAME% values and connections)
// on p, with inv in place of the host.
func startTrigger(t *testing.T, p *functest.Platform, fj string, settings map[string]string, inv binding.Invoker) (func(), error) {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := settings[k]; return v, ok }
	def, err := appconfig.ParseFunction("f", []byte(fj), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if err := binding.ValidateFunction(def); err != nil {
		return nil, err
	}
	env := &binding.Env{Documents: p.Documents(t), Substrate: p.Server.Substrate(), Logger: functest.NewLogs(t).Logger}
	fn := &binding.Function{App: "app", Def: def, Settings: lookup, Env: env}
	return cosmosbinding.Trigger{}.Start(context.Background(), fn, inv)
}

const triggerJSON = `{"bindings":[{"type":"cosmosDBTrigger","direction":"in","name":"documents","connection":"CosmosConn",
	"databaseName":"testdb","containerName":"items","leaseAcquireInterval":100,"leaseExpirationInterval":1000,
	"leaseRenewInterval":300,"feedPollDelay":60000 %s}]}`

// TestStartErrors: problems a trigger finds when it starts are errors that say what to do.
func TestStartErrors(t *testing.T) {
	p := functest.Start(t)
	newTestApp(t, p, nil)
	settings := map[string]string{"CosmosConn": p.CosmosConn}
	for _, c := range []struct {
		name, extra string
		settings    map[string]string
		want        string
	}{
		{"no lease container", ``, nil, "the lease container 'leases' (in database 'testdb') does not exist. It must exist before the trigger starts; to create it automatically, set createLeaseContainerIfNotExists to true"},
		{"lease container not by id", `,"leaseContainerName":"people"`, nil, "the lease container 'people' has the partition key [/pk]: a lease container, if partitioned, must have partition key equal to id (/id)"},
		{"no setting", `,"connection":"Missing"`, nil, `the app setting "Missing" is not set`},
		{"identity", `,"connection":"Ident"`, map[string]string{"Ident__accountEndpoint": "https://x.documents.azure.com/"}, "identity-based connections"},
		// Another endpoint goes over REST; one that does not answer fails the start, naming it.
		{"another endpoint", `,"connection":"Azure"`, map[string]string{"Azure": "AccountEndpoint=http://127.0.0.1:1/;AccountKey=" + account.EmulatorKey}, "Container database testdb at http://127.0.0.1:1"},
		{"wrong key", `,"connection":"Wrong"`, map[string]string{"Wrong": strings.Replace(p.CosmosConn, "C2y6", "D2y6", 1)}, "AccountKey is not a key of this account"},
		{"no account", `,"connection":"Other"`, map[string]string{"Other": strings.Replace(p.CosmosConn, "localhost", "nosuch.localhost", 1)}, `this Lapis has no database account "nosuch"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := map[string]string{}
			for k, v := range settings {
				s[k] = v
			}
			for k, v := range c.settings {
				s[k] = v
			}
			fj := strings.Replace(triggerJSON, "%s", c.extra, 1)
			if strings.Contains(c.extra, `"containerName"`) {
				fj = strings.Replace(fj, `"containerName":"items",`, "", 1)
			}
			if strings.Contains(c.extra, `"connection"`) {
				fj = strings.Replace(fj, `"connection":"CosmosConn",`, "", 1)
			}
			stop, err := startTrigger(t, p, fj, s, &invocations{})
			if err == nil {
				stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
		})
	}

	// Without the platform's document store, the bindings say what they need.
	def, _ := appconfig.ParseFunction("f", []byte(strings.Replace(triggerJSON, "%s", "", 1)), nil)
	fn := &binding.Function{App: "app", Def: def, Settings: func(string) (string, bool) { return "", false }, Env: &binding.Env{}}
	if _, err := (cosmosbinding.Trigger{}).Start(context.Background(), fn, &invocations{}); err == nil || !strings.Contains(err.Error(), "lapis func start") {
		t.Errorf("without a document store: %v", err)
	}
}

// TestMissingContainer: a trigger whose container does not exist yet waits for it, and then fires for every
// change in it (all of them come after the trigger started).
func TestMissingContainer(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, nil)
	rec := &invocations{}
	fj := strings.Replace(strings.Replace(triggerJSON, "%s", `,"createLeaseContainerIfNotExists":true`, 1), `"items"`, `"later"`, 1)
	stop, err := startTrigger(t, p, fj, map[string]string{"CosmosConn": p.CosmosConn}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := a.svc.CreateContainer(context.Background(), account.EmulatorAccount, "testdb", docdb.ContainerSpec{ID: "later",
		PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	a.put(t, "later", map[string]any{"id": "first"})
	a.put(t, "later", map[string]any{"id": "second"})
	eventually(t, "both documents", func() bool { return len(rec.ids()) == 2 })
}

// TestLeaseTakeover: a lease whose owner stopped renewing it is taken over once it expires, from its checkpoint;
// the lease document has the change feed processor's shape.
func TestLeaseTakeover(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, nil)
	ctx := context.Background()
	c, err := p.Documents(t).Account(ctx, p.CosmosConn)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Container(ctx, "testdb", "items")
	if err != nil {
		t.Fatal(err)
	}
	ttl := int64(-1)
	if _, err := a.svc.CreateContainer(ctx, account.EmulatorAccount, "testdb", docdb.ContainerSpec{ID: "leases",
		PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}, DefaultTTL: &ttl}); err != nil {
		t.Fatal(err)
	}
	a.put(t, "items", map[string]any{"id": "processed"})
	a.put(t, "items", map[string]any{"id": "pending"})
	// A lease held by an instance that died after processing "processed" (sequence 1), renewed just now.
	id := cosmosbinding.LeaseID("", "localhost", info)
	if id != "localhost_"+info.DatabaseRID+"_"+info.RID+"..0" {
		t.Fatalf("lease id %q", id)
	}
	lease := map[string]any{"id": id, "LeaseToken": "0", "Owner": "ghost", "ContinuationToken": `"1"`,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "properties": map[string]string{}}
	b, _ := json.Marshal(lease)
	if _, err := a.svc.CreateItem(ctx, account.EmulatorAccount, "testdb", "leases", nil, b); err != nil {
		t.Fatal(err)
	}

	rec := &invocations{}
	started := time.Now()
	stop, err := startTrigger(t, p, strings.Replace(triggerJSON, "%s", "", 1), map[string]string{"CosmosConn": p.CosmosConn}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	eventually(t, "the takeover", func() bool { return len(rec.ids()) > 0 })
	if got := rec.ids(); len(got) != 1 || got[0] != "pending" {
		t.Errorf("after the takeover the trigger fired %v, want [pending]", got)
	}
	if d := time.Since(started); d < 900*time.Millisecond {
		t.Errorf("took a lease renewed %v ago over; it expires after 1s", d)
	}
	readLease := func() map[string]any {
		it, err := a.svc.ReadItem(ctx, account.EmulatorAccount, "testdb", "leases", docdb.PartitionKey{id}, id)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		json.Unmarshal(it.Document, &v)
		return v
	}
	eventually(t, "the checkpoint", func() bool { return readLease()["ContinuationToken"] == `"2"` })
	l := readLease()
	if o, _ := l["Owner"].(string); o == "" || o == "ghost" || l["LeaseToken"] != "0" {
		t.Errorf("lease %v", l)
	}

	// Stopping releases it.
	stop()
	if l := readLease(); l["Owner"] != nil {
		t.Errorf("after stop the lease is owned by %v", l["Owner"])
	}
}

// TestStartFromTime: a new lease with startFromTime starts at the first change made at or after it.
func TestStartFromTime(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, nil)
	a.put(t, "items", map[string]any{"id": "old"})
	// _ts has whole seconds: the next second is after "old" was written.
	next := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(next))
	a.put(t, "items", map[string]any{"id": "recent"})
	from := next.UTC().Format(time.RFC3339)
	rec := &invocations{}
	stop, err := startTrigger(t, p, strings.Replace(triggerJSON, "%s", `,"createLeaseContainerIfNotExists":true,"startFromTime":"`+from+`"`, 1),
		map[string]string{"CosmosConn": p.CosmosConn}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	eventually(t, "the recent document", func() bool { return len(rec.ids()) > 0 })
	time.Sleep(200 * time.Millisecond)
	if got := rec.ids(); len(got) != 1 || got[0] != "recent" {
		t.Errorf("fired %v, want [recent]", got)
	}
}
