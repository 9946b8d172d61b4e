package eventgrid

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
)

// PublishAPIVersion is the only api-version of the publish API. A request
// without api-version is accepted (Azure's own curl samples leave it out).
const PublishAPIVersion = "2018-01-01"

// publishTimeout bounds waiting for the stream's acknowledgements.
const publishTimeout = 30 * time.Second

// asyncWindow is how many publishes wait for their acknowledgements at once.
const asyncWindow = 1024

// Error codes of the publish endpoint beyond package schema's.
const (
	CodeUnauthorized     = "Unauthorized"
	CodeNotFound         = "NotFound"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeInternal         = "InternalServerError"
	// DetailInvalidAPIVersion is Lapis's detail code for an api-version
	// other than 2018-01-01.
	DetailInvalidAPIVersion = "InvalidApiVersion"
)

// Messages of the publish endpoint. msgMissingAuth and msgSASFormat are
// Azure's wording as seen in Azure's answers (msgSASFormat is quoted in
// Azure/azure-sdk#2622); the others are Lapis's, in Azure's style, since
// the reference notes do not give Azure's text.
const (
	msgMissingAuth   = "Request must contain one of the following authorization signature: aeg-sas-token, aeg-sas-key."
	msgBadKey        = "The request authorization key is not authorized for %s. The aeg-sas-key does not match key1 or key2 of the topic."
	msgBadSignature  = "The request authorization key is not authorized for %s. The aeg-sas-token's signature does not match key1 or key2 of the topic."
	msgExpired       = "The request authorization key is not authorized for %s. The aeg-sas-token expired at %s (UTC)."
	msgWrongResource = "The request authorization key is not authorized for %s. The aeg-sas-token was issued for the resource '%s'."
	msgSASFormat     = "Invalid key in aeg-sas-token. Valid format :r=UrlEncodedResource&e=UrlEncodedUtcExpiration&s=UrlEncodedSignature."
	msgBearer        = "Microsoft Entra (bearer token) authentication is not supported by Lapis; use the aeg-sas-key header or an aeg-sas-token."
	msgLocalAuthOff  = "Key and SAS token authentication are disabled for topic '%s' (disableLocalAuth is true)."
	msgNoTopic       = "The topic '%s' does not exist. Create it with: lapis eventgrid topic create -g <group> -n %s -l <location>."
	msgNoHostTopic   = "Lapis serves a topic's events at http://{topic}.localhost:%d/api/events or http://localhost:%d/{topic}/api/events; this request for %s names no topic."
	msgNoRoute       = "No such endpoint: POST events to /api/events on {topic}.localhost:%d, or to /{topic}/api/events."
	msgMethod        = "The method %s is not allowed: publish events with POST."
	msgAPIVersion    = "The api-version '%s' is not supported by the publish API; use api-version=" + PublishAPIVersion + "."
	msgStore         = "The events could not be stored: %v. Retry the request."
)

func unauthorized(format string, args ...any) *schema.Error {
	return &schema.Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *schema.Error {
	return &schema.Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func badRequest(detail, format string, args ...any) *schema.Error {
	msg := fmt.Sprintf(format, args...)
	return &schema.Error{Status: http.StatusBadRequest, Code: schema.CodeBadRequest, Message: msg,
		Details: []schema.Detail{{Code: detail, Message: msg}}}
}

// topicOf names the topic a request is for: the first label of the host
// name for /api/events, or the first path segment for /{topic}/api/events.
func topicOf(r *http.Request) (topic string, err *schema.Error) {
	port := 0
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		port = a.Port
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	// The seed posts to "$TOPIC_ENDPOINT/api/events", and the endpoint already
	// ends in /api/events: take the doubled path too.
	if strings.EqualFold(path, "/api/events") || strings.EqualFold(path, "/api/events/api/events") {
		host := r.Host
		if h, _, splitErr := net.SplitHostPort(host); splitErr == nil {
			host = h
		}
		label, _, found := strings.Cut(host, ".")
		if !found || net.ParseIP(strings.Trim(host, "[]")) != nil || label == "" {
			return "", notFound(msgNoHostTopic, port, port, r.Host)
		}
		return label, nil
	}
	rest, ok := strings.CutPrefix(path, "/")
	if name, tail, found := strings.Cut(rest, "/"); ok && found && strings.EqualFold(tail, "api/events") && name != "" {
		return name, nil
	}
	return "", notFound(msgNoRoute, port)
}

// serve is the publish endpoint.
func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/eventsubscriptions/") && strings.HasSuffix(r.URL.Path, "/validate") {
		s.serveValidate(w, r)
		return
	}
	if err := s.publish(r); err != nil {
		if err.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		err.Write(w)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func (s *Service) publish(r *http.Request) *schema.Error {
	ctx := r.Context()
	name, perr := topicOf(r)
	if perr != nil {
		return perr
	}
	rec, err := s.Topic(ctx, name)
	if err != nil {
		return &schema.Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: fmt.Sprintf(msgStore, err)}
	}
	if rec == nil {
		return notFound(msgNoTopic, name, strings.ToLower(name))
	}
	if r.Method != http.MethodPost {
		return &schema.Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: fmt.Sprintf(msgMethod, r.Method)}
	}
	if aerr := s.authenticate(r, rec); aerr != nil {
		return aerr
	}
	if v, ok := r.URL.Query()["api-version"]; ok && (len(v) != 1 || v[0] != PublishAPIVersion) {
		return badRequest(DetailInvalidAPIVersion, msgAPIVersion, strings.Join(v, ","))
	}
	now := s.env.Clock()
	events, err := s.limits.ParseRequest(TopicSchema(rec), rec.ID, r, now)
	if err != nil {
		var se *schema.Error
		if errors.As(err, &se) {
			return se
		}
		return badRequest(schema.DetailInputJSONInvalid, "The request body could not be read: %v.", err)
	}
	if err := s.storeEvents(ctx, rec, events, now); err != nil {
		s.log.Warn("storing published events", "topic", rec.ID, "events", len(events), "err", err)
		return &schema.Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: fmt.Sprintf(msgStore, err)}
	}
	return nil
}

