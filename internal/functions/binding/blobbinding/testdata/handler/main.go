// Command handler is the custom handler of the blob binding tests: it answers the Functions host's payload
// invocations for the functions of testdata/app.
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
)

type payload struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /{fn}", func(w http.ResponseWriter, r *http.Request) {
		var p payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		switch r.PathValue("fn") {
		case "process":
			// The record is the whole payload; the thumbnail is the image as it came (base64, dataType binary).
			reply(w, map[string]any{"Outputs": map[string]any{"record": p, "thumb": p.Data["image"]}, "Logs": []string{"processed"}})
		case "docs":
			reply(w, map[string]any{"ReturnValue": p})
		case "fail":
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
		case "loop":
			var name string
			_ = json.Unmarshal(p.Metadata["name"], &name)
			out := map[string]any{"record": p}
			if !strings.HasSuffix(name, ".copy") {
				out["copy"] = "copy of " + name
			}
			reply(w, map[string]any{"Outputs": out})
		default:
			http.NotFound(w, r)
		}
	})
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	if err := http.ListenAndServe("127.0.0.1:"+port, mux); err != nil {
		os.Exit(1)
	}
}
