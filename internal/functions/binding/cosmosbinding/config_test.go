package cosmosbinding_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/cosmosbinding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
)

func parseBinding(t *testing.T, js string) *appconfig.Binding {
	t.Helper()
	def, err := appconfig.ParseFunction("f", []byte(`{"bindings":[`+js+`]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &def.Bindings[0]
}

// TestLoadErrors: function.json mistakes are load errors naming the function, the binding and the property.
func TestLoadErrors(t *testing.T) {
	for _, c := range []struct{ js, want string }{
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","containerName":"c"}`,
			`f/function.json: bindings[0].databaseName: is required: the name of the database, e.g. "myappdb"`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":""}`,
			`bindings[0].containerName: must not be empty`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"c","maxItemsPerInvocation":"many"}`,
			`bindings[0].maxItemsPerInvocation: "many" is not a whole number of documents`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"c","startFromBeginning":true,"startFromTime":"2021-02-16T14:19:29Z"}`,
			`bindings[0].startFromTime: only one of startFromBeginning or startFromTime can be used`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"c","startFromTime":"yesterday"}`,
			`use ISO 8601 with the UTC designator`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"c","leaseRenewInterval":60000}`,
			`bindings[0].leaseRenewInterval: 1m0s is not shorter than leaseExpirationInterval (1m0s)`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"{name}"}`,
			`a trigger's names cannot use binding expressions`},
		{`{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"c","createLeaseContainerIfNotExists":"maybe"}`,
			`bindings[0].createLeaseContainerIfNotExists: "maybe" is not true or false`},
		{`{"type":"cosmosDB","direction":"out","name":"d","databaseName":"db","containerName":"c","partitionKey":"id"}`,
			`bindings[0].partitionKey: "id" is not a partition key path`},
		{`{"type":"cosmosDB","direction":"out","name":"d","databaseName":"db","containerName":"c","id":"{id}"}`,
			`bindings[0].id: applies to an input binding`},
		{`{"type":"cosmosDB","direction":"in","name":"d","databaseName":"db","containerName":"c","id":"{id}","sqlQuery":"SELECT * FROM c"}`,
			`bindings[0].sqlQuery: only one of id and sqlQuery can be used`},
		{`{"type":"cosmosDB","direction":"in","name":"d","databaseName":"db","containerName":"c","createIfNotExists":true}`,
			`bindings[0].createIfNotExists: applies to an output binding`},
		{`{"type":"cosmosDB","direction":"in","name":"d","databaseName":"db","containerName":"c","id":"{id"}`,
			`bindings[0].id: binding expression`},
		{`{"type":"cosmosDB","direction":"in","name":"d","containerName":"c"}`,
			`bindings[0].databaseName: is required`},
	} {
		js, want := c.js, c.want
		if !strings.Contains(js, `Trigger"`) { // a binding: after a trigger
			js, want = `{"type":"httpTrigger","direction":"in","name":"req"},`+js, strings.Replace(want, "bindings[0]", "bindings[1]", 1)
		}
		def, err := appconfig.ParseFunction("f", []byte(`{"bindings":[`+js+`]}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = binding.ValidateFunction(def)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", c.js, err, want)
		}
	}
}

// TestTriggerConfig: Azure's defaults, the extension 3.x names, and values from app settings (strings).
func TestTriggerConfig(t *testing.T) {
	c, err := cosmosbinding.ParseTriggerConfig(parseBinding(t, `{"type":"cosmosDBTrigger","direction":"in","name":"d","databaseName":"db","containerName":"c"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &cosmosbinding.TriggerConfig{Connection: "CosmosDB", Database: "db", Container: "c", LeaseConnection: "CosmosDB",
		LeaseDatabase: "db", LeaseContainer: "leases", MaxItems: 100, FeedPollDelay: 5 * time.Second,
		LeaseAcquire: 13 * time.Second, LeaseExpiration: time.Minute, LeaseRenew: 17 * time.Second}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}

	c, err = cosmosbinding.ParseTriggerConfig(parseBinding(t, `{"type":"cosmosDBTrigger","direction":"in","name":"d",
		"connectionStringSetting":"Conn","databaseName":"db","collectionName":"c","leaseCollectionName":"l",
		"leaseConnectionStringSetting":"LeaseConn","leaseDatabaseName":"ldb","createLeaseCollectionIfNotExists":"true",
		"leaseCollectionPrefix":"p-","maxItemsPerInvocation":"7","feedPollDelay":"250","startFromTime":"2021-02-16T14:19:29",
		"leasesCollectionThroughput":400}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Connection != "Conn" || c.Container != "c" || c.LeaseContainer != "l" || c.LeaseConnection != "LeaseConn" ||
		c.LeaseDatabase != "ldb" || !c.CreateLeaseContainer || c.LeasePrefix != "p-" || c.MaxItems != 7 ||
		c.FeedPollDelay != 250*time.Millisecond || !c.StartFromTime.Equal(time.Date(2021, 2, 16, 14, 19, 29, 0, time.UTC)) {
		t.Errorf("3.x names: %+v", c)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, n := range []string{"collectionName is the Cosmos DB extension 3.x name of containerName", "leasesCollectionThroughput is ignored"} {
		if !strings.Contains(notes, n) {
			t.Errorf("notes %q lack %q", notes, n)
		}
	}
}

// TestDocuments: what an output value stands for.
func TestDocuments(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{`null`, `[]`, ``},
		{`{"id":"a","n":1}`, `[{"id":"a","n":1}]`, ``},
		{`[{"id":"a"},null,{"id":"b"}]`, `[{"id":"a"},{"id":"b"}]`, ``},
		{`"{\"id\":\"s\"}"`, `[{"id":"s"}]`, ``},
		{`["{\"id\":\"s\"}"]`, `[{"id":"s"}]`, ``},
		{`[1]`, ``, `value 1 is not a JSON object`},
		{`"text"`, ``, `value 1 is not a JSON object`},
		{`[{"id":"a"`, ``, `not valid JSON`},
	} {
		docs, err := cosmosbinding.Documents(json.RawMessage(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if docs == nil {
			docs = []json.RawMessage{}
		}
		got, _ := json.Marshal(docs)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s %v, want %s", c.in, got, err, c.want)
		}
	}
	// A document without an id gets one, first.
	docs, err := cosmosbinding.Documents(json.RawMessage(`[{"n":1},{}]`))
	if err != nil || len(docs) != 2 {
		t.Fatal(docs, err)
	}
	for _, d := range docs {
		var v map[string]any
		if err := json.Unmarshal(d, &v); err != nil || len(v["id"].(string)) != 36 || !strings.HasPrefix(string(d), `{"id":"`) {
			t.Errorf("document %s", d)
		}
	}
}

// TestParameterize: an input's sqlQuery expressions become parameters, as the extension makes them.
func TestParameterize(t *testing.T) {
	tmpl := expr.MustParse("SELECT * FROM c WHERE c.city = {city} AND c.zip = {address.zip} OR c.town = {city} AND c.k = '{{x}}'")
	ctx := &expr.Context{Value: json.RawMessage(`{"city":"O'Hara","address":{"zip":123}}`)}
	spec, err := cosmosbinding.Parameterize(tmpl, ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := docdb.QuerySpec{Query: "SELECT * FROM c WHERE c.city = @city AND c.zip = @address_zip OR c.town = @city AND c.k = '{x}'",
		Parameters: []docdb.QueryParameter{{Name: "@city", Value: "O'Hara"}, {Name: "@address_zip", Value: "123"}}}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("got %+v\nwant %+v", spec, want)
	}
	if _, err := cosmosbinding.Parameterize(expr.MustParse("SELECT * FROM c WHERE c.x = {missing}"), ctx); err == nil ||
		!strings.Contains(err.Error(), "missing") {
		t.Errorf("an unknown name: %v", err)
	}
}

// FuzzParameterize: any template parameterizes without panicking, into a query without braces for its
// expressions, with a parameter per distinct expression.
func FuzzParameterize(f *testing.F) {
	for _, s := range []string{"SELECT * FROM c WHERE c.id = {id}", "{a}{a}{b.c}", "{{literal}}", "{DateTime:yyyy}", "{rand-guid}", "{é}"} {
		f.Add(s, `{"id":"x","a":1,"b":{"c":true},"é":"e"}`)
	}
	f.Fuzz(func(t *testing.T, query, value string) {
		tmpl, err := expr.Parse(query)
		if err != nil {
			return
		}
		spec, err := cosmosbinding.Parameterize(tmpl, &expr.Context{Value: json.RawMessage(value)})
		if err != nil {
			return
		}
		names := map[string]bool{}
		for _, p := range spec.Parameters {
			if names[p.Name] || !strings.HasPrefix(p.Name, "@") || !strings.Contains(spec.Query, p.Name) {
				t.Fatalf("parameter %q of %q", p.Name, spec.Query)
			}
			names[p.Name] = true
		}
		if len(tmpl.Exprs()) > 0 && len(spec.Parameters) == 0 {
			t.Fatalf("%q has expressions but no parameters", query)
		}
	})
}

// FuzzDocuments: any output value is refused with an error or gives JSON objects with an id.
func FuzzDocuments(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `[{},null]`, `"{\"x\":1}"`, `[1]`, ` { } `, `"["`, `[{"id":1}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		docs, err := cosmosbinding.Documents(json.RawMessage(value))
		if err != nil {
			return
		}
		for _, d := range docs {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(d, &m); err != nil {
				t.Fatalf("%q gave %q: %v", value, d, err)
			}
			if _, ok := m["id"]; !ok {
				t.Fatalf("%q gave %q without an id", value, d)
			}
		}
	})
}
