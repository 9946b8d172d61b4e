// Command seed is the seed's function_app.py in Go, on the Lapis Go SDK:
//
//	hello               HTTP       GET/POST /api/hello?name=...
//	cleanup_job         timer      every 5 minutes ("0 */5 * * * *")
//	process_image       blob       images/{name}, writes thumbnails/{name}.txt
//	process_order       queue      orders, writes the processed order to Cosmos DB (myappdb/processed-orders)
//	on_processed_order  Cosmos DB  the change feed of myappdb/processed-orders: logs each processed order and
//	                               puts an audit message on the order-audit queue
//
// Run it with:
//
//	lapis func start --dir examples/seed
package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lapisdev/lapis/sdk/fn"
)

func main() {
	app := fn.NewApp()

	// HTTP trigger: REST endpoint
	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous), hello)

	// Timer trigger: run every 5 minutes (run_on_startup=False is the default)
	app.Timer("cleanup_job", "0 */5 * * * *", cleanupJob)

	// Blob trigger: process uploaded images
	app.Blob("process_image", "images/{name}", processImage,
		fn.Connection("AzureWebJobsStorage"),
		fn.BlobOutput("info", "thumbnails/{name}.txt", fn.DataType("string")))

	// Queue trigger with a Cosmos DB output binding
	app.Queue("process_order", "orders", processOrder,
		fn.Connection("AzureWebJobsStorage"),
		fn.CosmosDBOutput("outputDoc", "myappdb", "processed-orders",
			fn.Connection("CosmosDBConnection"), fn.CreateIfNotExists(), fn.PartitionKey("/id")))

	// Cosmos DB trigger: react to processed orders (the change feed of the container process_order writes)
	app.CosmosDB("on_processed_order", "myappdb", "processed-orders", onProcessedOrder,
		fn.Connection("CosmosDBConnection"), fn.LeaseContainer("leases"), fn.CreateLeaseContainerIfNotExists(),
		fn.QueueOutput("audit", "order-audit", fn.Connection("AzureWebJobsStorage")))

	app.Run()
}

func hello(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
	name := req.Query.Get("name")
	if name == "" {
		name = "World"
	}
	return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
}

// cleanupJob logs each run and the schedule status the host keeps. A run
// that comes late (the app was down when it was due) says so.
func cleanupJob(ctx *fn.Context, t fn.TimerInfo) error {
	ctx.Logf("Running cleanup job (past due: %v)", t.IsPastDue)
	if s := t.ScheduleStatus; s != nil {
		ctx.Logf("schedule status: last %s, next %s, updated %s",
			s.Last.Format(time.RFC3339), s.Next.Format(time.RFC3339), s.LastUpdated.Format(time.RFC3339))
	}
	// ... cleanup logic
	return nil
}

// processImage logs the uploaded blob's name and size and writes a small
// text blob describing it to thumbnails/{name}.txt.
func processImage(ctx *fn.Context, blob fn.BlobInfo) error {
	ctx.Logf("Processing blob: %s, size: %d bytes", blob.Name, blob.Properties.Length)
	contentType := blob.Properties.ContentType
	if contentType == "" || contentType == "application/octet-stream" {
		contentType = http.DetectContentType(blob.Content)
	}
	ctx.SetBlob("info", fmt.Appendf(nil, "%s: %d bytes, %s\n", blob.Name, len(blob.Content), contentType))
	return nil
}

// processOrder reads the order from the message, marks it processed and
// writes it to the processed-orders container of the Cosmos DB database
// myappdb. The document's id is the order's id (so that a message run twice
// upserts one document); an order without one gets an id from the host. A
// message that is not a JSON object fails; after 5 attempts the host moves
// it to orders-poison.
func processOrder(ctx *fn.Context, msg fn.QueueMessage) error {
	var order map[string]any
	if err := msg.JSON(&order); err != nil {
		return err
	}
	if order == nil {
		return errors.New("the order is not a JSON object")
	}
	ctx.Log.Info("processing order", "orderId", order["orderId"], "attempt", msg.DequeueCount)
	order["status"] = "processed"
	if id, ok := order["orderId"].(string); ok && order["id"] == nil {
		order["id"] = id
	}
	ctx.PutDocument("outputDoc", order)
	return nil
}

// onProcessedOrder runs for each batch of changes to processed-orders: it
// logs every processed order and puts an audit message for it on the
// order-audit queue.
func onProcessedOrder(ctx *fn.Context, docs fn.Documents) error {
	var orders []struct {
		ID      string `json:"id"`
		OrderID any    `json:"orderId"`
		Status  string `json:"status"`
	}
	if err := docs.Decode(&orders); err != nil {
		return err
	}
	for _, o := range orders {
		ctx.Logf("order %v is %s (document %s)", o.OrderID, o.Status, o.ID)
		ctx.PutQueueMessage("audit", map[string]any{"orderId": o.OrderID, "status": o.Status, "document": o.ID})
	}
	return nil
}
