// Command worker is the custom-handler worker of the runtime tests' app. Every function answers with the
// deployment's version (the file version.txt beside host.json) and the setting GREETING, so that tests can
// tell versions and settings apart; wait/{ms} sleeps first.
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

type payload struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

func main() {
	v, _ := os.ReadFile("version.txt")
	version := strings.TrimSpace(string(v))
	answer := func(w http.ResponseWriter, r *http.Request) {
		var p payload
		_ = json.NewDecoder(r.Body).Decode(&p)
		if ms, err := strconv.Atoi(strings.Trim(string(p.Metadata["ms"]), `"`)); err == nil {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		body, _ := json.Marshal(map[string]string{"version": version, "greeting": os.Getenv("GREETING"), "pid": strconv.Itoa(os.Getpid())})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Outputs": map[string]any{"res": map[string]any{
			"statusCode": 200, "body": string(body), "headers": map[string]string{"Content-Type": "application/json"}}},
			"Logs": []string{"answered from version " + version}})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	for _, fn := range []string{"hello", "secret", "admin", "wait"} {
		mux.HandleFunc("POST /"+fn, answer)
	}
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), mux); err != nil {
		os.Exit(1)
	}
}