// authenticate checks the request's key or SAS token against the topic's
// keys.
func (s *Service) authenticate(r *http.Request, rec *arm.Record) *schema.Error {
	host := strings.ToUpper(s.hostOf(rec.Name))
	if off, _ := rec.Properties["disableLocalAuth"].(bool); off {
		return unauthorized(msgLocalAuthOff, rec.Name)
	}
	keys := []string{rec.Secrets["key1"], rec.Secrets["key2"]}
	key := r.Header.Get("aeg-sas-key")
	if key == "" {
		key = r.URL.Query().Get("aeg-sas-key")
	}
	token := r.Header.Get("aeg-sas-token")
	if token == "" {
		if scheme, rest, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok {
			switch strings.ToLower(scheme) {
			case "sharedaccesssignature":
				token = strings.TrimSpace(rest)
			case "bearer":
				if key == "" {
					return unauthorized(msgBearer)
				}
			}
		}
	}
	switch {
	case key != "":
		for _, k := range keys {
			if k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
				return nil
			}
		}
		return unauthorized(msgBadKey, host)
	case token != "":
		sas, err := ParseSAS(token)
		if err != nil {
			return badRequest("InvalidSasToken", msgSASFormat)
		}
		if !resourceNames(sas.Resource, rec.Name) {
			return unauthorized(msgWrongResource, host, sas.Resource)
		}
		switch err := sas.Verify(keys, s.env.Clock()); {
		case errors.Is(err, ErrSASExpired):
			return unauthorized(msgExpired, host, sas.Expiry.Format(time.RFC3339))
		case err != nil:
			return unauthorized(msgBadSignature, host)
		}
		return nil
	}
	return unauthorized(msgMissingAuth)
}

// hostOf is the host:port of a topic's endpoint.
func (s *Service) hostOf(topic string) string {
	return fmt.Sprintf("%s.localhost:%d", strings.ToLower(topic), s.env.Ports.EventGrid)
}

// resourceNames reports whether a SAS token's resource (a URL) is the
// topic's endpoint: its host's first label is the topic (the Azure shape,
// {topic}.{region}-1.eventgrid.azure.net, and Lapis's {topic}.localhost), or
// its path starts with /{topic}/ (path-style).
func resourceNames(resource, topic string) bool {
	rest := resource
	if _, after, ok := strings.Cut(rest, "://"); ok {
		rest = after
	}
	host, path, _ := strings.Cut(rest, "/")
	if label, _, ok := strings.Cut(host, "."); ok && strings.EqualFold(label, topic) {
		return true
	}
	first, _, _ := strings.Cut(path, "/")
	return strings.EqualFold(first, topic)
}

// storeEvents publishes every event to the topic's subject and waits for
// all the acknowledgements. The message id (topic and event id) makes a
// retried publish of the same event count once within the stream's
// duplicate window.
func (s *Service) storeEvents(ctx context.Context, rec *arm.Record, events []schema.Event, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	js := s.env.Substrate.JetStream()
	topic := strings.ToLower(rec.Name)
	subj := TopicSubject(topic)
	received := now.UTC().Format(time.RFC3339Nano)
	futures := make([]jetstream.PubAckFuture, 0, min(len(events), asyncWindow))
	wait := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return nil
	}
	for _, ev := range events {
		msg := &nats.Msg{Subject: subj, Data: ev.Raw, Header: nats.Header{}}
		msg.Header.Set(HeaderSchema, ev.Schema.String())
		msg.Header.Set(HeaderTopic, rec.ID)
		msg.Header.Set(HeaderType, ev.Type)
		msg.Header.Set(HeaderSubject, ev.Subject)
		msg.Header.Set(HeaderReceived, received)
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(topic+"/"+ev.ID))
		if err != nil {
			return err
		}
		futures = append(futures, f)
		if len(futures) == asyncWindow {
			if err := wait(); err != nil {
				return err
			}
		}
	}
	return wait()
}
