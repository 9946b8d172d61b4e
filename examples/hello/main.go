// Command hello is the seed's hello function in Go, on the Lapis Go SDK:
//
//	@app.route(route="hello", auth_level=func.AuthLevel.ANONYMOUS)
//	def hello(req): ...
//
// Run it with: lapis func start --dir examples/hello
package main

import "github.com/lapisdev/lapis/sdk/fn"

func main() {
	app := fn.NewApp()

	// HTTP trigger: REST endpoint
	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			name := req.Query.Get("name")
			if name == "" {
				name = "World"
			}
			return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
		})

	app.Run()
}
