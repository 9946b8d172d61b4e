package fn_test

import (
	"fmt"

	"github.com/lapisdev/lapis/sdk/fn"
)

// An Event Grid triggered function: it reads a blob-created event and
// publishes an event of its own to another topic, whose endpoint and key
// are in the app settings AuditTopicUri and AuditTopicKey. The payload is
// what the host sends for each event of a delivery: the event object under
// the trigger's name, its data in Metadata.
func ExampleApp_EventGrid() {
	app := fn.NewApp()
	app.EventGrid("on_upload", func(ctx *fn.Context, ev fn.EventGridEvent) error {
		var blob struct {
			URL string `json:"url"`
		}
		if err := ev.DataJSON(&blob); err != nil {
			return err // the host answers 500 and Event Grid retries the delivery
		}
		ctx.Logf("%s: %s", ev.EventType, blob.URL)
		ctx.PublishEvent("audit", fn.EventGridEvent{Subject: ev.Subject, EventType: "Contoso.Audit.Uploaded",
			Data: ev.Data, DataVersion: "1.0"})
		return nil
	}, fn.EventGridOutput("audit", "AuditTopicUri", "AuditTopicKey"))

	fmt.Println(invoke(app, "on_upload", `{"Data":{"event":{"id":"9aeb0fdf","topic":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/photos",
		"subject":"/blobServices/default/containers/images/blobs/cat.png","eventType":"Microsoft.Storage.BlobCreated",
		"eventTime":"2026-01-01T09:30:00Z","data":{"url":"http://127.0.0.1:10000/devstoreaccount1/images/cat.png"},
		"dataVersion":"","metadataVersion":"1"}},"Metadata":{"data":{"url":"http://127.0.0.1:10000/devstoreaccount1/images/cat.png"}}}`))
	// Output:
	// 200 {"Outputs":{"audit":{"subject":"/blobServices/default/containers/images/blobs/cat.png","eventType":"Contoso.Audit.Uploaded","data":{"url":"http://127.0.0.1:10000/devstoreaccount1/images/cat.png"},"dataVersion":"1.0"}},"Logs":["Microsoft.Storage.BlobCreated: http://127.0.0.1:10000/devstoreaccount1/images/cat.png"],"ReturnValue":null}
}
