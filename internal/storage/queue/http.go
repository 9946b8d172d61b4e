package queue

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
)

// maxBody bounds what a request body may hold: a message's 64 KiB of text
// escaped as XML, with room to spare.
const maxBody = 8 * MaxMessageSize

// ServeHTTP serves the Queue REST API, path-style:
// /{account}?comp=list, /{account}/{queue}, /{account}/{queue}/messages
// and /{account}/{queue}/messages/{id}.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wire.Begin(w, r)
	if err := s.serve(w, r); err != nil {
		var we *wire.Error
		if !errors.As(err, &we) && r.Context().Err() == nil {
			s.log.Error("queue request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		wire.WriteError(w, r, err)
	}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) error {
	p, err := wire.ParsePath(r.URL)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	g, err := s.auth.Authenticate(r, auth.Queue, p.Account)
	if err != nil {
		return err
	}
	allow := func(perm byte, typ byte) error {
		return g.Allow(perm, auth.Resource{Type: typ, Container: p.Container})
	}
	switch {
	case p.Container == "":
		if q.Get("comp") == "list" && r.Method == http.MethodGet {
			if err := allow('l', 's'); err != nil {
				return err
			}
			return s.serveList(w, r, p.Account, q)
		}
		return wire.Errorf(http.StatusBadRequest, "UnsupportedQueryParameter",
			"Lapis's Queue service answers comp=list on the account; service properties and statistics are not supported.")
	case p.Blob == "":
		return s.serveQueue(w, r, p.Account, p.Container, q, allow)
	case p.Blob == "messages":
		return s.serveMessages(w, r, p.Account, p.Container, q, allow)
	case strings.HasPrefix(p.Blob, "messages/") && !strings.Contains(p.Blob[len("messages/"):], "/"):
		return s.serveMessage(w, r, p.Account, p.Container, p.Blob[len("messages/"):], q, allow)
	}
	return wire.Errorf(http.StatusBadRequest, "InvalidUri",
		"The requested URI does not represent any resource on the server: use /{account}/{queue}/messages[/{id}].")
}

type metaXML map[string]string

func (m metaXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type queueXML struct {
	Name     string  `xml:"Name"`
	Metadata metaXML `xml:"Metadata,omitempty"`
}

type listXML struct {
	XMLName         xml.Name   `xml:"EnumerationResults"`
	ServiceEndpoint string     `xml:"ServiceEndpoint,attr"`
	Prefix          string     `xml:"Prefix,omitempty"`
	Marker          string     `xml:"Marker,omitempty"`
	MaxResults      int        `xml:"MaxResults,omitempty"`
	Queues          []queueXML `xml:"Queues>Queue"`
	NextMarker      string     `xml:"NextMarker"`
}

func (s *Service) serveList(w http.ResponseWriter, r *http.Request, account string, q url.Values) error {
	max := 5000
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return invalidParam("maxresults", v)
		}
		if n < 1 {
			return outOfRange("maxresults", v, 1, 5000)
		}
		max = min(n, 5000)
	}
	withMeta := false
	for _, inc := range strings.Split(q.Get("include"), ",") {
		withMeta = withMeta || strings.EqualFold(strings.TrimSpace(inc), "metadata")
	}
	qs, next := s.ListQueues(account, q.Get("prefix"), q.Get("marker"), max)
	out := listXML{ServiceEndpoint: "http://" + r.Host + "/" + account + "/", Prefix: q.Get("prefix"),
		Marker: q.Get("marker"), NextMarker: next}
	if q.Get("maxresults") != "" {
		out.MaxResults = max
	}
	for _, qi := range qs {
		x := queueXML{Name: qi.Name}
		if withMeta {
			x.Metadata = metaXML(qi.Metadata)
			if x.Metadata == nil {
				x.Metadata = metaXML{}
			}
		}
		out.Queues = append(out.Queues, x)
	}
	return wire.WriteXML(w, http.StatusOK, out)
}

