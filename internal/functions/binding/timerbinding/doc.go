// Package timerbinding registers the "timerTrigger" binding type: a function fired on a schedule, once per
// occurrence however many hosts run the app.
//
// # function.json
//
//	{ "type": "timerTrigger", "direction": "in", "name": "myTimer", "schedule": "0 */5 * * * *",
//	  "runOnStartup": false, "useMonitor": true }
//
// schedule (required) is an NCRONTAB expression (six fields, seconds first; five fields are read with the second
// 0) or a TimeSpan interval "hh:mm:ss" / "d.hh:mm:ss"; package schedule has the grammar and the daylight-saving
// rules. A %AppSetting% reference is resolved by appconfig before the binding sees it. Like Azure's Windows
// Consumption host, Start refuses a TimeSpan schedule when the app setting WEBSITE_SKU names a Consumption plan
// ("Consumption", "FlexConsumption", or Azure's own value "Dynamic"); Azure documents TimeSpan schedules for App
// Service plans only. Premium and Dedicated apps, and apps run without the platform (no WEBSITE_SKU), accept them.
// runOnStartup and useMonitor are booleans (or the strings "true"/"false"); useMonitor defaults to true and, as
// in Azure, is turned off for schedules that fire more than once a minute (schedule.Schedule.MonitorByDefault).
// Validate returns a *binding.PropertyError naming the property.
//
// # Time zone
//
// Occurrences are computed in the zone named by the app setting WEBSITE_TIME_ZONE (IANA or Windows names; UTC
// when unset); a zone that does not resolve makes Start fail naming the setting.
//
// # What the function receives
//
// Data[<binding name>] is Azure's TimerInfo as the custom-handler payload carries it:
//
//	{"Schedule":{"AdjustForDST":true},
//	 "ScheduleStatus":{"Last":"2030-01-07T00:05:00+00:00","Next":"2030-01-07T00:10:00+00:00","LastUpdated":"2030-01-07T00:05:00+00:00"},
//	 "IsPastDue":false}
//
// AdjustForDST is true for cron schedules and false for TimeSpans (Azure's CronSchedule and ConstantSchedule).
// ScheduleStatus is null when the monitor is off. Times are in the schedule's zone, formatted as .NET's
// Newtonsoft writes a local DateTime (up to seven fraction digits, numeric offset); a Last that never happened is
// 0001-01-01T00:00:00+00:00. As in Azure (TimerListener), the status a firing sees is the one stored before it:
// Last is the previous firing, Next the occurrence now firing (for a past-due firing, the first one missed),
// LastUpdated when the status was last written. Metadata holds nothing of the timer's own (Azure's only binding
// data, "TimerTrigger", ends in "Trigger" and is left out of custom-handler Metadata); with a retry policy it holds
// "RetryContext" (package retry).
//
// # Firing exactly once
//
// With a substrate (Function.Env.Substrate), each occurrence is claimed in the bucket lapis-functions-timers
// before it fires: the key <app>.<function>.claim holds the latest occurrence taken, its owner (one per Start),
// a lease the owner renews while the occurrence runs (retries included), and whether it finished. A host takes
// an occurrence only with a compare-and-set from an older one, so among any number of hosts (instances, nodes)
// one fires it and the others move on. An occurrence does not start while the previous one is still running
// (its lease is live), as Azure's singleton timer guarantees; when the previous one ends, the occurrence that came
// due meanwhile fires at once. An owner that stops (host stop or redeploy) while waiting to retry releases its
// lease; one that dies lets it expire (LeaseTTL). Either way the occurrence is resumed, once, by the next host
// that starts or by a running host when the lease runs out, with IsPastDue true and the retry count continuing.
// TimeSpan schedules are anchored on the claimed occurrences, so every host computes the same instants.
//
// With the monitor on, the schedule status is kept in <app>.<function>.status (Last, Next, LastUpdated, and the
// schedule and zone it was computed for). At Start, following Azure's ScheduleMonitor: a missing status is
// created with Next the next occurrence; a status written for another schedule (or zone, or whose Next does not
// follow from its Last) is reset; and when the stored Next has passed, the timer is past due and fires once, at
// once, with IsPastDue true (claiming that Next, so that hosts starting together fire it once), however many
// occurrences were missed. After a firing the status records Last = the firing's start, Next = the following
// occurrence.
//
// runOnStartup fires once whenever a host starts the trigger (each host, each start, including a restart or a
// second instance: Azure's "when the function app scales out"), without a claim, in addition to the schedule; it
// is skipped when the start fires a past-due occurrence, as in Azure, and it does not move the schedule.
//
// Without a substrate (an app run without the platform) the same logic runs on state in memory, shared by the
// hosts of one process: one firing per occurrence per process, and no past-due detection across restarts of
// the process. Start logs this.
//
// # Retries
//
// The function's retry policy (function.json "retry", else host.json "retry") applies to every firing through
// package retry, keyed by app, function and occurrence; the retry state lives in the substrate, so a restart
// continues the count.
//
// # Stopping
//
// The stop function Start returns stops the schedule and any wait for a retry, then waits for the invocation in
// flight, which it does not cancel (it ends with the context given to Start). All waiting uses the Env's clock
// (Env.Now, Env.Until), so a test clock drives the timer without real sleeps.
package timerbinding
