package webapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lapisdev/lapis/internal/arm"
)

// logKeepAlive is how often an idle log stream says so, as Kudu's does.
const logKeepAlive = time.Minute

// logStream streams the site's log lines (invocations, worker output, scale decisions) from every node as
// text/plain until the client goes away.
func (t *SiteType) logStream(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	if t.Data == nil {
		return arm.Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "Log streaming is not available on this server.")
	}
	rc := http.NewResponseController(w)
	lines := make(chan *nats.Msg, 256)
	sub, err := t.Data.Substrate().Conn().ChanSubscribe(LogSubject(SiteKey(req.Record.Name)), lines)
	if err != nil {
		return fmt.Errorf("webapp: subscribing to the log stream: %w", err)
	}
	defer sub.Unsubscribe()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%s  Welcome, you are now connected to log-streaming service of %s.\n", t.now().Format(time.RFC3339), req.Record.Name)
	if err := rc.Flush(); err != nil {
		return nil
	}
	idle := time.NewTicker(logKeepAlive)
	defer idle.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-idle.C:
			fmt.Fprintf(w, "%s  No new trace in the past 1 min(s).\n", t.now().Format(time.RFC3339))
			_ = rc.Flush()
		case m := <-lines:
			var l LogLine
			if err := json.Unmarshal(m.Data, &l); err != nil {
				continue
			}
			if _, err := fmt.Fprintln(w, l.String()); err != nil {
				return nil
			}
			_ = rc.Flush()
			idle.Reset(logKeepAlive)
		}
	}
}
