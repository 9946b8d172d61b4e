package subscription_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
)

// FuzzParse: any properties object is parsed or refused with an error,
// never a panic, and a parsed spec has a destination and limits in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://x/y?k=1","maxEventsPerBatch":10}}}`,
		`{"destination":{"endpointType":"StorageQueue","properties":{"resourceId":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a","queueName":"qqq","queueMessageTimeToLiveInSeconds":-1}},"retryPolicy":{"maxDeliveryAttempts":3,"eventTimeToLiveInMinutes":5}}`,
		`{"destination":{"endpointType":"AzureFunction","properties":{"resourceId":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a/functions/f"}},"filter":{"advancedFilters":[{"operatorType":"NumberIn","key":"data.x","values":[1,2]}]},"eventDeliverySchema":"CloudEventSchemaV1_0","expirationTimeUtc":"2099-01-01T00:00:00Z","labels":["a"]}`,
		`{"destination":null}`, `{}`, `{"retryPolicy":{"maxDeliveryAttempts":1e300}}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		var props map[string]any
		if json.Unmarshal(b, &props) != nil {
			return
		}
		s, err := subscription.Parse(props, now)
		if err != nil {
			return
		}
		if s.Destination.Type == "" || s.Filter == nil || s.MaxDeliveryAttempts < 1 || s.MaxDeliveryAttempts > 30 ||
			s.EventTTL < time.Minute || s.EventTTL > 24*time.Hour {
			t.Fatalf("parsed %s into %+v", b, s)
		}
	})
}
