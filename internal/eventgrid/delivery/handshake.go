package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/eventgrid/schema"
)

// HandshakeResult is what a webhook answered to the validation handshake.
type HandshakeResult int

const (
	// Validated: the endpoint answered the handshake.
	Validated HandshakeResult = iota
	// AwaitingManual: the endpoint took the validation event without the
	// code; it may still GET the validationUrl.
	AwaitingManual
)

// Handshake is the validation of a webhook before a subscription delivers
// to it.
type Handshake struct {
	Client *http.Client
	// URL is the webhook; Schema the delivery schema.
	URL    string
	Schema schema.Schema
	// Topic is the topic's resource id and Subscription the subscription's
	// name, for the validation event.
	Topic, Subscription string
	// Code is the validation code; ValidationURL the address an
	// asynchronous validation GETs.
	Code, ValidationURL string
	Now                 time.Time
}

// Run performs the handshake. For the Event Grid schema it POSTs a
// Microsoft.EventGrid.SubscriptionValidationEvent and wants 200 with
// {"validationResponse": code}; 200 without the code leaves the
// subscription awaiting a GET of the validationUrl. For CloudEvents it sends
// OPTIONS with WebHook-Request-Origin and wants WebHook-Allowed-Origin back.
// An error says, as Azure's does, why the endpoint failed.
func (h *Handshake) Run(ctx context.Context) (HandshakeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	client := h.Client
	if client == nil {
		client = NewClient()
	}
	base := baseURL(h.URL)
	if h.Schema == schema.CloudEventSchemaV1_0 {
		req, err := http.NewRequestWithContext(ctx, http.MethodOptions, h.URL, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("WebHook-Request-Origin", Origin)
		req.Header.Set("WebHook-Request-Rate", "*")
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("Webhook validation handshake failed for %s. Http OPTIONS request failed: %v", base, bare(err))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		allowed := resp.Header.Get("WebHook-Allowed-Origin")
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return 0, fmt.Errorf("Webhook validation handshake failed for %s. Http OPTIONS request failed with response code %d", base, resp.StatusCode)
		}
		if allowed != "*" && !strings.EqualFold(allowed, Origin) {
			return 0, fmt.Errorf("Webhook validation handshake failed for %s. The response to OPTIONS must carry the header WebHook-Allowed-Origin: %s (or *), it had %q", base, Origin, allowed)
		}
		return Validated, nil
	}
	ev := []map[string]any{{
		"id": uuid.NewString(), "topic": h.Topic, "subject": "",
		"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
		"eventTime": h.Now.UTC().Format(time.RFC3339Nano), "metadataVersion": "1", "dataVersion": "2",
		"data": map[string]string{"validationCode": h.Code, "validationUrl": h.ValidationURL},
	}}
	body, _ := json.Marshal(ev)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("aeg-event-type", "SubscriptionValidation")
	req.Header.Set("aeg-subscription-name", upper(h.Subscription))
	req.Header.Set("aeg-delivery-count", "0")
	req.Header.Set("aeg-metadata-version", "1")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("Webhook validation handshake failed for %s. Http POST request failed: %v", base, bare(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("Webhook validation handshake failed for %s. Http POST request failed with response code %d", base, resp.StatusCode)
	}
	var answer map[string]any
	_ = json.Unmarshal(b, &answer)
	for k, v := range answer {
		if strings.EqualFold(k, "validationResponse") {
			if s, _ := v.(string); s == h.Code {
				if resp.StatusCode != http.StatusOK {
					return 0, fmt.Errorf("Webhook validation handshake failed for %s. The validation response must come with status 200, not %d", base, resp.StatusCode)
				}
				return Validated, nil
			}
			return 0, fmt.Errorf("Webhook validation handshake failed for %s. Http POST request returned 2XX response with an invalid validationResponse", base)
		}
	}
	if h.ValidationURL == "" {
		return 0, fmt.Errorf("Webhook validation handshake failed for %s. The response had no validationResponse", base)
	}
	return AwaitingManual, nil
}

// bare drops the URL (whose query may hold a key) from a transport error.
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func baseURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

func upper(s string) string { return strings.ToUpper(s) }
func lower(s string) string { return strings.ToLower(s) }
