package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/lapisdev/lapis/internal/eventgrid/filter"
	"github.com/lapisdev/lapis/internal/platform"
)

const (
	egTopicID   = "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/t1"
	egSubPath   = egTopicID + "/providers/Microsoft.EventGrid/eventSubscriptions/sub1"
	egAccountID = "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/store1"
	egFuncID    = "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/app1/functions/hello"
	egSysTopic  = rgPath + "/providers/Microsoft.EventGrid/systemTopics/st1"
)

// egRun runs the CLI against the fake. The fake's address goes in
// LAPIS_ENDPOINT: the subscription commands' --endpoint is az's.
func egRun(t *testing.T, f *fakeARM, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("LAPIS_ENDPOINT", f.URL)
	return run(t, append([]string{"--subscription", testSub}, args...)...)
}

// echoResource answers PUT and PATCH on path with the body's properties, an
// id, a name and a type, as ARM would.
func echoResource(f *fakeARM, path, typ string) {
	h := func(w http.ResponseWriter, _ *http.Request, body []byte) {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		m["id"], m["name"], m["type"] = path, path[strings.LastIndex(path, "/")+1:], typ
		writeTestJSON(w, 200, m)
	}
	f.on("PUT", path, h)
	f.on("PATCH", path, h)
}

// jsonEqual reports whether got (JSON) means the same as want (JSON).
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func TestAdvancedFilterParse(t *testing.T) {
	cases := []struct {
		words string // split on spaces
		want  string // JSON
	}{
		{"data.n NumberIn 1 2.5 -3", `{"operatorType":"NumberIn","key":"data.n","values":[1,2.5,-3]}`},
		{"data.n NumberNotIn 4", `{"operatorType":"NumberNotIn","key":"data.n","values":[4]}`},
		{"data.n NumberLessThan 5", `{"operatorType":"NumberLessThan","key":"data.n","value":5}`},
		{"data.n NumberGreaterThan 5", `{"operatorType":"NumberGreaterThan","key":"data.n","value":5}`},
		{"data.n NumberLessThanOrEquals 1e3", `{"operatorType":"NumberLessThanOrEquals","key":"data.n","value":1000}`},
		{"data.n NumberGreaterThanOrEquals 0.5", `{"operatorType":"NumberGreaterThanOrEquals","key":"data.n","value":0.5}`},
		{"data.n NumberInRange 5,10 20,30", `{"operatorType":"NumberInRange","key":"data.n","values":[[5,10],[20,30]]}`},
		{"data.n NumberNotInRange -1,1", `{"operatorType":"NumberNotInRange","key":"data.n","values":[[-1,1]]}`},
		{"data.b BoolEquals true", `{"operatorType":"BoolEquals","key":"data.b","value":true}`},
		{"data.b BoolEquals FALSE", `{"operatorType":"BoolEquals","key":"data.b","value":false}`},
		{"data.s StringIn a b c", `{"operatorType":"StringIn","key":"data.s","values":["a","b","c"]}`},
		{"data.s StringNotIn a", `{"operatorType":"StringNotIn","key":"data.s","values":["a"]}`},
		{"subject StringBeginsWith /orders", `{"operatorType":"StringBeginsWith","key":"subject","values":["/orders"]}`},
		{"subject StringNotBeginsWith /x /y", `{"operatorType":"StringNotBeginsWith","key":"subject","values":["/x","/y"]}`},
		{"subject StringEndsWith .png", `{"operatorType":"StringEndsWith","key":"subject","values":[".png"]}`},
		{"subject StringNotEndsWith .tmp", `{"operatorType":"StringNotEndsWith","key":"subject","values":[".tmp"]}`},
		{"data.s StringContains err", `{"operatorType":"StringContains","key":"data.s","values":["err"]}`},
		{"data.s StringNotContains ok", `{"operatorType":"StringNotContains","key":"data.s","values":["ok"]}`},
		{"data.x IsNullOrUndefined", `{"operatorType":"IsNullOrUndefined","key":"data.x"}`},
		{"data.x IsNotNull", `{"operatorType":"IsNotNull","key":"data.x"}`},
		{"data.s stringin A", `{"operatorType":"StringIn","key":"data.s","values":["A"]}`},
		{"data.n NUMBERGREATERTHAN 7", `{"operatorType":"NumberGreaterThan","key":"data.n","value":7}`},
	}
	for _, c := range cases {
		af, err := parseAdvancedFilter(strings.Split(c.words, " "))
		if err != nil {
			t.Errorf("%s: %v", c.words, err)
			continue
		}
		b, _ := json.Marshal(af)
		if !jsonEqual(t, b, c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.words, b, c.want)
		}
		// The server's filter package takes what the CLI sends.
		if _, err := filter.Parse(json.RawMessage(`{"advancedFilters":[` + string(b) + `]}`)); err != nil {
			t.Errorf("%s: the server refuses %s: %v", c.words, b, err)
		}
	}

	bad := []struct{ words, msg string }{
		{"data.x", "expected KEY OPERATOR"},
		{"data.x StringLike a", "invalid --advanced-filter operator 'StringLike'"},
		{"data.x NumberIn", "NumberIn needs at least one value"},
		{"data.x NumberIn 1 two", "'two' is not a number"},
		{"data.x NumberIn NaN", "'NaN' is not a number"},
		{"data.x NumberGreaterThan", "NumberGreaterThan takes exactly one value"},
		{"data.x NumberLessThan 1 2", "NumberLessThan takes exactly one value"},
		{"data.x NumberLessThanOrEquals x", "'x' is not a number"},
		{"data.x NumberInRange 5", "range '5' is not LOW,HIGH"},
		{"data.x NumberInRange 5,x", "'x' is not a number"},
		{"data.x NumberNotInRange 10,5", "low end above its high end"},
		{"data.x BoolEquals yes", "'yes' is not true or false"},
		{"data.x BoolEquals", "BoolEquals takes exactly one value"},
		{"data.x IsNotNull 1", "IsNotNull takes no value"},
		{"data.x StringIn", "StringIn needs at least one value"},
	}
	for _, c := range bad {
		_, err := parseAdvancedFilter(strings.Split(c.words, " "))
		var ue *usageError
		if err == nil || !strings.Contains(err.Error(), c.msg) || !errors.As(err, &ue) {
			t.Errorf("%s: error %v, want a usage error with %q", c.words, err, c.msg)
		}
	}
}

