// Command handler is a custom handler for the timer trigger's end-to-end tests, written against the raw
// custom-handler protocol. It appends every invocation it receives to the file RECORD_FILE names, as one JSON line
// {"function","host","failed","payload"}, and answers 500 while the attempt's RetryContext.RetryCount is below
// FAIL_UNTIL.
package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
)

func main() {
	record := os.Getenv("RECORD_FILE")
	tag := os.Getenv("HOST_TAG")
	failUntil, _ := strconv.Atoi(os.Getenv("FAIL_UNTIL"))
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /{name}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var p struct{ Metadata map[string]json.RawMessage }
		if err == nil {
			err = json.Unmarshal(body, &p)
		}
		if err != nil {
			http.Error(w, "bad payload: "+err.Error(), http.StatusBadRequest)
			return
		}
		var rc struct{ RetryCount int }
		if raw, ok := p.Metadata["RetryContext"]; ok {
			json.Unmarshal(raw, &rc)
		}
		fail := rc.RetryCount < failUntil
		line, _ := json.Marshal(map[string]any{"function": r.PathValue("name"), "host": tag, "failed": fail, "payload": json.RawMessage(body)})
		mu.Lock()
		f, err := os.OpenFile(record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.Write(append(line, '\n'))
			f.Close()
		}
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if fail {
			http.Error(w, "planned failure", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"Outputs":{},"Logs":["timer handled"],"ReturnValue":null}`))
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), mux)
}
