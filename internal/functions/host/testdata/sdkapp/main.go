// Command sdkapp is a Go SDK function app for the host's tests.
package main

import "github.com/lapisdev/lapis/sdk/fn"

func main() {
	app := fn.NewApp()
	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			name := req.Query.Get("name")
			if name == "" {
				name = "World"
			}
			ctx.Logf("greeting %s", name)
			return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
		})
	app.HTTP("item", fn.Route("items/{id:int}"), fn.AuthLevel(fn.Function),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			return fn.JSON(200, map[string]string{"id": req.Params["id"]}), nil
		})
	app.Run()
}
