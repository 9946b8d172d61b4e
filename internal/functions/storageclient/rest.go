package storageclient

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/connstr"
)

// APIVersion is the x-ms-version the REST client sends: one that Azure, Azurite and Lapis all serve.
const APIVersion = "2021-12-02"

// Defaults of RESTOptions.
const (
	DefaultMinPollInterval  = 100 * time.Millisecond
	DefaultMaxPollInterval  = time.Minute
	DefaultBlobPollInterval = 2 * time.Second
)

// RESTOptions configure the REST client.
type RESTOptions struct {
	// HTTPClient sends the requests; nil means a client of its own (no overall timeout: every call has a context).
	HTTPClient *http.Client
	// MinPollInterval is ReceiveMessages' first wait after an empty answer (default 100 ms, Azure's minimum);
	// it doubles, with jitter, up to the call's maxWait (default DefaultMaxPollInterval).
	MinPollInterval time.Duration
	// BlobPollInterval is how often BlobEvents lists the container (default 2 s).
	BlobPollInterval time.Duration
	// Development is what UseDevelopmentStorage=true stands for (zero: Azurite's 127.0.0.1:10000 and :10001).
	Development connstr.Dev
}

// REST is the Provider that reaches any Azure-compatible endpoint (Azure, Azurite, another Lapis) over the
// Blob and Queue REST APIs, signing requests with SharedKey (or appending the connection string's SAS).
type REST struct {
	opts RESTOptions
	hc   *http.Client
}

var _ Provider = (*REST)(nil)

// NewREST makes a REST provider.
func NewREST(opts RESTOptions) *REST {
	if opts.MinPollInterval <= 0 {
		opts.MinPollInterval = DefaultMinPollInterval
	}
	if opts.BlobPollInterval <= 0 {
		opts.BlobPollInterval = DefaultBlobPollInterval
	}
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	return &REST{opts: opts, hc: hc}
}

// Account implements Provider: it parses the connection string; nothing is sent until an operation.
func (p *REST) Account(_ context.Context, connection string) (Account, error) {
	cs, err := parse(connection, p.opts.Development)
	if err != nil {
		return nil, err
	}
	return p.open(cs)
}

// parse reads a connection string into a ConnectionError-wrapped result.
func parse(connection string, dev connstr.Dev) (connstr.Parsed, error) {
	if strings.TrimSpace(connection) == "" {
		return connstr.Parsed{}, &ConnectionError{Msg: "the connection string is empty"}
	}
	cs, err := connstr.Parse(connection, dev)
	if err != nil {
		return connstr.Parsed{}, &ConnectionError{Msg: strings.TrimPrefix(err.Error(), "connection string: ")}
	}
	return cs, nil
}

