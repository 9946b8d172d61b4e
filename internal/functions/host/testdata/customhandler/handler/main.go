// Command handler is a custom handler written against the raw Azure protocol with net/http only.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

type payload struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

type request struct {
	Url     string
	Method  string
	Query   map[string]string
	Headers map[string][]string
	Params  map[string]string
	Body    string
}

func read(r *http.Request) (*request, error) {
	var p payload
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		return nil, err
	}
	var req request
	err := json.Unmarshal(p.Data["req"], &req)
	return &req, err
}

func reply(w http.ResponseWriter, out string, status int, body any) {
	b, _ := json.Marshal(body)
	res := map[string]any{"statusCode": status, "body": string(b), "headers": map[string]string{"Content-Type": "application/json"}}
	resp := map[string]any{"Outputs": map[string]any{}, "Logs": []string{"handled by raw handler"}, "ReturnValue": nil}
	if out == "$return" {
		resp["ReturnValue"] = res
	} else {
		resp["Outputs"] = map[string]any{out: res}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /hello", func(w http.ResponseWriter, r *http.Request) {
		req, err := read(r)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		name := req.Query["name"]
		if name == "" {
			name = "World"
		}
		reply(w, "res", 200, map[string]string{"message": "Hello, " + name + "!"})
	})
	mux.HandleFunc("POST /products", func(w http.ResponseWriter, r *http.Request) {
		req, err := read(r)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		reply(w, "$return", 200, req.Params)
	})
	mux.HandleFunc("POST /secret", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "res", 200, map[string]string{"secret": "ok"})
	})
	mux.HandleFunc("POST /admin", func(w http.ResponseWriter, r *http.Request) {
		var p payload
		json.NewDecoder(r.Body).Decode(&p)
		reply(w, "res", 200, map[string]string{"input": string(p.Data["req"])})
	})
	mux.HandleFunc("POST /crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(os.Stderr, "handler: crashing on purpose")
		os.Exit(3)
	})
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	addr := "127.0.0.1:" + os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if os.Getenv("FUNCTIONS_WORKER_RUNTIME") != "custom" {
		fmt.Fprintln(os.Stderr, "FUNCTIONS_WORKER_RUNTIME is not custom")
		os.Exit(1)
	}
	if err := http.ListenAndServe(addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
