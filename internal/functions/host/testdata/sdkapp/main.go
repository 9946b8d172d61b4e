// Command sdkapp is a Go SDK function app for the host's tests.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/lapisdev/lapis/sdk/fn"
)

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
	// echo answers 201 with what it received.
	app.HTTPHandler("echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got", r.Header.Get("X-Test"))
		w.Header().Set("X-Te", r.Header.Get("Te"))
		w.Header().Set("X-Invocation", r.Header.Get("X-Azure-Functions-InvocationId"))
		w.Header().Set("X-Host", r.Host)
		w.WriteHeader(201)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), b)
	}), fn.Route("echo"), fn.AuthLevel(fn.Anonymous))
	// stream answers in chunks.
	app.HTTPHandler("stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	}), fn.Route("stream"), fn.AuthLevel(fn.Anonymous))
	// slow waits until its invocation is cancelled.
	app.HTTP("slow", fn.Route("slow"), fn.AuthLevel(fn.Anonymous),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
	app.HTTP("crash", fn.Route("crash"), fn.AuthLevel(fn.Anonymous),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			fmt.Fprintln(os.Stderr, "sdkapp: crashing on purpose")
			os.Exit(3)
			return nil, nil
		})
	// SDKAPP_RETRY=1 adds timer functions with retry policies (retry_test.go), leaving the other tests' six
	// functions alone otherwise.
	if os.Getenv("SDKAPP_RETRY") == "1" {
		timer := func(ctx *fn.Context, t fn.TimerInfo) error {
			if rc, ok := ctx.RetryContext(); ok {
				ctx.Logf("attempt %d of %d", rc.RetryCount, rc.MaxRetryCount)
			}
			return fmt.Errorf("failing on purpose")
		}
		app.Timer("backoff", "0 */5 * * * *", timer, fn.UseMonitor(false),
			fn.Retry(fn.ExponentialBackoff(5, 10*time.Second, 15*time.Minute)))
		app.Timer("fixed", "0 0 * * * *", timer, fn.Retry(fn.FixedDelay(fn.RetryForever, 1500*time.Millisecond)))
		app.Timer("noretry", "0 0 * * * *", timer)
	}
	app.Run()
}
