package webapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/functions/metering"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Usage is one node's accumulated meter for a site, as kept in lapis-functions-usage.
type Usage struct {
	Since     time.Time                         `json:"since"`
	Functions map[string]metering.FunctionUsage `json:"functions"`
}

func (s *Store) usageKeys(ctx context.Context, site string) ([]string, error) {
	var keys []string
	err := s.each(ctx, s.usage, site+".*", func(e jetstream.KeyValueEntry) error {
		keys = append(keys, e.Key())
		return nil
	})
	return keys, err
}

// AddUsage merges a delta of a node's meter into the site's stored usage, with compare-and-set so that
// concurrent writers lose nothing.
func (s *Store) AddUsage(ctx context.Context, site, node string, delta map[string]metering.FunctionUsage, now time.Time) error {
	if len(delta) == 0 {
		return nil
	}
	key := site + "." + substrate.Token(node)
	for attempt := 0; ; attempt++ {
		var u Usage
		var rev uint64
		e, err := s.usage.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			u = Usage{Since: now}
		case err != nil:
			return fmt.Errorf("webapp: reading usage: %w", err)
		default:
			if err := json.Unmarshal(e.Value(), &u); err != nil {
				return fmt.Errorf("webapp: decoding usage %s: %w", key, err)
			}
			rev = e.Revision()
		}
		if u.Functions == nil {
			u.Functions = map[string]metering.FunctionUsage{}
		}
		for name, d := range delta {
			cur := u.Functions[name]
			cur.Merge(d)
			u.Functions[name] = cur
		}
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = s.usage.Create(ctx, key, b)
		} else {
			_, err = s.usage.Update(ctx, key, b, rev)
		}
		if err == nil {
			return nil
		}
		if attempt >= 10 {
			return fmt.Errorf("webapp: storing usage: %w", err)
		}
	}
}

// SiteUsage returns a site's usage summed over every node.
func (s *Store) SiteUsage(ctx context.Context, site string) (Usage, error) {
	total := Usage{Functions: map[string]metering.FunctionUsage{}}
	err := s.each(ctx, s.usage, site+".*", func(e jetstream.KeyValueEntry) error {
		var u Usage
		if err := json.Unmarshal(e.Value(), &u); err != nil {
			return fmt.Errorf("webapp: decoding usage %s: %w", e.Key(), err)
		}
		if total.Since.IsZero() || u.Since.Before(total.Since) {
			total.Since = u.Since
		}
		for n, f := range u.Functions {
			cur := total.Functions[n]
			cur.Merge(f)
			total.Functions[n] = cur
		}
		return nil
	})
	return total, err
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// usageJSON is one function's (or the total's) line of `functionapp usage show`.
func usageJSON(name string, u metering.FunctionUsage) map[string]any {
	out := map[string]any{
		"executions": u.Executions, "successes": u.Successes, "failures": u.Failures, "coldStarts": u.ColdStarts,
		"durationMs": map[string]float64{"p50": ms(u.Duration.Quantile(0.5)), "p95": ms(u.Duration.Quantile(0.95)),
			"p99": ms(u.Duration.Quantile(0.99)), "max": ms(u.Duration.Max)},
		"coldStartMs":        map[string]float64{"p50": ms(u.ColdStartDuration.Quantile(0.5)), "p99": ms(u.ColdStartDuration.Quantile(0.99))},
		"executionUnitsMBms": u.ExecutionUnits,
		"gbSeconds":          math.Round(u.GBSeconds()*1e6) / 1e6,
	}
	if name != "" {
		out["name"] = name
	}
	return out
}

// serveUsage answers usage (Lapis's per-function meter) and usages (Azure's CsmUsageQuota list).
func (t *SiteType) serveUsage(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest, azure bool) error {
	var u Usage
	if t.Data != nil {
		var err error
		if u, err = t.Data.SiteUsage(r.Context(), SiteKey(req.Record.Name)); err != nil {
			return err
		}
	}
	var total metering.FunctionUsage
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range u.Functions {
			if !yield(n) {
				return
			}
		}
	})
	fns := []any{}
	for _, n := range names {
		total.Merge(u.Functions[n])
		fns = append(fns, usageJSON(n, u.Functions[n]))
	}
	site, err := t.Site(r.Context(), req.Record)
	if err != nil {
		return err
	}
	if azure {
		quota := func(name, unit string, v int64) map[string]any {
			return map[string]any{"name": map[string]string{"value": name, "localizedValue": name}, "unit": unit,
				"currentValue": v, "limit": -1, "nextResetTime": "9999-12-31T23:59:59.9999999Z"}
		}
		return arm.WriteJSON(w, http.StatusOK, map[string]any{"value": []any{
			quota("FunctionExecutionCount", "Count", total.Executions),
			quota("FunctionExecutionUnits", "MB-Milliseconds", total.ExecutionUnits),
		}})
	}
	body := map[string]any{"name": req.Record.Name, "plan": site.SKU, "planFamily": string(site.Family),
		"functions": fns, "total": usageJSON("", total)}
	if t.Runtime != nil {
		body["instances"] = t.Runtime.Instances(site.Key)
	}
	if !u.Since.IsZero() {
		body["since"] = u.Since.UTC().Format(time.RFC3339)
	}
	return arm.WriteJSON(w, http.StatusOK, body)
}
