package fn_test

import (
	"fmt"

	"github.com/lapisdev/lapis/sdk/fn"
)

// A queue-triggered function, the seed's process_order: it reads the order
// from the message, marks it processed and puts it on another queue (with
// one audit message per line item, to show several messages on one
// output). The payload is Azure's: the message text in Data, its
// properties in Metadata.
func ExampleApp_Queue() {
	type Order struct {
		OrderID string   `json:"orderId"`
		Items   []string `json:"items"`
		Status  string   `json:"status,omitempty"`
	}
	app := fn.NewApp()
	app.Queue("process_order", "orders", func(ctx *fn.Context, msg fn.QueueMessage) error {
		var order Order
		if err := msg.JSON(&order); err != nil {
			return err // the message is retried, then moved to orders-poison
		}
		ctx.Log.Info("processing order", "id", order.OrderID, "attempt", msg.DequeueCount)
		order.Status = "processed"
		ctx.PutQueueMessage("processed", order)
		for _, item := range order.Items {
			ctx.PutQueueMessage("audit", "shipped "+item)
		}
		return nil
	}, fn.Connection("AzureWebJobsStorage"),
		fn.QueueOutput("processed", "processed-orders"),
		fn.QueueOutput("audit", "audit"))

	fmt.Println(invoke(app, "process_order", `{"Data":{"msg":"{\"orderId\":\"12345\",\"items\":[\"pen\",\"ink\"]}"},
		"Metadata":{"DequeueCount":1,"Id":"800ae4b3","PopReceipt":"AgAAAAMAAAA=",
		"InsertionTime":"2026-01-01T17:58:31+00:00","ExpirationTime":"2026-01-08T17:58:31+00:00","NextVisibleTime":"2026-01-01T18:08:32+00:00"}}`))
	// Output:
	// 200 {"Outputs":{"audit":["shipped pen","shipped ink"],"processed":{"orderId":"12345","items":["pen","ink"],"status":"processed"}},"Logs":["processing order id=12345 attempt=1"],"ReturnValue":null}
}
