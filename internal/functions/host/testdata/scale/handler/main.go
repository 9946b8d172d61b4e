// Command handler is a custom handler for the host's scale tests. Forwarded requests (X-Lapis-Function) and
// payload invocations (POST /{function}) of "work" sleep for ?ms= milliseconds and answer the worker's process id;
// "fail" answers 500.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

var pid = strconv.Itoa(os.Getpid())

func sleep(ms string) {
	if n, err := strconv.Atoi(ms); err == nil {
		time.Sleep(time.Duration(n) * time.Millisecond)
	}
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /{name}", func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Data map[string]json.RawMessage }
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if r.PathValue("name") != "work" {
			http.Error(w, "failing on purpose", 500)
			return
		}
		var req struct{ Query map[string]string }
		json.Unmarshal(p.Data["req"], &req)
		sleep(req.Query["ms"])
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"Outputs": map[string]any{"res": map[string]any{"statusCode": 200, "body": pid}}})
	})
	fwd := mux
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Lapis-Function") {
		case "":
			fwd.ServeHTTP(w, r)
		case "work":
			sleep(r.URL.Query().Get("ms"))
			fmt.Fprint(w, pid)
		default:
			http.Error(w, "failing on purpose", 500)
		}
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), handler); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