func (p *REST) open(cs connstr.Parsed) (*restAccount, error) {
	a := &restAccount{name: cs.AccountName, hc: p.hc, opts: p.opts}
	if cs.AccountKey != "" {
		key, err := base64.StdEncoding.DecodeString(cs.AccountKey)
		if err != nil || len(key) == 0 {
			return nil, &ConnectionError{Account: cs.AccountName, Msg: "AccountKey is not base64 (copy it again from the account's keys)"}
		}
		a.key = key
	} else {
		sas, err := url.ParseQuery(strings.TrimPrefix(cs.SAS, "?"))
		if err != nil || sas.Get("sig") == "" {
			return nil, &ConnectionError{Account: cs.AccountName, Msg: "SharedAccessSignature is not a SAS query string (sv=...&sig=...)"}
		}
		a.sas = sas
	}
	for _, e := range []struct {
		raw string
		dst **url.URL
		svc string
	}{{cs.BlobEndpoint, &a.blob, "BlobEndpoint"}, {cs.QueueEndpoint, &a.queue, "QueueEndpoint"}} {
		if e.raw == "" {
			continue
		}
		u, err := url.Parse(strings.TrimRight(e.raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ConnectionError{Account: cs.AccountName, Msg: fmt.Sprintf("%s %q is not an http(s) URL", e.svc, e.raw)}
		}
		u.RawQuery, u.Fragment = "", ""
		*e.dst = u
	}
	if a.name == "" {
		// A SAS string with endpoints only: the account is the first label of the host, or the first path
		// segment of a path-style (emulator) URL.
		for _, u := range []*url.URL{a.queue, a.blob} {
			if u != nil {
				a.name = accountFromURL(u)
				break
			}
		}
	}
	return a, nil
}

func accountFromURL(u *url.URL) string {
	if p := strings.Trim(u.Path, "/"); p != "" {
		first, _, _ := strings.Cut(p, "/")
		return first
	}
	first, _, _ := strings.Cut(u.Hostname(), ".")
	return first
}

// restAccount is an account reached over HTTP.
type restAccount struct {
	name        string
	key         []byte     // nil when the connection string has a SAS instead
	sas         url.Values // the SAS query, when no key
	blob, queue *url.URL   // endpoints; nil when the connection string has none
	hc          *http.Client
	opts        RESTOptions
}

func (a *restAccount) Name() string { return a.name }

// escapeSegments escapes each '/'-separated part of p for a URL path.
func escapeSegments(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// call sends one request to base/path and returns the response with its whole body. A status of 300 or more is
// an *Error.
func (a *restAccount) call(ctx context.Context, op, target, method string, base *url.URL, path string, q url.Values, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	if base == nil {
		svc := "QueueEndpoint"
		if strings.Contains(op, "Blob") || strings.Contains(op, "Container") {
			svc = "BlobEndpoint"
		}
		return nil, nil, &ConnectionError{Account: a.name, Msg: fmt.Sprintf("%s: the connection string has no %s", op, svc)}
	}
	u := *base
	if path != "" {
		u.Path = strings.TrimRight(base.Path, "/") + "/" + path
		u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + "/" + escapeSegments(path)
	}
	if q == nil {
		q = url.Values{}
	}
	for k, v := range a.sas {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %s %s: %w", op, target, err)
	}
	// http.NewRequest re-parses the URL; keep the escaping we chose, which is what is signed.
	req.URL.Path, req.URL.RawPath = u.Path, u.RawPath
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", APIVersion)
	if a.key != nil {
		toSign := auth.StringToSign(req, a.name, strings.Compare)
		mac := hmac.New(sha256.New, a.key)
		mac.Write([]byte(toSign))
		req.Header.Set("Authorization", "SharedKey "+a.name+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %s %s: %w", op, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %s %s: reading the answer: %w", op, target, err)
	}
	if resp.StatusCode >= 300 {
		return resp, b, responseError(op, target, resp, b)
	}
	return resp, b, nil
}

func responseError(op, target string, resp *http.Response, body []byte) *Error {
	e := &Error{Op: op, Target: target, Status: resp.StatusCode, Code: resp.Header.Get("x-ms-error-code")}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		if e.Code == "" {
			e.Code = x.Code
		}
		e.Message = strings.TrimSpace(strings.SplitN(x.Message, "\n", 2)[0])
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// Queues.

func (a *restAccount) CreateQueue(ctx context.Context, queue string) error {
	_, _, err := a.call(ctx, "CreateQueue", "queue "+queue, http.MethodPut, a.queue, queue, nil, nil, nil)
	var e *Error
	if errors.As(err, &e) && e.Code == "QueueAlreadyExists" {
		return nil // it exists, with other metadata
	}
	return err
}

type xmlMessage struct {
	ID              string `xml:"MessageId"`
	InsertionTime   string `xml:"InsertionTime"`
	ExpirationTime  string `xml:"ExpirationTime"`
	PopReceipt      string `xml:"PopReceipt"`
	TimeNextVisible string `xml:"TimeNextVisible"`
	DequeueCount    int64  `xml:"DequeueCount"`
	MessageText     string `xml:"MessageText"`
}

func (x *xmlMessage) message() Message {
	t := func(s string) time.Time {
		v, _ := http.ParseTime(s)
		return v.UTC()
	}
	return Message{ID: x.ID, PopReceipt: x.PopReceipt, Text: x.MessageText, DequeueCount: x.DequeueCount,
		InsertionTime: t(x.InsertionTime), ExpirationTime: t(x.ExpirationTime), NextVisibleTime: t(x.TimeNextVisible)}
}

func decodeMessages(op, queue string, body []byte) ([]Message, error) {
	var l struct {
		Msgs []xmlMessage `xml:"QueueMessage"`
	}
	if err := xml.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("storage: %s queue %s: the answer is not a QueueMessagesList: %w", op, queue, err)
	}
	out := make([]Message, len(l.Msgs))
	for i := range l.Msgs {
		out[i] = l.Msgs[i].message()
	}
	return out, nil
}

func (a *restAccount) PutMessage(ctx context.Context, queue, text string, visibility, ttl time.Duration) (Message, error) {
	var b bytes.Buffer
	b.WriteString("<QueueMessage><MessageText>")
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString("</MessageText></QueueMessage>")
	q := url.Values{}
	if visibility > 0 {
		q.Set("visibilitytimeout", secs(visibility))
	}
	switch {
	case ttl < 0:
		q.Set("messagettl", "-1")
	case ttl > 0:
		q.Set("messagettl", secs(ttl))
	}
	_, body, err := a.call(ctx, "PutMessage", "queue "+queue, http.MethodPost, a.queue, queue+"/messages", q, http.Header{"Content-Type": {"application/xml"}}, b.Bytes())
	if err != nil {
		return Message{}, err
	}
	ms, err := decodeMessages("PutMessage", queue, body)
	if err != nil {
		return Message{}, err
	}
	if len(ms) != 1 {
		return Message{}, fmt.Errorf("storage: PutMessage queue %s: the answer lists %d messages, not 1", queue, len(ms))
	}
	ms[0].Text = text
	return ms[0], nil
}

// getMessages is one Get Messages request.
func (a *restAccount) getMessages(ctx context.Context, queue string, n int, visibility time.Duration) ([]Message, error) {
	q := url.Values{"numofmessages": {strconv.Itoa(n)}, "visibilitytimeout": {secs(visibility)}}
	_, body, err := a.call(ctx, "ReceiveMessages", "queue "+queue, http.MethodGet, a.queue, queue+"/messages", q, nil, nil)
	if err != nil {
		return nil, err
	}
	return decodeMessages("ReceiveMessages", queue, body)
}

// clampReceive brings n and visibility into Get Messages' ranges.
func clampReceive(n int, visibility time.Duration) (int, time.Duration) {
	n = min(max(n, 1), 32)
	visibility = min(max(visibility, time.Second), 7*24*time.Hour)
	return n, visibility
}

// ReceiveMessages polls: after an empty answer it waits MinPollInterval, doubling (with ±20 % jitter) up to
// maxWait, as the Functions host's queue listener backs off up to maxPollingInterval. Errors are returned at once.
func (a *restAccount) ReceiveMessages(ctx context.Context, queue string, n int, visibility, maxWait time.Duration) ([]Message, error) {
	n, visibility = clampReceive(n, visibility)
	if maxWait <= 0 {
		maxWait = DefaultMaxPollInterval
	}
	delay := min(a.opts.MinPollInterval, maxWait)
	for {
		ms, err := a.getMessages(ctx, queue, n, visibility)
		if err != nil || len(ms) > 0 {
			return ms, err
		}
		d := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(min(d, maxWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, maxWait)
	}
}

func (a *restAccount) DeleteMessage(ctx context.Context, queue, id, popReceipt string) error {
	_, _, err := a.call(ctx, "DeleteMessage", "queue "+queue, http.MethodDelete, a.queue, queue+"/messages/"+id,
		url.Values{"popreceipt": {popReceipt}}, nil, nil)
	return err
}

func (a *restAccount) UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (string, error) {
	resp, _, err := a.call(ctx, "UpdateVisibility", "queue "+queue, http.MethodPut, a.queue, queue+"/messages/"+id,
		url.Values{"popreceipt": {popReceipt}, "visibilitytimeout": {secs(max(visibility, 0))}}, nil, nil)
	if err != nil {
		return "", err
	}
	return resp.Header.Get("x-ms-popreceipt"), nil
}

// Blobs.

func (a *restAccount) CreateContainer(ctx context.Context, container string) error {
	_, _, err := a.call(ctx, "CreateContainer", "container "+container, http.MethodPut, a.blob, container,
		url.Values{"restype": {"container"}}, nil, nil)
	var e *Error
	if errors.As(err, &e) && e.Code == "ContainerAlreadyExists" {
		return nil
	}
	return err
}

func blobProperties(h http.Header, length int64) BlobProperties {
	p := BlobProperties{Length: length, ContentType: h.Get("Content-Type"), ETag: h.Get("ETag")}
	p.LastModified, _ = http.ParseTime(h.Get("Last-Modified"))
	p.Created, _ = http.ParseTime(h.Get("x-ms-creation-time"))
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-ms-meta-") && len(lk) > len("x-ms-meta-") {
			if p.Metadata == nil {
				p.Metadata = map[string]string{}
			}
			p.Metadata[lk[len("x-ms-meta-"):]] = strings.Join(v, ",")
		}
	}
	return p
}

func (a *restAccount) ReadBlob(ctx context.Context, container, name string) ([]byte, BlobProperties, error) {
	resp, body, err := a.call(ctx, "ReadBlob", "blob "+container+"/"+name, http.MethodGet, a.blob, container+"/"+name, nil, nil, nil)
	if err != nil {
		return nil, BlobProperties{}, err
	}
	return body, blobProperties(resp.Header, int64(len(body))), nil
}

func (a *restAccount) WriteBlob(ctx context.Context, container, name string, data []byte, contentType string) error {
	h := http.Header{"x-ms-blob-type": {"BlockBlob"}}
	if contentType != "" {
		h["x-ms-blob-content-type"] = []string{contentType}
	}
	if data == nil {
		data = []byte{}
	}
	_, _, err := a.call(ctx, "WriteBlob", "blob "+container+"/"+name, http.MethodPut, a.blob, container+"/"+name, nil, h, data)
	return err
}

func (a *restAccount) BlobURL(container, name string) string {
	if a.blob == nil {
		return ""
	}
	return strings.TrimRight(a.blob.String(), "/") + "/" + url.PathEscape(container) + "/" + escapeSegments(name)
}

type xmlMetadata map[string]string

func (m *xmlMetadata) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*m = xmlMetadata{}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var v string
			if err := d.DecodeElement(&v, &t); err != nil {
				return err
			}
			(*m)[strings.ToLower(t.Name.Local)] = v
		case xml.EndElement:
			return nil
		}
	}
}

