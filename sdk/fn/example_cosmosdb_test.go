package fn_test

import (
	"fmt"

	"github.com/lapisdev/lapis/sdk/fn"
)

// A Cosmos DB triggered function: it runs for each batch of changes to the
// container processed-orders (the lease container "leases" keeps its
// progress), and writes an audit document per order to another container
// through a Cosmos DB output. The payload is what the host sends: the
// changed documents, with their system properties, as a JSON array.
func ExampleApp_CosmosDB() {
	type Order struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	app := fn.NewApp()
	app.CosmosDB("on_processed_order", "myappdb", "processed-orders", func(ctx *fn.Context, docs fn.Documents) error {
		var orders []Order
		if err := docs.Decode(&orders); err != nil {
			return err
		}
		for _, o := range orders {
			ctx.Logf("order %s is %s", o.ID, o.Status)
			ctx.PutDocument("audit", map[string]string{"id": "audit-" + o.ID, "order": o.ID})
		}
		return nil
	}, fn.Connection("CosmosDBConnection"), fn.LeaseContainer("leases"), fn.CreateLeaseContainerIfNotExists(),
		fn.CosmosDBOutput("audit", "myappdb", "audit", fn.Connection("CosmosDBConnection"), fn.CreateIfNotExists()))

	fmt.Println(invoke(app, "on_processed_order", `{"Data":{"documents":[
		{"id":"12345","status":"processed","_rid":"Ep933RuDYJQBAAAAAAAAAA==","_etag":"\"0d00\"","_ts":1767261600,"_lsn":7}]},
		"Metadata":{}}`))
	// Output:
	// 200 {"Outputs":{"audit":{"id":"audit-12345","order":"12345"}},"Logs":["order 12345 is processed"],"ReturnValue":null}
}

// Cosmos DB inputs: the order a queue message names is read by id and
// partition key before the function runs (null when there is none), and
// the customer's orders by a query whose binding expression becomes a
// query parameter. Both take their values from the message's JSON
// properties.
func ExampleCosmosDBInput() {
	type Order struct {
		ID       string `json:"id"`
		Customer string `json:"customer"`
	}
	app := fn.NewApp()
	app.Queue("ship_order", "to-ship", func(ctx *fn.Context, msg fn.QueueMessage) error {
		var order *Order
		if err := ctx.Input("order", &order); err != nil {
			return err
		}
		if order == nil {
			return fmt.Errorf("no order for %s", msg.Text())
		}
		var others []Order
		if err := ctx.Input("others", &others); err != nil {
			return err
		}
		ctx.Logf("shipping %s to %s, who has %d orders", order.ID, order.Customer, len(others))
		return nil
	}, fn.CosmosDBInput("order", "myappdb", "orders", fn.Connection("CosmosDBConnection"),
		fn.DocumentID("{orderId}"), fn.PartitionKey("{orderId}")),
		fn.CosmosDBInput("others", "myappdb", "orders", fn.Connection("CosmosDBConnection"),
			fn.SQLQuery("SELECT * FROM c WHERE c.customer = {customer}")))

	fmt.Println(invoke(app, "ship_order", `{"Data":{"msg":{"orderId":"o1","customer":"ann"},"order":{"id":"o1","customer":"ann"},
		"others":[{"id":"o1","customer":"ann"},{"id":"o7","customer":"ann"}]},"Metadata":{"DequeueCount":1}}`))
	// Output:
	// 200 {"Outputs":{},"Logs":["shipping o1 to ann, who has 2 orders"],"ReturnValue":null}
}