func TestParseExpiration(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-31":                "2026-12-31T00:00:00Z",
		"2026-12-31T18:30:00":       "2026-12-31T18:30:00Z",
		"2026-12-31 18:30:00":       "2026-12-31T18:30:00Z",
		"2026-12-31T18:30":          "2026-12-31T18:30:00Z",
		"2026-12-31T18:30:00Z":      "2026-12-31T18:30:00Z",
		"2026-12-31T18:30:00.5Z":    "2026-12-31T18:30:00Z",
		"2026-12-31T20:30:00+02:00": "2026-12-31T18:30:00Z",
	} {
		if got, err := parseExpiration(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "tomorrow", "31/12/2026", "2026-13-01"} {
		if _, err := parseExpiration(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestEventSubscriptionBodies checks the properties each command line sends.
func TestEventSubscriptionBodies(t *testing.T) {
	src := []string{"-n", "sub1", "--source-resource-id", egTopicID}
	web := []string{"--endpoint", "https://example.com/api/events?code=k"}
	cases := []struct {
		name   string
		method string // PUT (create) or PATCH (update)
		args   []string
		want   string // the properties, JSON
	}{
		{"webhook", "PUT", web,
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}}}`},
		{"webhook batches", "PUT", append([]string{"--max-events-per-batch", "10", "--preferred-batch-size-in-kilobytes", "512"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k","maxEventsPerBatch":10,"preferredBatchSizeInKilobytes":512}}}`},
		{"azurefunction", "PUT", []string{"--endpoint-type", "AzureFunction", "--endpoint", egFuncID, "--max-events-per-batch", "5"},
			`{"destination":{"endpointType":"AzureFunction","properties":{"resourceId":"` + egFuncID + `","maxEventsPerBatch":5}}}`},
		{"storagequeue split", "PUT", []string{"--endpoint-type", "storagequeue", "--endpoint", egAccountID + "/queueServices/default/queues/orders", "--storage-queue-msg-ttl", "300"},
			`{"destination":{"endpointType":"StorageQueue","properties":{"resourceId":"` + egAccountID + `","queueName":"orders","queueMessageTimeToLiveInSeconds":300}}}`},
		{"storagequeue forever", "PUT", []string{"--endpoint-type", "storagequeue", "--endpoint", egAccountID + "/QueueServices/default/queues/orders", "--storage-queue-msg-ttl", "-1"},
			`{"destination":{"endpointType":"StorageQueue","properties":{"resourceId":"` + egAccountID + `","queueName":"orders","queueMessageTimeToLiveInSeconds":-1}}}`},
		{"filter, az form", "PUT", append([]string{"--included-event-types", "A.Created", "A.Deleted", "--subject-begins-with", "/orders/",
			"--subject-ends-with", ".json", "--subject-case-sensitive", "--advanced-filter", "data.key1", "StringIn", "a", "b c",
			"--advanced-filter", "data.x", "IsNullOrUndefined", "--advanced-filter", "data.n", "NumberInRange", "5,10", "20,30",
			"--enable-advanced-filtering-on-arrays", "true"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}},
			  "filter":{"includedEventTypes":["A.Created","A.Deleted"],"subjectBeginsWith":"/orders/","subjectEndsWith":".json",
			  "isSubjectCaseSensitive":true,"enableAdvancedFilteringOnArrays":true,"advancedFilters":[
			    {"operatorType":"StringIn","key":"data.key1","values":["a","b c"]},
			    {"operatorType":"IsNullOrUndefined","key":"data.x"},
			    {"operatorType":"NumberInRange","key":"data.n","values":[[5,10],[20,30]]}]}}`},
		{"filter, quoted and repeated", "PUT", append([]string{"--advanced-filter", "data.key1 StringIn a b", "--included-event-types", "A B",
			"--included-event-types", "C", "--advanced-filter=data.x NumberGreaterThan -5", "--subject-case-sensitive=false"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}},
			  "filter":{"includedEventTypes":["A","B","C"],"isSubjectCaseSensitive":false,"advancedFilters":[
			    {"operatorType":"StringIn","key":"data.key1","values":["a","b"]},
			    {"operatorType":"NumberGreaterThan","key":"data.x","value":-5}]}}`},
		{"case-sensitive false after a list", "PUT", append([]string{"--included-event-types", "A", "B", "--subject-case-sensitive", "false"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}},
			  "filter":{"includedEventTypes":["A","B"],"isSubjectCaseSensitive":false}}`},
		{"everything else", "PUT", append([]string{"--max-delivery-attempts", "10", "--event-ttl", "60",
			"--deadletter-endpoint", egAccountID + "/blobServices/default/containers/dead", "--event-delivery-schema", "CloudEventSchemaV1_0",
			"--labels", "a", "b c", "--expiration-date", "2030-01-02"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}},
			  "retryPolicy":{"maxDeliveryAttempts":10,"eventTimeToLiveInMinutes":60},
			  "deadLetterDestination":{"endpointType":"StorageBlob","properties":{"resourceId":"` + egAccountID + `","blobContainerName":"dead"}},
			  "eventDeliverySchema":"CloudEventSchemaV1_0","labels":["a","b c"],"expirationTimeUtc":"2030-01-02T00:00:00Z"}`},
		{"schemas", "PUT", append([]string{"--event-delivery-schema", "eventgridschema"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}},"eventDeliverySchema":"EventGridSchema"}`},
		{"custom input schema", "PUT", append([]string{"--event-delivery-schema", "custominputschema"}, web...),
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://example.com/api/events?code=k"}},"eventDeliverySchema":"CustomInputSchema"}`},
		{"update sends what is given", "PATCH", []string{"--max-delivery-attempts", "3", "--labels", "x", "--expiration-date", "2030-06-01T12:00:00+01:00"},
			`{"retryPolicy":{"maxDeliveryAttempts":3},"labels":["x"],"expirationTimeUtc":"2030-06-01T11:00:00Z"}`},
		{"update batch only", "PATCH", []string{"--max-events-per-batch", "20"},
			`{"destination":{"properties":{"maxEventsPerBatch":20}}}`},
		{"update replaces the destination", "PATCH", []string{"--endpoint-type", "storagequeue", "--endpoint", egAccountID + "/queueServices/default/queues/q2"},
			`{"destination":{"endpointType":"StorageQueue","properties":{"resourceId":"` + egAccountID + `","queueName":"q2",
			  "endpointUrl":null,"endpointBaseUrl":null,"queueMessageTimeToLiveInSeconds":null,"maxEventsPerBatch":null,
			  "preferredBatchSizeInKilobytes":null,"deliveryAttributeMappings":null,"azureActiveDirectoryTenantId":null,
			  "azureActiveDirectoryApplicationIdOrUri":null,"minimumTlsVersionAllowed":null}}}`},
		{"update to a webhook", "PATCH", []string{"--endpoint", "http://localhost:8080/hook", "--max-events-per-batch", "5"},
			`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"http://localhost:8080/hook","maxEventsPerBatch":5,
			  "endpointBaseUrl":null,"resourceId":null,"queueName":null,"queueMessageTimeToLiveInSeconds":null,
			  "preferredBatchSizeInKilobytes":null,"deliveryAttributeMappings":null,"azureActiveDirectoryTenantId":null,
			  "azureActiveDirectoryApplicationIdOrUri":null,"minimumTlsVersionAllowed":null}}}`},
		{"update filter", "PATCH", []string{"--advanced-filter", "data.b", "BoolEquals", "true", "--subject-ends-with", ".png"},
			`{"filter":{"subjectEndsWith":".png","advancedFilters":[{"operatorType":"BoolEquals","key":"data.b","value":true}]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeARM(t)
			echoResource(f, egSubPath, "Microsoft.EventGrid/eventSubscriptions")
			verb := "create"
			if c.method == "PATCH" {
				verb = "update"
			}
			code, out, errOut := egRun(t, f, append(append([]string{"eventgrid", "event-subscription", verb}, src...), c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			req := f.last(t, c.method, egSubPath)
			if req.apiVersion != eventGridAPI {
				t.Errorf("api-version %q", req.apiVersion)
			}
			body := decodeBody(t, req.body)
			props, _ := json.Marshal(body["properties"])
			if len(body) != 1 || !jsonEqual(t, props, c.want) {
				t.Errorf("body %s\nwant properties %s", req.body, c.want)
			}
			// Printed as az prints it: properties and the destination's lifted.
			var printed map[string]any
			if err := json.Unmarshal([]byte(out), &printed); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			if printed["name"] != "sub1" || printed["resourceGroup"] != "rg1" {
				t.Errorf("printed %v", printed)
			}
			if d, ok := printed["destination"].(map[string]any); ok {
				if _, nested := d["properties"]; nested {
					t.Errorf("destination not flattened: %v", d)
				}
			}
		})
	}
}

// TestEventSubscriptionUsageErrors: bad command lines fail with exit 2
// before any request.
func TestEventSubscriptionUsageErrors(t *testing.T) {
	// create and webhook are create commands for the topic, without and with an endpoint.
	create := func(extra ...string) []string {
		return append([]string{"create", "-n", "sub1", "--source-resource-id", egTopicID}, extra...)
	}
	webhook := func(extra ...string) []string {
		return create(append([]string{"--endpoint", "https://example.com/hook"}, extra...)...)
	}
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"show", "-n", "sub1"}, "required: --source-resource-id"},
		{[]string{"delete", "-n", "sub1"}, "required: --source-resource-id"},
		{[]string{"create", "-n", "sub1", "--endpoint", "https://example.com/hook"}, "required: --source-resource-id"},
		{[]string{"show", "--source-resource-id", egTopicID}, "required: --name/-n"},
		{[]string{"list", "--source-resource-id", "rg1"}, "must be a resource id"},
		{create(), "required: --endpoint"},
		{[]string{"update", "-n", "sub1", "--source-resource-id", egTopicID}, "nothing to update"},
		{create("--endpoint-type", "eventhub", "--endpoint", "x"), "--endpoint-type eventhub is not supported yet"},
		{create("--endpoint-type", "ServiceBusQueue", "--endpoint", "x"), "is not supported yet"},
		{create("--endpoint-type", "ftp", "--endpoint", "x"), "invalid choice: 'ftp'"},
		{create("--endpoint", "example.com/hook"), "a webhook endpoint is an http or https URL"},
		{create("--endpoint", egFuncID), "pass --endpoint-type azurefunction"},
		{create("--endpoint-type", "azurefunction", "--endpoint", egAccountID), "a function's resource id"},
		{create("--endpoint-type", "storagequeue", "--endpoint", egAccountID), "queueServices/default/queues/{queue}"},
		{create("--endpoint-type", "storagequeue", "--endpoint", egAccountID+"/queueServices/default/queues/q", "--max-events-per-batch", "2"), "for webhook and azurefunction"},
		{webhook("--storage-queue-msg-ttl", "60"), "for storagequeue endpoints"},
		{create("--endpoint-type", "storagequeue", "--endpoint", egAccountID+"/queueServices/default/queues/q", "--storage-queue-msg-ttl", "0"), "not a number of seconds"},
		{[]string{"update", "-n", "sub1", "--source-resource-id", egTopicID, "--endpoint-type", "webhook"}, "--endpoint-type goes with --endpoint"},
		{webhook("--advanced-filter", "data.x", "Nope", "1"), "operator 'Nope'"},
		{webhook("--advanced-filter", "data.x NumberIn one"), "'one' is not a number"},
		{webhook("--max-delivery-attempts", "31"), "--max-delivery-attempts: 31 is out of range 1-30"},
		{webhook("--event-ttl", "0"), "--event-ttl: 0 is out of range 1-1440"},
		{webhook("--max-events-per-batch", "5001"), "out of range 1-5000"},
		{webhook("--preferred-batch-size-in-kilobytes", "2048"), "out of range 1-1024"},
		{webhook("--deadletter-endpoint", egAccountID), "invalid --deadletter-endpoint"},
		{webhook("--deadletter-endpoint", "/blobServices/default/containers/x"), "invalid --deadletter-endpoint"},
		{webhook("--event-delivery-schema", "avro"), "--event-delivery-schema: invalid choice"},
		{webhook("--expiration-date", "soon"), "invalid --expiration-date"},
		{webhook("--subject-case-sensitive=maybe"), "not true or false"},
		{webhook("stray"), "unrecognized arguments: stray"},
		{webhook("--subject-case-sensitive", "true", "extra"), "unrecognized arguments: extra"},
	}
	for _, c := range cases {
		f := newFakeARM(t)
		code, _, errOut := egRun(t, f, append([]string{"eventgrid", "event-subscription"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.msg)
		}
		if len(f.reqs) != 0 {
			t.Errorf("%v: %d requests", c.args, len(f.reqs))
		}
	}
}

func TestEventSubscriptionShowListDelete(t *testing.T) {
	f := newFakeARM(t)
	sub := map[string]any{"id": egSubPath, "name": "sub1", "type": "Microsoft.EventGrid/eventSubscriptions",
		"properties": map[string]any{"provisioningState": "Succeeded", "topic": egTopicID,
			"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{
				"endpointBaseUrl": "https://example.com/hook", "maxEventsPerBatch": 1}}}}
	f.json("GET", egSubPath, sub)
	f.json("POST", egSubPath+"/getFullUrl", map[string]any{"endpointUrl": "https://example.com/hook?code=secret"})
	f.json("GET", egTopicID+"/providers/Microsoft.EventGrid/eventSubscriptions", map[string]any{"value": []any{sub}})
	f.json("DELETE", egSubPath, nil)
	args := []string{"-n", "sub1", "--source-resource-id", egTopicID}

	code, out, errOut := egRun(t, f, append([]string{"eventgrid", "event-subscription", "show", "--query", "destination.endpointBaseUrl", "-o", "tsv"}, args...)...)
	if code != 0 || out != "https://example.com/hook\n" {
		t.Fatalf("show: %d %q %s", code, out, errOut)
	}
	code, out, errOut = egRun(t, f, append([]string{"eventgrid", "event-subscription", "show", "--include-full-endpoint-url", "--query", "destination.endpointUrl", "-o", "tsv"}, args...)...)
	if code != 0 || out != "https://example.com/hook?code=secret\n" {
		t.Fatalf("show --include-full-endpoint-url: %d %q %s", code, out, errOut)
	}
	code, out, errOut = egRun(t, f, "eventgrid", "event-subscription", "list", "--source-resource-id", egTopicID, "-o", "table")
	if code != 0 || !strings.Contains(out, "ProvisioningState") || !strings.Contains(out, "sub1") || !strings.Contains(out, "WebHook") {
		t.Fatalf("list: %d %q %s", code, out, errOut)
	}
	if code, _, errOut = egRun(t, f, append([]string{"eventgrid", "event-subscription", "delete"}, args...)...); code != 0 {
		t.Fatalf("delete: %d %s", code, errOut)
	}
	f.last(t, "DELETE", egSubPath)
}

func TestSystemTopicCommands(t *testing.T) {
	f := newFakeARM(t)
	f.json("GET", rgPath, map[string]any{"name": "rg1", "location": "westeurope"})
	echoResource(f, egSysTopic, "Microsoft.EventGrid/systemTopics")
	code, out, errOut := egRun(t, f, "eventgrid", "system-topic", "create", "-g", "rg1", "-n", "st1",
		"--topic-type", "Microsoft.Storage.StorageAccounts", "--source", egAccountID, "--tags", "env=dev", "team=web", "--query", "source", "-o", "tsv")
	if code != 0 || out != egAccountID+"\n" {
		t.Fatalf("create: %d %q %s", code, out, errOut)
	}
	want := `{"location":"westeurope","tags":{"env":"dev","team":"web"},"properties":{"source":"` + egAccountID + `","topicType":"Microsoft.Storage.StorageAccounts"}}`
	if b := f.last(t, "PUT", egSysTopic).body; !jsonEqual(t, b, want) {
		t.Errorf("create body %s\nwant %s", b, want)
	}
	if code, _, errOut = egRun(t, f, "eventgrid", "system-topic", "create", "-g", "rg1", "-n", "st1", "-l", "eastus",
		"--topic-type", "Microsoft.Storage.StorageAccounts", "--source", egAccountID); code != 0 {
		t.Fatalf("create -l: %d %s", code, errOut)
	}
	if b := decodeBody(t, f.last(t, "PUT", egSysTopic).body); b["location"] != "eastus" {
		t.Errorf("create -l: %v", b)
	}

	f.json("GET", egSysTopic, map[string]any{"id": egSysTopic, "name": "st1", "properties": map[string]any{"topicType": "Microsoft.Storage.StorageAccounts"}})
	if code, out, _ = egRun(t, f, "eventgrid", "system-topic", "show", "-g", "rg1", "-n", "st1", "--query", "topicType", "-o", "tsv"); code != 0 || out != "Microsoft.Storage.StorageAccounts\n" {
		t.Errorf("show: %d %q", code, out)
	}
	f.json("GET", rgPath+"/providers/Microsoft.EventGrid/systemTopics", map[string]any{"value": []any{map[string]any{"id": egSysTopic, "name": "st1"}}})
	if code, out, _ = egRun(t, f, "eventgrid", "system-topic", "list", "-g", "rg1", "--query", "[].resourceGroup", "-o", "tsv"); code != 0 || out != "rg1\n" {
		t.Errorf("list: %d %q", code, out)
	}
	f.json("DELETE", egSysTopic, nil)
	if code, _, errOut = egRun(t, f, "eventgrid", "system-topic", "delete", "-g", "rg1", "-n", "st1", "--yes"); code != 0 {
		t.Errorf("delete: %d %s", code, errOut)
	}
	f.last(t, "DELETE", egSysTopic)

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"create", "-g", "rg1", "--topic-type", "T", "--source", egAccountID}, "--name/-n"},
		{[]string{"create", "-n", "st1", "-g", "rg1", "--source", egAccountID}, "--topic-type"},
		{[]string{"create", "-n", "st1", "-g", "rg1", "--topic-type", "T"}, "--source"},
		{[]string{"create", "-n", "st1", "-g", "rg1", "--topic-type", "T", "--source", "store1"}, "invalid --source"},
		{[]string{"show", "-n", "st1"}, "--resource-group/-g"},
	} {
		if code, _, errOut := egRun(t, f, append([]string{"eventgrid", "system-topic"}, c.args...)...); code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: %d %q, want %q", c.args, code, errOut, c.msg)
		}
	}
}

// TestSystemTopicEventSubscription: the nested commands take the same
// settings and work on {system topic}/eventSubscriptions.
func TestSystemTopicEventSubscription(t *testing.T) {
	f := newFakeARM(t)
	path := egSysTopic + "/eventSubscriptions/blobs"
	echoResource(f, path, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
	base := []string{"eventgrid", "system-topic", "event-subscription"}
	at := []string{"-g", "rg1", "--system-topic-name", "st1", "-n", "blobs"}
	code, _, errOut := egRun(t, f, append(append(append(base, "create"), at...), "--endpoint-type", "storagequeue",
		"--endpoint", egAccountID+"/queueServices/default/queues/blobs", "--included-event-types", "Microsoft.Storage.BlobCreated",
		"--advanced-filter", "subject", "StringEndsWith", ".png", ".jpg")...)
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	want := `{"properties":{"destination":{"endpointType":"StorageQueue","properties":{"resourceId":"` + egAccountID + `","queueName":"blobs"}},
	  "filter":{"includedEventTypes":["Microsoft.Storage.BlobCreated"],"advancedFilters":[{"operatorType":"StringEndsWith","key":"subject","values":[".png",".jpg"]}]}}}`
	if b := f.last(t, "PUT", path).body; !jsonEqual(t, b, want) {
		t.Errorf("create body %s\nwant %s", b, want)
	}
	if code, _, errOut = egRun(t, f, append(append(append(base, "update"), at...), "--event-ttl", "30")...); code != 0 {
		t.Fatalf("update: %d %s", code, errOut)
	}
	if b := f.last(t, "PATCH", path).body; !jsonEqual(t, b, `{"properties":{"retryPolicy":{"eventTimeToLiveInMinutes":30}}}`) {
		t.Errorf("update body %s", b)
	}
	f.json("GET", egSysTopic+"/eventSubscriptions", map[string]any{"value": []any{}})
	if code, out, errOut := egRun(t, f, append(base, "list", "-g", "rg1", "--system-topic-name", "st1")...); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list: %d %q %s", code, out, errOut)
	}
	if code, _, errOut := egRun(t, f, append(base, "list", "-g", "rg1")...); code != exitUsage || !strings.Contains(errOut, "--system-topic-name") {
		t.Errorf("list without --system-topic-name: %d %s", code, errOut)
	}
}

// validatingHook is a webhook that answers Event Grid's validation
// handshake and keeps the events delivered to it.
type validatingHook struct {
	*httptest.Server
	mu          sync.Mutex
	validations int
	events      []map[string]any
}

func newValidatingHook(t *testing.T) *validatingHook {
	t.Helper()
	h := &validatingHook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			data, _ := batch[0]["data"].(map[string]any)
			h.validations++
			writeTestJSON(w, http.StatusOK, map[string]any{"validationResponse": data["validationCode"]})
			return
		}
		h.events = append(h.events, batch...)
	}))
	t.Cleanup(h.Close)
	return h
}

// startPlatform runs a Lapis in dir until the test ends.
func startPlatform(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the platform's pointer file stays out of the user's config
	cfg := platform.Defaults()
	cfg.DataDir = dir
	cfg.Ports = platform.Ports{Functions: -1}
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
}

// TestEventSubscriptionEndToEnd drives the commands against a real
// platform: a topic, a webhook subscription that passes the validation
// handshake, show with --query, update, list and delete.
func TestEventSubscriptionEndToEnd(t *testing.T) {
	dir := t.TempDir()
	startPlatform(t, dir)
	cli := cliIn(t, dir)
	hook := newValidatingHook(t)
	cli("group", "create", "-n", "events-rg", "-l", "eastus")
	cli("eventgrid", "topic", "create", "-g", "events-rg", "-n", "orders-topic")
	topicID := cli("eventgrid", "topic", "show", "-g", "events-rg", "-n", "orders-topic", "--query", "id", "-o", "tsv")
	at := []string{"--name", "orders-sub", "--source-resource-id", topicID}
	sub := func(verb string, args ...string) string {
		t.Helper()
		return cli(append(append([]string{"eventgrid", "event-subscription", verb}, at...), args...)...)
	}

	endpoint := hook.URL + "/api/events?code=secret"
	var created map[string]any
	if err := json.Unmarshal([]byte(sub("create", "--endpoint", endpoint, "--included-event-types", "Orders.OrderCreated", "Orders.OrderPaid",
		"--advanced-filter", "data.total", "NumberGreaterThan", "10", "--labels", "shop")), &created); err != nil {
		t.Fatal(err)
	}
	if created["name"] != "orders-sub" || created["resourceGroup"] != "events-rg" || created["provisioningState"] != "Succeeded" {
		t.Fatalf("create printed %v", created)
	}
	hook.mu.Lock()
	validations := hook.validations
	hook.mu.Unlock()
	if validations != 1 {
		t.Fatalf("%d validation handshakes", validations)
	}

	if got := sub("show", "--query", "destination.endpointBaseUrl", "-o", "tsv"); got != hook.URL+"/api/events" {
		t.Errorf("endpointBaseUrl %q", got)
	}
	if got := sub("show", "--include-full-endpoint-url", "--query", "destination.endpointUrl", "-o", "tsv"); got != endpoint {
		t.Errorf("full endpoint URL %q", got)
	}
	if got := sub("show", "--query", "[filter.includedEventTypes[1], filter.advancedFilters[0].operatorType, to_string(filter.advancedFilters[0].value)]", "-o", "tsv"); got != "Orders.OrderPaid\nNumberGreaterThan\n10" {
		t.Errorf("filter %q", got)
	}

	sub("update", "--max-delivery-attempts", "5", "--event-ttl", "60", "--subject-begins-with", "orders/")
	if got := sub("show", "--query", "[retryPolicy.maxDeliveryAttempts, retryPolicy.eventTimeToLiveInMinutes, filter.subjectBeginsWith, filter.includedEventTypes[0], labels[0]]", "-o", "tsv"); got != "5\n60\norders/\nOrders.OrderCreated\nshop" {
		t.Errorf("after update: %q", got)
	}
	// An update that leaves the endpoint keeps the full URL.
	if got := sub("show", "--include-full-endpoint-url", "--query", "destination.endpointUrl", "-o", "tsv"); got != endpoint {
		t.Errorf("full endpoint URL after update %q", got)
	}

	sub("update", "--max-events-per-batch", "3")
	if got := sub("show", "--include-full-endpoint-url", "--query", "[destination.maxEventsPerBatch, destination.endpointUrl]", "-o", "tsv"); got != "3\n"+endpoint {
		t.Errorf("after a batch update %q", got)
	}
	// Without a source, az lists the group's or the subscription's.
	for _, args := range [][]string{{"-g", "events-rg"}, nil} {
		if got := cli(append([]string{"eventgrid", "event-subscription", "list", "--query", "[].name", "-o", "tsv"}, args...)...); got != "orders-sub" {
			t.Fatalf("list %v = %q", args, got)
		}
	}
	if got := cli("eventgrid", "event-subscription", "list", "--source-resource-id", topicID, "--query", "[].name", "-o", "tsv"); got != "orders-sub" {
		t.Errorf("list %q", got)
	}
	sub("delete")
	if code, _, errOut := run(t, append([]string{"--data-dir", dir, "eventgrid", "event-subscription", "show"}, at...)...); code != exitNotFound {
		t.Errorf("show after delete: exit %d %s", code, errOut)
	}
	if got := cli("eventgrid", "event-subscription", "list", "--source-resource-id", topicID); got != "[]" {
		t.Errorf("list after delete %q", got)
	}
}

// TestSystemTopicEndToEnd: a storage account's system topic and a
// subscription of it that delivers to a queue of the account.
func TestSystemTopicEndToEnd(t *testing.T) {
	dir := t.TempDir()
	startPlatform(t, dir)
	cli := cliIn(t, dir)
	cli("group", "create", "-n", "events-rg", "-l", "westeurope")
	account := cli("storage", "account", "create", "-g", "events-rg", "-n", "eventsstore", "--query", "id", "-o", "tsv")
	if got := cli("eventgrid", "system-topic", "create", "-g", "events-rg", "-n", "storage-events", "--topic-type", "Microsoft.Storage.StorageAccounts",
		"--source", account, "--query", "[location, topicType, source]", "-o", "tsv"); got != "westeurope\nMicrosoft.Storage.StorageAccounts\n"+account {
		t.Fatalf("create printed %q", got)
	}
	if got := cli("eventgrid", "system-topic", "list", "-g", "events-rg", "--query", "[].name", "-o", "tsv"); got != "storage-events" {
		t.Errorf("list %q", got)
	}

	at := []string{"-g", "events-rg", "--system-topic-name", "storage-events", "-n", "new-images"}
	sub := func(verb string, args ...string) string {
		t.Helper()
		return cli(append(append([]string{"eventgrid", "system-topic", "event-subscription", verb}, at...), args...)...)
	}
	sub("create", "--endpoint-type", "storagequeue", "--endpoint", account+"/queueServices/default/queues/images",
		"--included-event-types", "Microsoft.Storage.BlobCreated", "--advanced-filter", "subject", "StringEndsWith", ".png", ".jpg",
		"--deadletter-endpoint", account+"/blobServices/default/containers/dead")
	if got := sub("show", "--query", "[destination.endpointType, destination.queueName, deadLetterDestination.blobContainerName, filter.advancedFilters[0].values[1]]", "-o", "tsv"); got != "StorageQueue\nimages\ndead\n.jpg" {
		t.Errorf("show %q", got)
	}
	sub("update", "--storage-queue-msg-ttl", "600")
	if got := sub("show", "--query", "[destination.queueMessageTimeToLiveInSeconds, destination.queueName]", "-o", "tsv"); got != "600\nimages" {
		t.Errorf("after update %q", got)
	}
	// A new endpoint replaces the destination, of another type too.
	hook := newValidatingHook(t)
	sub("update", "--endpoint", hook.URL+"/images", "--max-events-per-batch", "5")
	if got := sub("show", "--include-full-endpoint-url", "--query", "destination", "-o", "json"); !jsonEqual(t, []byte(got),
		`{"endpointType":"WebHook","endpointBaseUrl":"`+hook.URL+`/images","endpointUrl":"`+hook.URL+`/images","maxEventsPerBatch":5,"preferredBatchSizeInKilobytes":64}`) {
		t.Errorf("destination after a new endpoint: %s", got)
	}
	if got := cli("eventgrid", "system-topic", "event-subscription", "list", "-g", "events-rg", "--system-topic-name", "storage-events", "--query", "[].name", "-o", "tsv"); got != "new-images" {
		t.Errorf("list %q", got)
	}
	sub("delete")
	cli("eventgrid", "system-topic", "delete", "-g", "events-rg", "-n", "storage-events")
	if code, _, _ := run(t, "--data-dir", dir, "eventgrid", "system-topic", "show", "-g", "events-rg", "-n", "storage-events"); code != exitNotFound {
		t.Errorf("show after delete: exit %d", code)
	}
}

// cliIn runs CLI commands against the platform in dir; each must succeed,
// and it returns the trimmed output.
func cliIn(t *testing.T, dir string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--data-dir", dir}, args...)...)
		if code != 0 {
			t.Fatalf("lapis %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return strings.TrimSpace(out)
	}
}
