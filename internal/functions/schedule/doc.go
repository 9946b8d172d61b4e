// Package schedule owns the time rules of the timer trigger: NCRONTAB expressions and TimeSpan intervals as
// Azure Functions reads them, their next occurrence in a time zone (daylight saving time included), and the time
// zone named by the WEBSITE_TIME_ZONE app setting. It knows nothing of bindings, the host or the substrate; the
// parser is written from the NCRONTAB format, not ported from a library.
//
// # Expressions
//
// Parse accepts:
//
//	{second} {minute} {hour} {day} {month} {day-of-week}   six-field NCRONTAB, seconds first (Azure's form)
//	{minute} {hour} {day} {month} {day-of-week}            five fields: the second is 0 (see Schedule.Note)
//	hh:mm:ss, d.hh:mm:ss                                   a TimeSpan: a fixed interval (App Service plans)
//
// Each cron field is a comma-separated list of items: "*", a value ("5"), a range ("1-5"), and any of those with
// a step ("*/15", "1-10/2", "5/15", which means 5 to the field's maximum in steps of 15). Ranges run forwards
// ("22-2" is an error). Allowed values: second and minute 0–59, hour 0–23, day 1–31, month 1–12 or Jan–Dec,
// day-of-week 0–6 or Sun–Sat with Sunday 0; 7 is accepted as Sunday too, as in Vixie cron. Names are matched
// case-insensitively and may be written in full ("January", "Monday"). When both day and day-of-week are
// restricted, a date must satisfy both (NCrontab's AND, not Vixie cron's OR). Quartz extensions (?, L, W, #)
// are not NCRONTAB and are refused. A day that no allowed month has ("0 0 0 31 Feb *") is refused at parse time,
// so every schedule that parses has occurrences.
//
// Errors are *ParseError values naming the field and what it allows, for example:
//
//	schedule "0 61 * * * *": minute field "61": 61 is out of range; allowed: 0-59
//
// # Time zones and daylight saving time
//
// A cron schedule is matched against the local wall-clock time of its Location (UTC unless WEBSITE_TIME_ZONE
// says otherwise; see LoadZone), as Azure's timer does with .NET's local time. Next implements these rules, which
// are those of Azure's CronSchedule over NCrontab (Microsoft.Azure.WebJobs.Extensions.Timers, checked against its
// source and DST tests):
//
//   - Spring forward (a gap). A matching wall time that does not exist that day is read with the UTC offset in
//     force before the gap, as .NET reads an invalid local time; so it fires at the instant after the gap,
//     shifted forward by the gap's length (America/New_York, 10 March 2024: 02:30 fires at 03:30 EDT). The search
//     then continues from that instant's wall time, so the other matches inside the gap collapse into that one
//     firing: "0 */15 * * * *" fires at 01:45 EST, 03:00 EDT, 03:15 EDT.
//   - Fall back (an overlap), "interval" schedules: a cron expression whose second, minute or hour field holds
//     '*', '-' or '/' (Azure's test, see Schedule.Interval) fires at every instant whose wall time matches, so a
//     match in the repeated hour fires twice: "0 30 * * * *" fires at 01:30 EDT and again at 01:30 EST.
//   - Fall back, "point in time" schedules (every other cron expression, e.g. "0 30 1 * * *"): an ambiguous wall
//     time fires once, at its first (daylight) instance. When the search starts inside the second copy of the
//     repeated hour, the matches left in that copy are skipped, taken as run already.
//
// Azure reaches the overlap rules by adjusting NCrontab's answer by the offset difference; in corner cases of its
// adjustment (an interval schedule started inside the repeated hour whose next match lies after it) that gives an
// instant the expression does not match. This package applies the rules above directly and has no such cases.
//
// A TimeSpan schedule is a fixed interval of elapsed time: Next(t) is t plus the interval, whatever the zone
// (Azure's ConstantSchedule, whose AdjustForDST is false).
//
// # Time zones
//
// LoadZone reads WEBSITE_TIME_ZONE: an IANA name ("Europe/Berlin") or one of the Windows time zone names Azure
// accepts ("W. Europe Standard Time"), mapped to IANA by a table in this package; "" means UTC. The zone database
// is embedded (time/tzdata), so zones resolve on hosts without one.
package schedule
