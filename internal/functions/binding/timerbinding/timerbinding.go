package timerbinding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/schedule"
)

// TriggerType is the type name of the timer trigger.
const TriggerType = "timerTrigger"

func init() { binding.Register(Trigger{}) }

// Config is a timerTrigger binding's parsed properties.
type Config struct {
	// Schedule is the parsed schedule, in UTC (Start moves it to WEBSITE_TIME_ZONE).
	Schedule *schedule.Schedule
	// RunOnStartup is runOnStartup (default false).
	RunOnStartup bool
	// UseMonitor is useMonitor as configured (default true); see Monitor for the effective value.
	UseMonitor bool
}

// Monitor reports whether the schedule status is kept: useMonitor, unless the schedule fires more than once a
// minute (then never, as in Azure).
func (c Config) Monitor() bool { return c.UseMonitor && c.Schedule.MonitorByDefault() }

// ParseConfig reads and validates a timerTrigger binding's properties. Errors are *binding.PropertyError values,
// joined.
func ParseConfig(b *appconfig.Binding) (Config, error) {
	c := Config{UseMonitor: true}
	var errs []error
	raw, ok := b.Property("schedule")
	switch {
	case !ok || string(raw) == "null":
		errs = append(errs, &binding.PropertyError{Property: "schedule", Msg: "is missing; a timer needs an NCRONTAB expression " +
			"such as \"0 */5 * * * *\" (every five minutes) or a TimeSpan such as \"00:05:00\""})
	default:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			errs = append(errs, &binding.PropertyError{Property: "schedule", Msg: fmt.Sprintf("%s is not a string; write an NCRONTAB expression such as \"0 */5 * * * *\"", raw)})
			break
		}
		if strings.HasPrefix(strings.TrimSpace(s), "%") && strings.HasSuffix(strings.TrimSpace(s), "%") {
			errs = append(errs, &binding.PropertyError{Property: "schedule", Msg: fmt.Sprintf("%q names an app setting that was not resolved", s)})
			break
		}
		sched, err := schedule.Parse(s)
		if err != nil {
			errs = append(errs, &binding.PropertyError{Property: "schedule", Msg: err.Error()})
			break
		}
		c.Schedule = sched
	}
	if v, err := boolProperty(b, "runOnStartup"); err != nil {
		errs = append(errs, err)
	} else if v != nil {
		c.RunOnStartup = *v
	}
	if v, err := boolProperty(b, "useMonitor"); err != nil {
		errs = append(errs, err)
	} else if v != nil {
		c.UseMonitor = *v
	}
	return c, errors.Join(errs...)
}

// boolProperty reads a boolean property written as a JSON boolean or the string "true" or "false"; nil when absent.
func boolProperty(b *appconfig.Binding, name string) (*bool, error) {
	raw, ok := b.Property(name)
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var v bool
	if json.Unmarshal(raw, &v) == nil {
		return &v, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			v = true
			return &v, nil
		case "false":
			return &v, nil
		}
	}
	return nil, &binding.PropertyError{Property: name, Msg: fmt.Sprintf("%s is not a boolean; allowed: true, false", raw)}
}

// consumptionSKU reports whether WEBSITE_SKU names a Consumption plan, on which TimeSpan schedules are refused.
func consumptionSKU(sku string) bool {
	switch strings.ToLower(strings.TrimSpace(sku)) {
	case "consumption", "flexconsumption", "dynamic":
		return true
	}
	return false
}

// Trigger is the timerTrigger binding type.
type Trigger struct{}

// Name implements binding.Type.
func (Trigger) Name() string { return TriggerType }

// Directions implements binding.Type.
func (Trigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }

// Validate implements binding.Type.
func (Trigger) Validate(b *appconfig.Binding) error { _, err := ParseConfig(b); return err }

// Start implements binding.Trigger: it reads the configuration, the plan and the time zone from the app
// settings, prepares the state (and the past-due check) and starts the schedule. See the package documentation.
func (Trigger) Start(ctx context.Context, fn *binding.Function, inv binding.Invoker) (func(), error) {
	cfg, err := ParseConfig(fn.Trigger())
	if err != nil {
		return nil, err
	}
	if sku, _ := fn.Settings("WEBSITE_SKU"); cfg.Schedule.Kind() == schedule.TimeSpan && consumptionSKU(sku) {
		return nil, &binding.PropertyError{Property: "schedule", Msg: fmt.Sprintf("%q is not a valid CRON expression: TimeSpan "+
			"schedules are not allowed on the %s plan (app setting WEBSITE_SKU); use an NCRONTAB expression such as %q, "+
			"or a Premium or Dedicated plan", cfg.Schedule.String(), sku, cronFor(cfg.Schedule))}
	}
	zone, _ := fn.Settings("WEBSITE_TIME_ZONE")
	loc, err := schedule.LoadZone(zone)
	if err != nil {
		return nil, fmt.Errorf("app setting WEBSITE_TIME_ZONE: %w", err)
	}
	t := newTimer(ctx, fn, inv, cfg, cfg.Schedule.In(loc))
	first, next, err := t.setUp()
	if err != nil {
		t.cancel()
		return nil, err
	}
	go t.run(first, next)
	return t.stop, nil
}

// cronFor suggests a cron expression for a TimeSpan, when one says the same.
func cronFor(s *schedule.Schedule) string {
	d := s.Period()
	switch {
	case d == 24*time.Hour:
		return "0 0 0 * * *"
	case d%time.Hour == 0 && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 0 */%d * * *", d/time.Hour)
	case d%time.Minute == 0 && time.Hour%d == 0:
		return fmt.Sprintf("0 */%d * * * *", d/time.Minute)
	case d%time.Second == 0 && time.Minute%d == 0:
		return fmt.Sprintf("*/%d * * * * *", d/time.Second)
	}
	return "0 */5 * * * *"
}
