package wire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is the x-ms-version Lapis answers with when a request names none.
const Version = "2026-02-06"

// TimeFormat is the RFC 1123 form Azure Storage uses in headers and XML.
const TimeFormat = http.TimeFormat

// FormatTime formats t in TimeFormat (always GMT).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Error is an Azure Storage error: a status, an error code (sent as
// x-ms-error-code and in the XML body) and a message. Extra elements, such
// as QueryParameterName or HeaderName, are added to the body.
type Error struct {
	Status  int
	Code    string
	Message string
	Extra   [][2]string
}

// Errorf makes an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// With adds an extra element (e.g. "HeaderName", "x-ms-blob-type") to the body.
func (e *Error) With(name, value string) *Error {
	c := *e
	c.Extra = append(append([][2]string(nil), e.Extra...), [2]string{name, value})
	return &c
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Common errors, worded as Azure Storage words them.
var (
	ErrAuthenticationFailed = &Error{Status: http.StatusForbidden, Code: "AuthenticationFailed",
		Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."}
	ErrAuthorizationPermissionMismatch = &Error{Status: http.StatusForbidden, Code: "AuthorizationPermissionMismatch",
		Message: "This request is not authorized to perform this operation using this permission."}
	ErrAuthorizationResourceTypeMismatch = &Error{Status: http.StatusForbidden, Code: "AuthorizationResourceTypeMismatch",
		Message: "This request is not authorized to perform this operation using this resource type."}
	ErrAuthorizationServiceMismatch = &Error{Status: http.StatusForbidden, Code: "AuthorizationServiceMismatch",
		Message: "This request is not authorized to perform this operation using this service."}
	ErrNoAuthenticationInformation = &Error{Status: http.StatusUnauthorized, Code: "NoAuthenticationInformation",
		Message: "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."}
	ErrResourceNotFound           = &Error{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: "The specified resource does not exist."}
	ErrInvalidQueryParameterValue = &Error{Status: http.StatusBadRequest, Code: "InvalidQueryParameterValue",
		Message: "Value for one of the query parameters specified in the request URI is invalid."}
	ErrInvalidHeaderValue = &Error{Status: http.StatusBadRequest, Code: "InvalidHeaderValue",
		Message: "The value for one of the HTTP headers is not in the correct format."}
	ErrMissingRequiredHeader = &Error{Status: http.StatusBadRequest, Code: "MissingRequiredHeader",
		Message: "An HTTP header that's mandatory for this request is not specified."}
	ErrInvalidXMLDocument = &Error{Status: http.StatusBadRequest, Code: "InvalidXmlDocument", Message: "XML specified is not syntactically valid."}
	ErrInternal           = &Error{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "The server encountered an internal error. Please retry the request."}
	ErrUnsupportedHTTPVerb = &Error{Status: http.StatusMethodNotAllowed, Code: "UnsupportedHttpVerb",
		Message: "The resource doesn't support the specified HTTP verb."}
)

// AsError returns err as an *Error; anything else is 500 InternalError.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrInternal
}

// Begin sets the headers every answer carries and returns the request id.
// Call it first in every handler.
func Begin(w http.ResponseWriter, r *http.Request) string {
	id := uuid.NewString()
	h := w.Header()
	h.Set("x-ms-request-id", id)
	v := r.Header.Get("x-ms-version")
	if v == "" {
		v = Version
	}
	h.Set("x-ms-version", v)
	h.Set("Date", FormatTime(time.Now()))
	h.Set("Server", "Lapis")
	if c := r.Header.Get("x-ms-client-request-id"); c != "" {
		h.Set("x-ms-client-request-id", c)
	}
	return id
}

type errorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Extra   []extra
}

type extra struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// WriteError answers with err as Azure Storage does: the status, the
// x-ms-error-code header and (except for HEAD) the XML error body, whose
// message ends with the request id and time.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	h := w.Header()
	h.Set("x-ms-error-code", e.Code)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body := errorBody{Code: e.Code, Message: fmt.Sprintf("%s\nRequestId:%s\nTime:%s", e.Message,
		h.Get("x-ms-request-id"), time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))}
	for _, x := range e.Extra {
		body.Extra = append(body.Extra, extra{XMLName: xml.Name{Local: x[0]}, Value: x[1]})
	}
	b, _ := xml.Marshal(body)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// WriteXML answers with status and v as an XML document.
func WriteXML(w http.ResponseWriter, status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", fmt.Sprint(len(xml.Header)+len(b)))
	w.WriteHeader(status)
	if _, err := w.Write([]byte(xml.Header)); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Path is a parsed path-style request path: /{account}[/{container}[/{blob...}]].
// For the Queue service Container is the queue name and Blob holds what
// follows it ("messages" or "messages/{id}").
type Path struct {
	Account   string
	Container string
	Blob      string
}

// ParsePath splits a path-style URL path. The blob name keeps its slashes
// and is unescaped.
func ParsePath(u *url.URL) (Path, error) {
	p := strings.TrimPrefix(u.Path, "/")
	var out Path
	parts := strings.SplitN(p, "/", 3)
	out.Account = parts[0]
	if len(parts) > 1 {
		out.Container = parts[1]
	}
	if len(parts) > 2 {
		out.Blob = parts[2]
	}
	if out.Account == "" {
		return Path{}, Errorf(http.StatusBadRequest, "InvalidUri", "The requested URI does not represent any resource on the server: the path must start with the account name.")
	}
	return out, nil
}

// Metadata reads x-ms-meta-* headers into a map keyed by the lower-cased
// name after the prefix, as Azure stores them.
func Metadata(h http.Header) map[string]string {
	var m map[string]string
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-ms-meta-") && len(lk) > len("x-ms-meta-") {
			if m == nil {
				m = map[string]string{}
			}
			m[lk[len("x-ms-meta-"):]] = strings.Join(v, ",")
		}
	}
	return m
}

// SetMetadata writes metadata as x-ms-meta-* headers.
func SetMetadata(h http.Header, m map[string]string) {
	for k, v := range m {
		h["x-ms-meta-"+k] = []string{v}
	}
}
