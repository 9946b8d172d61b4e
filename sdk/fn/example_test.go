package fn_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/lapisdev/lapis/sdk/fn"
)

// invoke plays the host: it posts a payload to the worker the way the
// Functions host does and returns the worker's answer.
func invoke(app *fn.App, function, payload string) string {
	srv := httptest.NewServer(app)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/"+function, "application/json", strings.NewReader(payload))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %s", res.StatusCode, b)
}

// An HTTP function, the seed's hello: a route, an auth level, methods, and
// a handler that reads the query and answers JSON.
func ExampleApp_HTTP() {
	app := fn.NewApp()
	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous), fn.Methods("GET", "POST"),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			name := req.Query.Get("name")
			if name == "" {
				name = "World"
			}
			ctx.Logf("greeting %s", name)
			return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
		})

	// In main: app.Run(). Here the host's invocation is simulated.
	fmt.Println(invoke(app, "hello", `{"Data":{"req":{"Url":"http://localhost:7071/api/hello?name=Azure",
		"Method":"GET","Query":{"name":"Azure"},"Headers":{},"Params":{}}},"Metadata":{}}`))
	// Output:
	// 200 {"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"application/json; charset=utf-8"},"body":"{\"message\":\"Hello, Azure!\"}"}},"Logs":["greeting Azure"],"ReturnValue":null}
}

// A function served by a standard http.Handler, with a route parameter read
// through PathValue.
func ExampleApp_HTTPHandler() {
	app := fn.NewApp(fn.DefaultAuthLevel(fn.Anonymous))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fn.FromRequest(r).Log.Info("lookup", "id", r.PathValue("id"))
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "product %s", r.PathValue("id"))
	})
	app.HTTPHandler("product", mux, fn.Route("products/{id:int}"), fn.Methods("GET"))

	fmt.Println(invoke(app, "product", `{"Data":{"req":{"Url":"http://localhost:7071/api/products/42",
		"Method":"GET","Params":{"id":"42"}}},"Metadata":{}}`))
	// Output:
	// 200 {"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"product 42"}},"Logs":["lookup id=42"],"ReturnValue":null}
}

// A queue-triggered function with a Cosmos DB output binding, the seed's
// process_order, registered with the generic trigger API.
func ExampleApp_Function() {
	app := fn.NewApp()
	app.Function("process_order",
		fn.Trigger{Type: "queueTrigger", Name: "msg", Props: map[string]any{
			"queueName": "orders", "connection": "AzureWebJobsStorage"}},
		func(ctx *fn.Context, inv *fn.Invocation) (any, error) {
			var body string
			if err := inv.Decode("msg", &body); err != nil {
				return nil, err
			}
			var order map[string]any
			if err := json.Unmarshal([]byte(body), &order); err != nil {
				return nil, err
			}
			var dequeueCount int
			inv.DecodeMetadata("DequeueCount", &dequeueCount)
			ctx.Log.Info("processing order", "id", order["orderId"], "attempt", dequeueCount)
			order["status"] = "processed"
			ctx.SetOutput("outputDoc", order)
			return nil, nil
		},
		fn.Output{Type: "cosmosDB", Name: "outputDoc", Props: map[string]any{
			"databaseName": "myappdb", "containerName": "processed-orders", "connection": "CosmosDBConnection"}})

	fmt.Println(invoke(app, "process_order",
		`{"Data":{"msg":"{\"orderId\":\"12345\"}"},"Metadata":{"DequeueCount":1,"Id":"b1c4"}}`))
	// Output:
	// 200 {"Outputs":{"outputDoc":{"orderId":"12345","status":"processed"}},"Logs":["processing order id=12345 attempt=1"],"ReturnValue":null}
}

// A timer-triggered function registered with the generic trigger API. Its
// return value goes to a "$return" queue output.
func ExampleApp_Function_timer() {
	app := fn.NewApp()
	app.Function("cleanup_job",
		fn.Trigger{Type: "timerTrigger", Name: "timer", Props: map[string]any{
			"schedule": "0 */5 * * * *", "runOnStartup": false}},
		func(ctx *fn.Context, inv *fn.Invocation) (any, error) {
			var timer struct{ IsPastDue bool }
			if err := inv.Decode("timer", &timer); err != nil {
				return nil, err
			}
			ctx.Logf("Running cleanup job (past due: %v)", timer.IsPastDue)
			return "cleanup done", nil
		},
		fn.Output{Type: "queue", Name: "$return", Props: map[string]any{"queueName": "audit"}})

	fmt.Println(invoke(app, "cleanup_job", `{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"IsPastDue":false}},"Metadata":{}}`))
	// Output:
	// 200 {"Outputs":{},"Logs":["Running cleanup job (past due: false)"],"ReturnValue":"cleanup done"}
}

// The description a host reads with LAPIS_DESCRIBE=1 or GET /.lapis/functions.
func ExampleApp_FunctionJSON() {
	app := fn.NewApp()
	app.Function("process_image",
		fn.Trigger{Type: "blobTrigger", Name: "blob", Props: map[string]any{
			"path": "images/{name}", "connection": "AzureWebJobsStorage"}},
		func(ctx *fn.Context, inv *fn.Invocation) (any, error) { return nil, nil })
	fmt.Print(string(app.FunctionJSON()))
	// Output:
	// {
	//   "version": 1,
	//   "sdk": "lapis-go",
	//   "httpForwarding": true,
	//   "functions": [
	//     {
	//       "name": "process_image",
	//       "bindings": [
	//         {
	//           "type": "blobTrigger",
	//           "direction": "in",
	//           "name": "blob",
	//           "connection": "AzureWebJobsStorage",
	//           "path": "images/{name}"
	//         }
	//       ]
	//     }
	//   ]
	// }
}
