package blob

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/arm"
)

// Event types of blob events.
const (
	EventBlobCreated = "Microsoft.Storage.BlobCreated"
	EventBlobDeleted = "Microsoft.Storage.BlobDeleted"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// EventData is the data of Microsoft.Storage.BlobCreated and BlobDeleted,
// in Azure's field order. BlobDeleted has no eTag and contentLength.
type EventData struct {
	API                string             `json:"api"`
	ClientRequestID    string             `json:"clientRequestId"`
	RequestID          string             `json:"requestId"`
	ETag               string             `json:"eTag,omitempty"`
	ContentType        string             `json:"contentType"`
	ContentLength      *int64             `json:"contentLength,omitempty"`
	BlobType           string             `json:"blobType"`
	URL                string             `json:"url"`
	Sequencer          string             `json:"sequencer"`
	StorageDiagnostics StorageDiagnostics `json:"storageDiagnostics"`
}

// StorageDiagnostics is the storageDiagnostics of a blob event.
type StorageDiagnostics struct {
	BatchID string `json:"batchId"`
}

// Subject is a blob event's subject.
func Subject(container, blob string) string {
	return "/blobServices/default/containers/" + container + "/blobs/" + blob
}

// sequencer orders the events of one blob: the record's revision, then 0
// for a write and 1 for the delete of that revision (which comes after it
// and before any later write, whose revision is higher).
func sequencer(rev uint64, deleted bool) string {
	d := 0
	if deleted {
		d = 1
	}
	return fmt.Sprintf("%016x%016x", rev, d)
}

// blobEvent publishes the event of a write that has been stored. It runs
// to completion even if the client hangs up, and retries with the same
// message id, so the event is published once.
func (s *Service) blobEvent(rq *req, api string, b *blobRecord, rev uint64, deleted bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rq.ctx), 30*time.Second)
	defer cancel()
	topic, err := s.AccountID(ctx, rq.acct)
	if err != nil {
		s.log.Error("blob: no account id for an event; event lost", "account", rq.acct, "err", err)
		return
	}
	data := EventData{
		API:                api,
		ClientRequestID:    rq.r.Header.Get("x-ms-client-request-id"),
		RequestID:          rq.id,
		ContentType:        b.Headers.ContentType,
		BlobType:           b.Type,
		URL:                s.URL(rq.acct, rq.container, rq.blob),
		Sequencer:          sequencer(rev, deleted),
		StorageDiagnostics: StorageDiagnostics{BatchID: uuid.NewString()},
	}
	eventType := EventBlobDeleted
	if !deleted {
		eventType = EventBlobCreated
		size := b.Size
		data.ETag, data.ContentLength = b.ETag, &size
	}
	raw, err := json.Marshal(data)
	if err != nil {
		s.log.Error("blob: event data", "err", err)
		return
	}
	ev := arm.Event{
		ID:              uuid.NewString(),
		Topic:           topic,
		Subject:         Subject(rq.container, rq.blob),
		EventType:       eventType,
		EventTime:       s.now().UTC(),
		Data:            raw,
		DataVersion:     "",
		MetadataVersion: "1",
	}
	msg, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("blob: event", "err", err)
		return
	}
	for attempt := 1; ; attempt++ {
		err = s.env.Substrate.PublishEvent(ctx, EventKind, topic, msg, ev.ID)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			s.log.Error("blob: could not publish an event", "type", eventType, "subject", ev.Subject, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(min(attempt, 10)) * 100 * time.Millisecond):
		}
	}
}
