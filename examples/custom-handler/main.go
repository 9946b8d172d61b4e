// Command handler is an Azure Functions custom handler written against the
// raw protocol with net/http only, no SDK: the host POSTs /{function} with
// {"Data","Metadata"} and reads {"Outputs","Logs","ReturnValue"}. The app's
// functions are declared by hello/function.json, as in Azure.
//
// Run it with: lapis func start --dir examples/custom-handler
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

type invocation struct {
	Data map[string]json.RawMessage
}

type httpRequest struct {
	Query map[string]string
}

func main() {
	http.HandleFunc("POST /hello", func(w http.ResponseWriter, r *http.Request) {
		var inv invocation
		var req httpRequest
		if err := json.NewDecoder(r.Body).Decode(&inv); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.Unmarshal(inv.Data["req"], &req)
		name := req.Query["name"]
		if name == "" {
			name = "World"
		}
		body, _ := json.Marshal(map[string]string{"message": "Hello, " + name + "!"})
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"Outputs": map[string]any{"res": map[string]any{
				"statusCode": 200, "body": string(body), "headers": map[string]string{"Content-Type": "application/json"}}},
			"Logs":        []string{"greeted " + name},
			"ReturnValue": nil,
		})
	})
	addr := "127.0.0.1:" + os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	log.Fatal(http.ListenAndServe(addr, nil))
}
