package fn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// DescribeVersion is the version of the description format, its
// "version" field.
const DescribeVersion = 1

// Description is what a worker reports about itself for function
// discovery: every function with its bindings in function.json's shape.
// [App.FunctionJSON] encodes it; see the package documentation for the
// protocol.
type Description struct {
	// Version is the format's version, [DescribeVersion].
	Version int `json:"version"`
	// SDK names the SDK that produced it, "lapis-go".
	SDK string `json:"sdk"`
	// HTTPForwarding reports that the worker can serve HTTP functions from
	// HTTP requests the host forwards as is, naming the function in the
	// X-Lapis-Function header, as well as from invocation payloads.
	HTTPForwarding bool `json:"httpForwarding"`
	// Functions are the app's functions in registration order.
	Functions []FunctionDescription `json:"functions"`
}

// FunctionDescription describes one function: its name, its bindings (the
// trigger first) and its retry policy, exactly as its function.json would
// hold them.
type FunctionDescription struct {
	Name     string    `json:"name"`
	Bindings []Binding `json:"bindings"`
	// Retry is the function's retry policy ([Retry]), function.json's
	// "retry", or nil.
	Retry *RetryPolicy `json:"retry,omitempty"`
}

// Describe returns the app's description.
func (a *App) Describe() Description {
	d := Description{Version: DescribeVersion, SDK: "lapis-go", HTTPForwarding: true, Functions: []FunctionDescription{}}
	for _, f := range a.functions() {
		fd := FunctionDescription{Name: f.name, Bindings: slices.Clone(f.bindings)}
		if f.retry != nil {
			p := *f.retry
			fd.Retry = &p
		}
		d.Functions = append(d.Functions, fd)
	}
	return d
}

// FunctionJSON returns the app's description as indented JSON, the
// document that LAPIS_DESCRIBE=1 prints and GET /.lapis/functions answers:
//
//	{
//	  "version": 1,
//	  "sdk": "lapis-go",
//	  "httpForwarding": true,
//	  "functions": [
//	    {
//	      "name": "hello",
//	      "bindings": [
//	        {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["get", "post"], "route": "hello"},
//	        {"type": "http", "direction": "out", "name": "res"}
//	      ]
//	    }
//	  ]
//	}
//
// Each function's object without its "name" is its function.json.
func (a *App) FunctionJSON() []byte {
	b, err := json.MarshalIndent(a.Describe(), "", "  ")
	if err != nil {
		// Bindings are checked at registration, so this cannot happen.
		panic(fmt.Sprintf("fn: encoding the app description: %v", err))
	}
	return append(b, '\n')
}

// WriteFunctionJSON writes one folder per function under dir, each holding
// the function's function.json, so that the app can also be deployed in
// Azure's plain custom-handler layout (next to a host.json whose
// customHandler runs this program). It creates dir if needed and replaces
// existing function.json files; it leaves other files alone.
func (a *App) WriteFunctionJSON(dir string) error {
	for _, f := range a.functions() {
		b, err := json.MarshalIndent(struct {
			Bindings []Binding    `json:"bindings"`
			Retry    *RetryPolicy `json:"retry,omitempty"`
		}{f.bindings, f.retry}, "", "  ")
		if err != nil {
			return fmt.Errorf("fn: function %q: %w", f.name, err)
		}
		fdir := filepath.Join(dir, f.name)
		if err := os.MkdirAll(fdir, 0o755); err != nil {
			return fmt.Errorf("fn: %w", err)
		}
		if err := os.WriteFile(filepath.Join(fdir, "function.json"), append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("fn: %w", err)
		}
	}
	return nil
}
