package docdb

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/docdb/account"
)

// maxClockSkew is how far x-ms-date may be from the server's clock, as in
// Cosmos DB: a signed request is good for 15 minutes.
const maxClockSkew = 15 * time.Minute

// authToken is a parsed Authorization header: type=master&ver=1.0&sig=...
type authToken struct {
	Type, Version, Sig string
}

// parseAuthToken reads the Authorization header, URL-encoded as the SDKs
// send it or not.
func parseAuthToken(h string) (authToken, error) {
	if strings.Contains(h, "%") {
		u, err := url.QueryUnescape(h)
		if err != nil {
			return authToken{}, err
		}
		h = u
	}
	var t authToken
	for part := range strings.SplitSeq(h, "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return authToken{}, fmt.Errorf("%q is not key=value", part)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			t.Type = strings.ToLower(v)
		case "ver":
			t.Version = v
		case "sig":
			// A '+' of the base64 signature may have become a space.
			t.Sig = strings.ReplaceAll(v, " ", "+")
		}
	}
	if t.Type == "" || t.Sig == "" {
		return authToken{}, errors.New("type or sig is missing")
	}
	return t, nil
}

// Signature computes a master-key signature as Cosmos DB does: the
// base64 HMAC-SHA256, keyed with the decoded account key, of
// "verb\nresourceType\nresourceLink\ndate\n\n" with the verb, resource
// type and date in lower case. The resource link keeps its case.
func Signature(key, verb, resourceType, resourceLink, date string) (string, error) {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", fmt.Errorf("docdb: account key is not base64: %w", err)
	}
	h := hmac.New(sha256.New, k)
	h.Write([]byte(strings.ToLower(verb) + "\n" + strings.ToLower(resourceType) + "\n" + resourceLink + "\n" + strings.ToLower(date) + "\n\n"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// AuthHeader is the Authorization header of a request signed with key.
func AuthHeader(key, verb, resourceType, resourceLink, date string) (string, error) {
	sig, err := Signature(key, verb, resourceType, resourceLink, date)
	if err != nil {
		return "", err
	}
	return url.QueryEscape("type=master&ver=1.0&sig=" + sig), nil
}

const msgBadToken = "The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol. For more info: https://aka.ms/cosmosdb-tsg-unauthorized. Server used the following payload to sign: '%s'"

func unauthorized(format string, args ...any) *Error {
	return newError(http.StatusUnauthorized, codeUnauthorized, format, args...)
}

// readOnlyAllowed reports whether a request may be served with a read-only
// key: reads and queries.
func readOnlyAllowed(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		return strings.EqualFold(r.Header.Get("x-ms-documentdb-isquery"), "true") ||
			strings.HasPrefix(r.Header.Get("Content-Type"), "application/query+json")
	}
	return false
}

// authenticate checks a request's master-key signature against the
// account's keys. resourceType and resourceLink are what the request
// addresses, as the signature covers them.
func (s *Service) authenticate(q *request, resourceType, resourceLink string) error {
	r := q.r
	// The account first: a host that names none is 404 whatever the request.
	if s.keys == nil && q.acct != account.EmulatorAccount {
		return noAccount(q.acct)
	}
	rw, ro := []string{account.EmulatorKey}, []string(nil)
	if q.acct != account.EmulatorAccount {
		var err error
		rw, ro, err = s.keys.Keys(q.ctx, q.acct)
		switch {
		case errors.Is(err, account.ErrNoAccount):
			return noAccount(q.acct)
		case errors.Is(err, account.ErrLocalAuthDisabled):
			return unauthorized("Local Authorization is disabled. Use an AAD token to authorize all requests.")
		case err != nil:
			return err
		}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return unauthorized("Required Header authorization is missing. Ensure a valid Authorization token is passed.")
	}
	tok, err := parseAuthToken(h)
	if err != nil {
		return unauthorized("The authorization token is not valid: %v. Send type=master&ver=1.0&sig=<signature>, URL-encoded.", err)
	}
	switch tok.Type {
	case "master":
	case "resource":
		return unauthorized("Resource tokens (type=resource) are not supported by Lapis: sign requests with the account key (type=master).")
	case "aad":
		return unauthorized("Microsoft Entra ID tokens (type=aad) are not supported by Lapis: sign requests with the account key (type=master).")
	default:
		return unauthorized("The authorization type '%s' is not valid: use type=master.", tok.Type)
	}
	date := r.Header.Get("x-ms-date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	t, err := parseHTTPTime(date)
	if err != nil {
		return unauthorized("The input date header is invalid format. Please pass in RFC 1123 style date format.")
	}
	now := s.now()
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return newError(http.StatusForbidden, codeForbidden,
			"The authorization token is not valid at the current time. Please create another token and retry (token start time: %s, token expiry time: %s, current server time: %s).",
			t.UTC().Format(http.TimeFormat), t.Add(maxClockSkew).UTC().Format(http.TimeFormat), now.UTC().Format(http.TimeFormat))
	}
	keys := rw
	if readOnlyAllowed(r) {
		keys = append(append([]string(nil), rw...), ro...)
	}
	for _, k := range keys {
		want, err := Signature(k, r.Method, resourceType, resourceLink, date)
		if err != nil {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(tok.Sig)) == 1 {
			return nil
		}
	}
	payload := strings.ToLower(r.Method) + "\n" + strings.ToLower(resourceType) + "\n" + resourceLink + "\n" + strings.ToLower(date) + "\n\n"
	return unauthorized(msgBadToken, strings.ReplaceAll(payload, "\n", `\n`))
}

func noAccount(acct string) *Error {
	return newError(http.StatusNotFound, codeNotFound,
		"The database account '%s' does not exist. Create it with: lapis cosmosdb create -g <group> -n %s (or use the emulator account at http://localhost:<port>/).", acct, acct)
}
