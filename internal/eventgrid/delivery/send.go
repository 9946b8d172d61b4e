package delivery

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/loopback"
)

// RequestTimeout is how long Event Grid waits for an endpoint's answer.
const RequestTimeout = 30 * time.Second

// Origin is the origin Event Grid names in the CloudEvents handshake and
// deliveries; handlers written for Azure check for it.
const Origin = "eventgrid.azure.net"

// Delivery outcomes, as lastDeliveryOutcome shows them.
const (
	OutcomeSucceeded    = "Succeeded"
	OutcomeTimedOut     = "TimedOut"
	OutcomeBadRequest   = "BadRequest"
	OutcomeUnauthorized = "Unauthorized"
	OutcomeForbidden    = "Forbidden"
	OutcomeNotFound     = "NotFound"
	OutcomeBusy         = "Busy"
	OutcomeGenericError = "GenericError"
)

// result is the outcome of one attempt.
type result struct {
	status  int
	outcome string
	err     error
}

func (r result) ok() bool { return r.outcome == OutcomeSucceeded }

// classify maps an HTTP answer (or its absence) to an outcome. Only 200,
// 201, 202, 203 and 204 are success.
func classify(status int, err error) result {
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)):
		return result{outcome: OutcomeTimedOut, err: err}
	case err != nil:
		return result{outcome: OutcomeGenericError, err: err}
	case status >= 200 && status <= 204:
		return result{status: status, outcome: OutcomeSucceeded}
	}
	r := result{status: status, outcome: OutcomeGenericError}
	switch status {
	case 400, 413:
		r.outcome = OutcomeBadRequest
	case 401:
		r.outcome = OutcomeUnauthorized
	case 403:
		r.outcome = OutcomeForbidden
	case 404:
		r.outcome = OutcomeNotFound
	case 408:
		r.outcome = OutcomeTimedOut
	case 429, 503:
		r.outcome = OutcomeBusy
	}
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// NewClient returns the HTTP client deliveries use: no overall timeout
// (each request has its context), keep-alive connections per endpoint, no
// redirects followed, and host names under .localhost (Lapis's function
// apps and topics) dialled on the loopback address (package loopback).
func NewClient() *http.Client {
	tr := loopback.Transport()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 128
	tr.ResponseHeaderTimeout = RequestTimeout
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// attempt delivers a group once.
func (w *worker) attempt(ctx context.Context, group []*item) result {
	dest := w.sub.Spec.Destination
	switch dest.Type {
	case subscription.StorageQueue:
		return w.enqueue(ctx, dest, group)
	case subscription.AzureFunction:
		if w.e.o.FunctionURL == nil {
			return result{outcome: OutcomeNotFound, err: errors.New("no function resolver")}
		}
		u, err := w.e.o.FunctionURL(ctx, dest.ResourceID)
		if err != nil {
			return result{status: http.StatusNotFound, outcome: OutcomeNotFound, err: err}
		}
		return w.post(ctx, u, group)
	}
	return w.post(ctx, dest.URL, group)
}

// post sends a group to a webhook: an Event Grid schema JSON array, or a
// CloudEvent (one, or a batch when the subscription batches).
func (w *worker) post(ctx context.Context, url string, group []*item) result {
	var body bytes.Buffer
	ct := "application/json"
	single := w.schema == schema.CloudEventSchemaV1_0 && w.sub.Spec.Destination.MaxEventsPerBatch <= 1 && len(group) == 1
	switch {
	case single:
		ct = "application/cloudevents+json; charset=utf-8"
		body.Write(group[0].raw)
	default:
		if w.schema == schema.CloudEventSchemaV1_0 {
			ct = "application/cloudevents-batch+json; charset=utf-8"
		}
		body.WriteByte('[')
		for i, it := range group {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(it.raw)
		}
		body.WriteByte(']')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return result{outcome: OutcomeGenericError, err: err}
	}
	h := req.Header
	h.Set("Content-Type", ct)
	h.Set("aeg-event-type", "Notification")
	h.Set("aeg-subscription-name", w.upperName())
	h.Set("aeg-delivery-count", strconv.Itoa(group[0].attempts))
	h.Set("aeg-metadata-version", "1")
	if w.schema == schema.CloudEventSchemaV1_0 {
		h.Set("Origin", Origin)
	}
	resp, err := w.e.o.Client.Do(req)
	if err != nil {
		return classify(0, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return classify(resp.StatusCode, nil)
}

// enqueue puts each event of a group on a storage queue, as a message
// holding the event's JSON in base64 (the encoding the Functions queue
// trigger expects by default).
func (w *worker) enqueue(ctx context.Context, dest subscription.Destination, group []*item) result {
	if w.e.o.Storage == nil {
		return result{outcome: OutcomeNotFound, err: errors.New("no storage")}
	}
	acct, err := w.e.o.Storage(ctx, dest.ResourceID)
	if err != nil {
		return result{status: http.StatusNotFound, outcome: OutcomeNotFound, err: err}
	}
	ttl := dest.QueueMessageTTL
	for _, it := range group {
		if _, err := acct.PutMessage(ctx, dest.Queue, base64.StdEncoding.EncodeToString(it.raw), 0, ttl); err != nil {
			return classify(storageStatus(err), storageErr(err))
		}
	}
	return result{status: http.StatusCreated, outcome: OutcomeSucceeded}
}

// storageStatus is the HTTP status of a storage error, if it has one.
func storageStatus(err error) int {
	var se *storageclient.Error
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func storageErr(err error) error {
	if storageStatus(err) != 0 {
		return nil
	}
	return fmt.Errorf("storage queue: %w", err)
}
