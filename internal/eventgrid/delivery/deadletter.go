package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/eventgrid/schema"
)

// DeadLetterPath is the blob name Event Grid gives a dead-lettered event:
// the subscription's name in upper case, then the UTC year, month, day and
// hour without zero padding, then a new GUID.
func DeadLetterPath(subscription string, t time.Time, id string) string {
	t = t.UTC()
	return fmt.Sprintf("%s/%d/%d/%d/%d/%s.json", upper(subscription), t.Year(), int(t.Month()), t.Day(), t.Hour(), id)
}

// DeadLetterEvent is an event as the dead-letter blob holds it: the event
// with the dead-letter properties added, in camelCase for the Event Grid
// schema and lower case for CloudEvents.
func DeadLetterEvent(raw json.RawMessage, s schema.Schema, reason string, attempts int, outcome string, status int, published, lastTry time.Time) (json.RawMessage, error) {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	set := func(name string, v any) {
		if s == schema.CloudEventSchemaV1_0 {
			name = lower(name)
		}
		b, _ := json.Marshal(v)
		ev[name] = b
	}
	if outcome == "" {
		outcome = "Probation"
	}
	set("deadLetterReason", reason)
	set("deliveryAttempts", attempts)
	set("lastDeliveryOutcome", outcome)
	set("lastHttpStatusCode", status)
	set("publishTime", published.UTC().Format(time.RFC3339Nano))
	if lastTry.IsZero() {
		set("lastDeliveryAttemptTime", nil)
	} else {
		set("lastDeliveryAttemptTime", lastTry.UTC().Format(time.RFC3339Nano))
	}
	return json.Marshal(ev)
}

// writeDeadLetter writes one event to the dead-letter container.
func (w *worker) writeDeadLetter(ctx context.Context, it *item, reason string, now time.Time) error {
	if w.e.o.Storage == nil {
		return errors.New("no storage")
	}
	dl := w.sub.Spec.DeadLetter
	ev, err := DeadLetterEvent(it.raw, w.schema, reason, it.attempts, it.outcome, it.status, it.published, it.lastTry)
	if err != nil {
		return err
	}
	acct, err := w.e.o.Storage(ctx, dl.AccountID)
	if err != nil {
		return err
	}
	body := append(append([]byte{'['}, ev...), ']')
	return acct.WriteBlob(ctx, dl.Container, DeadLetterPath(w.sub.Name, now, uuid.NewString()), body, "application/json")
}
