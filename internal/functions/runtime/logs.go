package runtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lapisdev/lapis/internal/functions/webapp"
)

// logHandler passes an app's log records to the server log and publishes them, as webapp.LogLine JSON, on the
// app's log subject for `functionapp logs tail` (fire and forget: nobody listening costs nothing).
type logHandler struct {
	next    slog.Handler
	nc      *nats.Conn
	subject string
	node    string
	attrs   []slog.Attr
}

func newLogHandler(next slog.Handler, nc *nats.Conn, subject, node string) *logHandler {
	return &logHandler{next: next, nc: nc, subject: subject, node: node}
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.nc != nil && r.Level >= slog.LevelInfo {
		line := webapp.LogLine{Time: r.Time, Level: levelName(r.Level), Message: r.Message, Node: h.node, Source: "host"}
		take := func(a slog.Attr) bool {
			switch a.Key {
			case "function":
				line.Function = a.Value.String()
			case "invocationId":
				line.ID = a.Value.String()
			case "source":
				line.Source = a.Value.String()
			case "error", "err":
				line.Message += ": " + a.Value.String()
			case "duration":
				if d, ok := a.Value.Any().(time.Duration); ok {
					line.Message += " (Duration=" + d.Round(time.Microsecond).String() + ")"
				}
			}
			return true
		}
		for _, a := range h.attrs {
			take(a)
		}
		r.Attrs(take)
		if b, err := json.Marshal(line); err == nil {
			_ = h.nc.Publish(h.subject, b)
		}
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "Error"
	case l >= slog.LevelWarn:
		return "Warning"
	case l >= slog.LevelInfo:
		return "Information"
	}
	return "Debug"
}