func (s *Service) serveQueue(w http.ResponseWriter, r *http.Request, account, name string, q url.Values, allow func(byte, byte) error) error {
	comp := q.Get("comp")
	switch {
	case comp == "" && r.Method == http.MethodPut:
		if err := allow('c', 'c'); err != nil {
			return err
		}
		created, err := s.CreateQueue(r.Context(), account, name, wire.Metadata(r.Header))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Length", "0")
		if created {
			w.WriteHeader(http.StatusCreated)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
		return nil
	case comp == "" && r.Method == http.MethodDelete:
		if err := allow('d', 'c'); err != nil {
			return err
		}
		if err := s.DeleteQueue(r.Context(), account, name); err != nil {
			return err
		}
		return noContent(w)
	case comp == "metadata" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if err := allow('r', 'c'); err != nil {
			return err
		}
		info, err := s.GetQueue(r.Context(), account, name)
		if err != nil {
			return err
		}
		wire.SetMetadata(w.Header(), info.Metadata)
		w.Header().Set("x-ms-approximate-messages-count", strconv.Itoa(info.ApproximateMessages))
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	case comp == "metadata" && r.Method == http.MethodPut:
		if err := allow('w', 'c'); err != nil {
			return err
		}
		if err := s.SetMetadata(r.Context(), account, name, wire.Metadata(r.Header)); err != nil {
			return err
		}
		return noContent(w)
	case comp == "acl" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if err := allow('r', 'c'); err != nil {
			return err
		}
		qs, err := s.lookup(r.Context(), account, name)
		if err != nil {
			return err
		}
		return wire.WriteXML(w, http.StatusOK, aclXML{IDs: qs.rec.ACL})
	case comp == "acl" && r.Method == http.MethodPut:
		if err := allow('w', 'c'); err != nil {
			return err
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		acl, err := parseACL(body)
		if err != nil {
			return err
		}
		if err := s.updateQueue(r.Context(), account, name, func(rec *queueRec) { rec.ACL = acl }); err != nil {
			return err
		}
		return noContent(w)
	}
	return wire.ErrUnsupportedHTTPVerb
}

// msgXML is one message in a QueueMessagesList, in Azure's element order.
type msgXML struct {
	MessageID       string  `xml:"MessageId"`
	InsertionTime   string  `xml:"InsertionTime"`
	ExpirationTime  string  `xml:"ExpirationTime"`
	PopReceipt      string  `xml:"PopReceipt,omitempty"`
	TimeNextVisible string  `xml:"TimeNextVisible,omitempty"`
	DequeueCount    *int64  `xml:"DequeueCount,omitempty"`
	MessageText     *string `xml:"MessageText,omitempty"`
}

type msgListXML struct {
	XMLName xml.Name `xml:"QueueMessagesList"`
	Msgs    []msgXML `xml:"QueueMessage"`
}

// kind of message list: what Put, Get and Peek show.
const (
	showPut = iota
	showGet
	showPeek
)

func toXML(ms []Message, show int) msgListXML {
	out := msgListXML{Msgs: []msgXML{}}
	for _, m := range ms {
		x := msgXML{MessageID: m.ID, InsertionTime: wire.FormatTime(m.InsertionTime), ExpirationTime: wire.FormatTime(m.ExpirationTime)}
		if show != showPeek {
			x.PopReceipt, x.TimeNextVisible = m.PopReceipt, wire.FormatTime(m.NextVisible)
		}
		if show != showPut {
			dc, text := m.DequeueCount, m.Text
			x.DequeueCount, x.MessageText = &dc, &text
		}
		out.Msgs = append(out.Msgs, x)
	}
	return out
}

func (s *Service) serveMessages(w http.ResponseWriter, r *http.Request, account, queue string, q url.Values, allow func(byte, byte) error) error {
	ctx := r.Context()
	switch r.Method {
	case http.MethodPost:
		if err := allow('a', 'o'); err != nil {
			return err
		}
		vis, err := secondsParam(q, "visibilitytimeout", 0)
		if err != nil {
			return err
		}
		ttl, err := secondsParam(q, "messagettl", DefaultTTL)
		if err != nil {
			return err
		}
		if ttl == 0 {
			return outOfRange("messagettl", "0", -1, 1<<31-1)
		}
		if ttl < 0 {
			if q.Get("messagettl") != "-1" {
				return outOfRange("messagettl", q.Get("messagettl"), -1, 1<<31-1)
			}
			ttl = NeverExpires
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		text, err := ParseMessage(body)
		if err != nil {
			return err
		}
		m, err := s.Put(ctx, account, queue, text, vis, ttl)
		if err != nil {
			return err
		}
		return wire.WriteXML(w, http.StatusCreated, toXML([]Message{m}, showPut))
	case http.MethodGet, http.MethodHead:
		n := 1
		if v := q.Get("numofmessages"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				return invalidParam("numofmessages", v)
			}
		}
		if strings.EqualFold(q.Get("peekonly"), "true") {
			if err := allow('r', 'o'); err != nil {
				return err
			}
			ms, err := s.Peek(ctx, account, queue, n)
			if err != nil {
				return err
			}
			return wire.WriteXML(w, http.StatusOK, toXML(ms, showPeek))
		}
		if err := allow('p', 'o'); err != nil {
			return err
		}
		vis, err := secondsParam(q, "visibilitytimeout", DefaultVisibility)
		if err != nil {
			return err
		}
		ms, err := s.Get(ctx, account, queue, n, vis)
		if err != nil {
			return err
		}
		return wire.WriteXML(w, http.StatusOK, toXML(ms, showGet))
	case http.MethodDelete:
		if err := allow('d', 'o'); err != nil {
			return err
		}
		if err := s.Clear(ctx, account, queue); err != nil {
			return err
		}
		return noContent(w)
	}
	return wire.ErrUnsupportedHTTPVerb
}

func (s *Service) serveMessage(w http.ResponseWriter, r *http.Request, account, queue, id string, q url.Values, allow func(byte, byte) error) error {
	ctx := r.Context()
	pop := q.Get("popreceipt")
	switch r.Method {
	case http.MethodDelete:
		if err := allow('p', 'o'); err != nil {
			return err
		}
		if pop == "" {
			return missingParam("popreceipt")
		}
		if err := s.Delete(ctx, account, queue, id, pop); err != nil {
			return err
		}
		return noContent(w)
	case http.MethodPut:
		if err := allow('u', 'o'); err != nil {
			return err
		}
		if pop == "" {
			return missingParam("popreceipt")
		}
		if q.Get("visibilitytimeout") == "" {
			return missingParam("visibilitytimeout")
		}
		vis, err := secondsParam(q, "visibilitytimeout", 0)
		if err != nil {
			return err
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		var text *string
		if len(strings.TrimSpace(string(body))) > 0 {
			t, err := ParseMessage(body)
			if err != nil {
				return err
			}
			text = &t
		}
		m, err := s.Update(ctx, account, queue, id, pop, vis, text)
		if err != nil {
			return err
		}
		w.Header().Set("x-ms-popreceipt", m.PopReceipt)
		w.Header().Set("x-ms-time-next-visible", wire.FormatTime(m.NextVisible))
		return noContent(w)
	}
	return wire.ErrUnsupportedHTTPVerb
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func invalidParam(name, value string) error {
	return wire.ErrInvalidQueryParameterValue.With("QueryParameterName", name).With("QueryParameterValue", value)
}

func missingParam(name string) error {
	return wire.Errorf(http.StatusBadRequest, "MissingRequiredQueryParameter",
		"A query parameter that's mandatory for this request is not specified.").With("QueryParameterName", name)
}

// secondsParam reads a whole number of seconds (negative allowed; callers
// check ranges), or def when the parameter is absent.
func secondsParam(q url.Values, name string, def time.Duration) (time.Duration, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, invalidParam(name, v)
	}
	return time.Duration(n) * time.Second, nil
}

// readBody reads a request body of at most maxBody bytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, ErrMessageTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, wire.Errorf(http.StatusBadRequest, "InvalidInput", "The request body could not be read: %v.", err)
	}
	if len(b) > maxBody {
		return nil, ErrMessageTooLarge
	}
	return b, nil
}

// ParseMessage reads a Put or Update Message body,
// <QueueMessage><MessageText>...</MessageText></QueueMessage>, and returns
// the text. A text over MaxMessageSize bytes is ErrMessageTooLarge; a body
// that is not such a document is 400 InvalidXmlDocument.
func ParseMessage(body []byte) (string, error) {
	var m struct {
		XMLName xml.Name `xml:"QueueMessage"`
		Text    *string  `xml:"MessageText"`
	}
	if err := xml.Unmarshal(body, &m); err != nil {
		e := *wire.ErrInvalidXMLDocument
		e.Message = fmt.Sprintf("%s %v.", e.Message, err)
		return "", &e
	}
	if m.Text == nil {
		e := *wire.ErrInvalidXMLDocument
		e.Message += " The QueueMessage element has no MessageText."
		return "", &e
	}
	if len(*m.Text) > MaxMessageSize {
		return "", ErrMessageTooLarge
	}
	return *m.Text, nil
}

// Stored access policies (comp=acl).

type signedIdentifier struct {
	ID     string `xml:"Id" json:"id"`
	Policy struct {
		Start      string `xml:"Start,omitempty" json:"st,omitempty"`
		Expiry     string `xml:"Expiry,omitempty" json:"se,omitempty"`
		Permission string `xml:"Permission,omitempty" json:"sp,omitempty"`
	} `xml:"AccessPolicy" json:"p"`
}

type aclXML struct {
	XMLName xml.Name           `xml:"SignedIdentifiers"`
	IDs     []signedIdentifier `xml:"SignedIdentifier"`
}

func parseACL(body []byte) ([]signedIdentifier, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	var a aclXML
	if err := xml.Unmarshal(body, &a); err != nil {
		return nil, wire.ErrInvalidXMLDocument
	}
	if len(a.IDs) > 5 {
		return nil, wire.Errorf(http.StatusBadRequest, "InvalidXmlDocument", "A queue has at most 5 stored access policies.")
	}
	for _, id := range a.IDs {
		if id.ID == "" || len(id.ID) > 64 {
			return nil, wire.Errorf(http.StatusBadRequest, "InvalidXmlDocument", "A signed identifier's Id has 1 to 64 characters.")
		}
	}
	return a.IDs, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