type xmlBlobList struct {
	Blobs []struct {
		Name       string `xml:"Name"`
		Properties struct {
			Created       string `xml:"Creation-Time"`
			LastModified  string `xml:"Last-Modified"`
			ETag          string `xml:"Etag"`
			ContentLength int64  `xml:"Content-Length"`
			ContentType   string `xml:"Content-Type"`
		} `xml:"Properties"`
		Metadata xmlMetadata `xml:"Metadata"`
	} `xml:"Blobs>Blob"`
	NextMarker string `xml:"NextMarker"`
}

func (a *restAccount) ListBlobs(ctx context.Context, container, prefix string) ([]BlobItem, error) {
	var out []BlobItem
	marker := ""
	for {
		q := url.Values{"restype": {"container"}, "comp": {"list"}, "include": {"metadata"}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		if marker != "" {
			q.Set("marker", marker)
		}
		_, body, err := a.call(ctx, "ListBlobs", "container "+container, http.MethodGet, a.blob, container, q, nil, nil)
		if err != nil {
			return nil, err
		}
		var l xmlBlobList
		if err := xml.Unmarshal(body, &l); err != nil {
			return nil, fmt.Errorf("storage: ListBlobs container %s: the answer is not EnumerationResults: %w", container, err)
		}
		for _, b := range l.Blobs {
			p := BlobProperties{Length: b.Properties.ContentLength, ContentType: b.Properties.ContentType, ETag: b.Properties.ETag}
			p.LastModified, _ = http.ParseTime(b.Properties.LastModified)
			p.Created, _ = http.ParseTime(b.Properties.Created)
			if len(b.Metadata) > 0 {
				p.Metadata = b.Metadata
			}
			out = append(out, BlobItem{Container: container, Name: b.Name, Properties: p})
		}
		if l.NextMarker == "" {
			return out, nil
		}
		marker = l.NextMarker
	}
}

// BlobEvents polls the listing every BlobPollInterval and delivers each blob whose ETag is new since the
// previous listing (the first listing, taken before it returns, is the baseline: blobs already there are not
// delivered). A blob deleted and created again is delivered again. A missing container counts as empty.
func (a *restAccount) BlobEvents(ctx context.Context, container string) (<-chan BlobItem, error) {
	seen := map[string]string{}
	items, err := a.ListBlobs(ctx, container, "")
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for _, it := range items {
		seen[it.Name] = it.Properties.ETag
	}
	ch := make(chan BlobItem, 16)
	go func() {
		defer close(ch)
		t := time.NewTicker(a.opts.BlobPollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			items, err := a.ListBlobs(ctx, container, "")
			if err != nil && !errors.Is(err, ErrNotFound) {
				continue // try again next tick
			}
			now := make(map[string]string, len(items))
			for _, it := range items {
				now[it.Name] = it.Properties.ETag
				if seen[it.Name] == it.Properties.ETag {
					continue
				}
				select {
				case ch <- it:
				case <-ctx.Done():
					return
				}
			}
			seen = now
		}
	}()
	return ch, nil
}
