package fn_test

import (
	"fmt"

	"github.com/lapisdev/lapis/sdk/fn"
)

// A timer-triggered function, the seed's cleanup_job: every five minutes,
// with the schedule status the host keeps. The payload is the one Azure's
// host sends for a run that comes late after an outage.
func ExampleApp_Timer() {
	app := fn.NewApp()
	app.Timer("cleanup_job", "0 */5 * * * *", func(ctx *fn.Context, t fn.TimerInfo) error {
		ctx.Logf("Running cleanup job (past due: %v)", t.IsPastDue)
		if s := t.ScheduleStatus; s != nil {
			ctx.Logf("last run %s, next %s", s.Last.Format("15:04"), s.Next.Format("15:04"))
		}
		return nil
	}, fn.UseMonitor(true))

	// In main: app.Run(). Here the host's invocation is simulated.
	fmt.Println(invoke(app, "cleanup_job", `{"Data":{"timer":{
		"Schedule":{"AdjustForDST":true},
		"ScheduleStatus":{"Last":"2026-01-01T10:00:00+00:00","Next":"2026-01-01T10:20:00+00:00","LastUpdated":"2026-01-01T10:00:00+00:00"},
		"IsPastDue":true}},"Metadata":{"sys":{"MethodName":"cleanup_job","UtcNow":"2026-01-01T10:17:31Z"}}}`))
	// Output:
	// 200 {"Outputs":{},"Logs":["Running cleanup job (past due: true)","last run 10:00, next 10:20"],"ReturnValue":null}
}
