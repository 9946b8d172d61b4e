package subscription_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
)

const acct = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a1"

func webhook(extra map[string]any) map[string]any {
	p := map[string]any{"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": "https://x.example/hook?code=k"}}}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestParseDefaultsAndShapes(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s, err := subscription.Parse(webhook(nil), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxDeliveryAttempts != 30 || s.EventTTL != 24*time.Hour || s.DeadLetter != nil || s.DeliverySchemaSet ||
		s.Destination.MaxEventsPerBatch != 1 || s.Destination.PreferredBatchBytes != 64<<10 || s.Destination.URL != "https://x.example/hook?code=k" {
		t.Fatalf("defaults: %+v", s)
	}
	s, err = subscription.Parse(map[string]any{
		"destination":           map[string]any{"endpointType": "storagequeue", "properties": map[string]any{"resourceId": acct, "queueName": "q11", "queueMessageTimeToLiveInSeconds": -1}},
		"retryPolicy":           map[string]any{"maxDeliveryAttempts": 3, "eventTimeToLiveInMinutes": 5},
		"deadLetterDestination": map[string]any{"endpointType": "StorageBlob", "properties": map[string]any{"resourceId": acct, "blobContainerName": "dl1"}},
		"eventDeliverySchema":   "CloudEventSchemaV1_0",
		"expirationTimeUtc":     "2027-01-01T00:00:00Z",
		"labels":                []any{"x"},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Destination.Type != subscription.StorageQueue || s.Destination.Queue != "q11" || s.Destination.QueueMessageTTL != -1 ||
		s.MaxDeliveryAttempts != 3 || s.EventTTL != 5*time.Minute || s.DeadLetter.Account() != "a1" || s.DeadLetter.Container != "dl1" ||
		s.DeliverySchema != schema.CloudEventSchemaV1_0 || !s.DeliverySchemaSet || s.Expiration.Year() != 2027 || s.Labels[0] != "x" {
		t.Fatalf("parsed: %+v", s)
	}
	if got := subscription.BaseURL("https://x.example/hook?code=k"); got != "https://x.example/hook" {
		t.Fatalf("BaseURL = %q", got)
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		props map[string]any
		want  string
	}{
		{"no destination", map[string]any{}, "destination is required"},
		{"bad type", map[string]any{"destination": map[string]any{"endpointType": "Carrier"}}, "'Carrier' is not valid"},
		{"later type", map[string]any{"destination": map[string]any{"endpointType": "EventHub"}}, "not supported by Lapis yet"},
		{"relative url", map[string]any{"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": "/hook"}}}, "not a valid webhook URL"},
		{"function id", map[string]any{"destination": map[string]any{"endpointType": "AzureFunction", "properties": map[string]any{"resourceId": acct}}}, "not a function's resource id"},
		{"queue name", map[string]any{"destination": map[string]any{"endpointType": "StorageQueue", "properties": map[string]any{"resourceId": acct, "queueName": "Bad_Q"}}}, "not a valid queue name"},
		{"attempts", webhook(map[string]any{"retryPolicy": map[string]any{"maxDeliveryAttempts": 31}}), "from 1 to 30"},
		{"ttl", webhook(map[string]any{"retryPolicy": map[string]any{"eventTimeToLiveInMinutes": 0}}), "from 1 to 1440"},
		{"batch", webhook(map[string]any{"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": "http://x/", "maxEventsPerBatch": 5001}}}), "maxEventsPerBatch"},
		{"dead letter type", webhook(map[string]any{"deadLetterDestination": map[string]any{"endpointType": "Queue"}}), "StorageBlob"},
		{"dead letter container", webhook(map[string]any{"deadLetterDestination": map[string]any{"endpointType": "StorageBlob", "properties": map[string]any{"resourceId": acct, "blobContainerName": "X"}}}), "container name"},
		{"schema", webhook(map[string]any{"eventDeliverySchema": "Avro"}), "eventDeliverySchema"},
		{"past expiry", webhook(map[string]any{"expirationTimeUtc": "2020-01-01T00:00:00Z"}), "in the past"},
		{"bad filter", webhook(map[string]any{"filter": map[string]any{"advancedFilters": []any{map[string]any{"operatorType": "Nope", "key": "data.x"}}}}), "filter"},
		{"identity", webhook(map[string]any{"deliveryWithResourceIdentity": map[string]any{}}), "Managed identities"},
	} {
		_, err := subscription.Parse(c.props, now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", c.name, err, c.want)
			continue
		}
		if ae := arm.AsError(err); ae.Status != 400 {
			t.Errorf("%s: status %d", c.name, ae.Status)
		}
	}
}
