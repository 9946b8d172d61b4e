package fn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// QueueMessage is a Storage Queue message that triggered a function: its
// body from the payload's Data and its properties from the trigger
// metadata (Azure's "Id", "DequeueCount", "InsertionTime",
// "ExpirationTime", "NextVisibleTime", "PopReceipt").
type QueueMessage struct {
	// ID is the message's id.
	ID string
	// Body is the message content. The host has already undone the queue's
	// base64 message encoding; a message sent as JSON is its JSON text.
	Body []byte
	// DequeueCount is how many times the message has been dequeued,
	// counting this time: 1 on the first attempt. After maxDequeueCount
	// (host.json, default 5) failed attempts the host moves the message to
	// the "<queue>-poison" queue.
	DequeueCount int64
	// InsertionTime is when the message was added to the queue.
	InsertionTime time.Time
	// ExpirationTime is when the message expires.
	ExpirationTime time.Time
	// NextVisibleTime is when the message becomes visible again if this
	// attempt does not complete.
	NextVisibleTime time.Time
	// PopReceipt is the receipt of this dequeue.
	PopReceipt string
}

// Text returns the message body as a string.
func (m QueueMessage) Text() string { return string(m.Body) }

// JSON decodes the message body as JSON into v.
func (m QueueMessage) JSON(v any) error {
	if len(bytes.TrimSpace(m.Body)) == 0 {
		return errors.New("fn: the queue message is empty")
	}
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("fn: queue message %s: %w", m.ID, err)
	}
	return nil
}

// QueueFunc is the signature of a queue-triggered function. A nil error
// completes the message (the host deletes it); a non-nil error fails the
// attempt, and the message is retried until it reaches the poison queue.
type QueueFunc func(ctx *Context, msg QueueMessage) error

// Queue registers a function triggered by messages on the Storage queue
// queueName (function.json type "queueTrigger", binding name "msg"). The
// queue name may be a binding expression such as "%OrdersQueue%".
//
//	app.Queue("process_order", "orders", func(ctx *fn.Context, msg fn.QueueMessage) error {
//		var order map[string]any
//		if err := msg.JSON(&order); err != nil {
//			return err
//		}
//		order["status"] = "processed"
//		ctx.PutQueueMessage("out", order)
//		return nil
//	}, fn.Connection("AzureWebJobsStorage"), fn.QueueOutput("out", "processed-orders"))
//
// Options are [Connection], [TriggerName], [DataType] and bindings such as
// [QueueOutput], [BlobOutput] and [BlobInput]. It panics on an invalid
// queue name (3 to 63 lower-case letters, digits and hyphens), a nil
// handler or an invalid option.
func (a *App) Queue(name, queueName string, h QueueFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: Queue(%q): nil handler", name))
	}
	if err := checkQueueName(queueName); err != nil {
		panic(fmt.Sprintf("fn: Queue(%q): %v", name, err))
	}
	f := &function{name: name}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		msg, err := decodeQueueMessage(inv, f.trigger())
		if err != nil {
			return nil, &payloadError{err}
		}
		return nil, h(ctx, msg)
	}
	a.mustRegister("Queue", f, Binding{Type: "queueTrigger", Name: "msg",
		Props: map[string]any{"queueName": queueName}}, opts)
}

// decodeQueueMessage reads the message under the trigger's name in Data and
// its properties from Metadata.
func decodeQueueMessage(inv *Invocation, trigger *Binding) (QueueMessage, error) {
	var m QueueMessage
	raw, _ := lookupFold(inv.Data, trigger.Name)
	body, _, err := decodeContent(raw, dataTypeOf(trigger))
	if err != nil {
		return m, fmt.Errorf("queue message %q: %w", trigger.Name, err)
	}
	m.Body = body
	md := inv.Metadata
	m.ID, _ = metaString(md, "Id")
	m.PopReceipt, _ = metaString(md, "PopReceipt")
	if m.DequeueCount, err = metaInt(md, "DequeueCount"); err != nil {
		return m, err
	}
	for _, t := range []struct {
		key string
		dst *time.Time
	}{{"InsertionTime", &m.InsertionTime}, {"ExpirationTime", &m.ExpirationTime}, {"NextVisibleTime", &m.NextVisibleTime}} {
		if *t.dst, err = metaTime(md, t.key); err != nil {
			return m, err
		}
	}
	return m, nil
}
