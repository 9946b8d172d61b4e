package fn_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lapisdev/lapis/sdk/fn"
)

// A timer function with a retry policy: when a run fails, the host runs it
// again after 10 seconds, then 20, 40, ... up to 15 minutes between
// attempts, at most 5 times. The function reads which attempt it is in, and
// the previous failure, from its retry context. The payload is the one the
// host sends for the second retry.
func ExampleRetry() {
	app := fn.NewApp()
	app.Timer("sync_prices", "0 0 * * * *", func(ctx *fn.Context, t fn.TimerInfo) error {
		if rc, ok := ctx.RetryContext(); ok && rc.RetryCount > 0 {
			ctx.Logf("retry %d of %d after %q (last: %v)", rc.RetryCount, rc.MaxRetryCount, rc.Exception.Message, rc.Last())
		}
		return errors.New("price feed unavailable")
	}, fn.Retry(fn.ExponentialBackoff(5, 10*time.Second, 15*time.Minute)))

	// The host learns the policy from the app's description, as
	// function.json's "retry".
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	app.WriteFunctionJSON(dir)
	b, _ := os.ReadFile(filepath.Join(dir, "sync_prices", "function.json"))
	fmt.Print(string(b))

	// In main: app.Run(). Here the host's invocation is simulated.
	fmt.Println(invoke(app, "sync_prices", `{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"IsPastDue":false}},
		"Metadata":{"RetryContext":{"RetryCount":2,"MaxRetryCount":5,
			"Exception":{"ClassName":"System.Exception","Message":"price feed unavailable","Source":"Lapis","HResult":-2146233088}},
		"sys":{"MethodName":"sync_prices","UtcNow":"2026-01-01T10:00:30Z"}}}`))
	// Output:
	// {
	//   "bindings": [
	//     {
	//       "type": "timerTrigger",
	//       "direction": "in",
	//       "name": "timer",
	//       "schedule": "0 0 * * * *"
	//     }
	//   ],
	//   "retry": {
	//     "strategy": "exponentialBackoff",
	//     "maxRetryCount": 5,
	//     "minimumInterval": "00:00:10",
	//     "maximumInterval": "00:15:00"
	//   }
	// }
	// 500 {"Outputs":{},"Logs":["retry 2 of 5 after \"price feed unavailable\" (last: false)"],"ReturnValue":null,"error":{"code":"FunctionFailed","message":"function \"sync_prices\" failed: price feed unavailable","function":"sync_prices"}}
}
