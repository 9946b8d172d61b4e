package queuebinding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// Output is the queue output binding type.
type Output struct{}

// Name implements binding.Type.
func (Output) Name() string { return OutputType }

// Directions implements binding.Type.
func (Output) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.Out} }

// Validate implements binding.Type.
func (Output) Validate(b *appconfig.Binding) error { _, err := ParseConfig(b, false); return err }

// Write implements binding.Output: value is one message (a JSON string is its text; any other JSON is sent
// serialized) or a JSON array of them (one message each; null elements are skipped). Messages are base64-encoded
// unless host.json extensions.queues.messageEncoding is "none". The queue is created if it does not exist.
func (Output) Write(ctx context.Context, fn *binding.Function, b *appconfig.Binding, inv *binding.Invocation, value json.RawMessage) error {
	cfg, err := ParseConfig(b, false)
	if err != nil {
		return err
	}
	qname, err := outputQueue(cfg.QueueName, fn, inv)
	if err != nil {
		return err
	}
	texts, err := Messages(value)
	if err != nil || len(texts) == 0 {
		return err
	}
	conn, err := ConnectionString(fn.Settings, cfg.Connection)
	if err != nil {
		return err
	}
	acct, err := provider(fn.Env).Account(ctx, conn)
	if err != nil {
		return fmt.Errorf("connection %s: %w", cfg.Connection, err)
	}
	enc := queueOptions(fn).MessageEncoding
	for _, t := range texts {
		if err := Put(ctx, acct, qname, EncodeMessage(t, enc)); err != nil {
			return err
		}
	}
	return nil
}

// outputQueue resolves an output's queue name: app settings (%NAME%, usually already resolved when function.json
// was loaded), then binding expressions ({queueTrigger}, {Id}, {rand-guid}, {DateTime}, the message's JSON
// properties such as {orderId}) against the invocation, then Azure's lowercasing and name rules.
func outputQueue(name string, fn *binding.Function, inv *binding.Invocation) (string, error) {
	v, err := appconfig.ResolveSettings(name, fn.Settings)
	if err != nil {
		return "", fmt.Errorf("queueName: %w", err)
	}
	if strings.ContainsAny(v, "{}") {
		if v, err = expr.Eval(v, exprContext(fn, inv)); err != nil {
			return "", fmt.Errorf("queueName: %w", err)
		}
	}
	n, err := NormalizeQueueName(v)
	if err != nil {
		return "", fmt.Errorf("queueName %q: %w", name, err)
	}
	return n, nil
}

// exprContext is the binding-expression context of an invocation: its trigger metadata, its trigger value (whose
// JSON properties are names too) and "sys".
func exprContext(fn *binding.Function, inv *binding.Invocation) *expr.Context {
	c := &expr.Context{Sys: expr.Sys{MethodName: fn.Name(), UtcNow: fn.Env.Now()}}
	if fn.Env != nil && fn.Env.Clock != nil {
		c.Now = fn.Env.Clock
	}
	if inv == nil {
		return c
	}
	c.Metadata = inv.Metadata
	if fn.TriggerIx >= 0 && fn.TriggerIx < len(fn.Def.Bindings) {
		name := fn.Def.Bindings[fn.TriggerIx].Name
		c.Value = inv.Data[name]
		for k, v := range inv.Data {
			if c.Value == nil && strings.EqualFold(k, name) {
				c.Value = v
			}
		}
	}
	return c
}

// Put adds a message, creating the queue when it does not exist.
func Put(ctx context.Context, acct storageclient.Account, queue, text string) error {
	_, err := acct.PutMessage(ctx, queue, text, 0, 0)
	if errors.Is(err, storageclient.ErrNotFound) {
		if err = acct.CreateQueue(ctx, queue); err == nil {
			_, err = acct.PutMessage(ctx, queue, text, 0, 0)
		}
	}
	return err
}

// Messages returns the texts of the messages an output value stands for: none for null; one per element of an
// array (null elements skipped); otherwise one. A JSON string gives its text, any other value its compact JSON.
func Messages(value json.RawMessage) ([]string, error) {
	v := bytes.TrimSpace(value)
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	if v[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("queue output: the value is not valid JSON: %w", err)
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			if t, ok, err := message(it); err != nil {
				return nil, err
			} else if ok {
				out = append(out, t)
			}
		}
		return out, nil
	}
	t, ok, err := message(v)
	if err != nil || !ok {
		return nil, err
	}
	return []string{t}, nil
}

func message(v json.RawMessage) (string, bool, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", false, nil
	}
	if v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, fmt.Errorf("queue output: %w", err)
		}
		return s, true, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return "", false, fmt.Errorf("queue output: the value is not valid JSON: %w", err)
	}
	return b.String(), true, nil
}
