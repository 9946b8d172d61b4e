// Command handler is the custom handler of the queue binding tests: it answers the Functions host's payload
// invocations for the functions of testdata/app.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type payload struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

var (
	mu               sync.Mutex
	running, maxSeen atomic.Int64
)

func appendLine(env, line string) {
	path := os.Getenv(env)
	if path == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintln(f, line)
	f.Close()
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
		case "noop":
			w.Write([]byte(`{"Outputs":{},"Logs":[]}`))
		case "process":
			reply(w, map[string]any{"Outputs": map[string]any{"out": map[string]any{"data": p.Data["order"], "meta": p.Metadata}}})
		case "fanout":
			reply(w, map[string]any{"ReturnValue": []any{"a", map[string]int{"b": 1}, 3, nil}})
		case "fail":
			appendLine("FAIL_LOG", string(p.Metadata["DequeueCount"]))
			http.Error(w, "failing on purpose", 500)
		case "slow":
			n := running.Add(1)
			for {
				m := maxSeen.Load()
				if n <= m || maxSeen.CompareAndSwap(m, n) {
					break
				}
			}
			// 100, 160 or 220 ms by the message's number, so that invocations end at different times.
			var i int
			var s string
			_ = json.Unmarshal(p.Data["msg"], &s)
			fmt.Sscan(s, &i)
			time.Sleep(time.Duration(100+60*(i%3)) * time.Millisecond)
			running.Add(-1)
			appendLine("SLOW_LOG", fmt.Sprint(maxSeen.Load()))
			reply(w, map[string]any{"Outputs": map[string]any{}})
		default:
			http.NotFound(w, r)
		}
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
