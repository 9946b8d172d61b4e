package eventgrid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"
)

// SAS tokens (reference §2.1): "r={urlenc resource}&e={urlenc expiry}&s={urlenc sig}"
// where sig = base64(HMAC-SHA256(base64decode(key), "r={urlenc resource}&e={urlenc expiry}")).
// The resource is the topic's endpoint URL; the expiry is in UTC, written as
// .NET's en-US DateTime.ToString ("6/15/2017 6:20:15 PM") or ISO 8601.

// sasTimeLayout is .NET's en-US general date/time format, which Azure's
// sample uses for the expiry.
const sasTimeLayout = "1/2/2006 3:04:05 PM"

// sasTimeLayouts are the expiry formats VerifySAS accepts, tried in order.
// Times without a zone are UTC.
var sasTimeLayouts = []string{sasTimeLayout, time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"}

// GenerateSAS returns a SAS token for the resource (a topic's endpoint URL)
// valid until expiry, signed with key (a topic key, base64), as Azure's
// samples build it.
func GenerateSAS(resource string, expiry time.Time, key string) (string, error) {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", errors.New("eventgrid: the key is not base64")
	}
	unsigned := "r=" + url.QueryEscape(resource) + "&e=" + url.QueryEscape(expiry.UTC().Format(sasTimeLayout))
	return unsigned + "&s=" + url.QueryEscape(sign(k, unsigned)), nil
}

func sign(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SAS is a parsed SAS token.
type SAS struct {
	// Resource and Expiry are the decoded r and e.
	Resource string
	Expiry   time.Time
	// signed is the text the signature covers; sig the decoded signature.
	signed string
	sig    []byte
}

// Errors of SAS tokens.
var (
	// ErrSASFormat: the token is not r=...&e=...&s=... with a parsable
	// expiry and a base64 signature.
	ErrSASFormat = errors.New("eventgrid: malformed SAS token")
	// ErrSASSignature: no key signs the token.
	ErrSASSignature = errors.New("eventgrid: SAS token signature does not match")
	// ErrSASExpired: the token's expiry has passed.
	ErrSASExpired = errors.New("eventgrid: SAS token expired")
)

// ParseSAS reads a token. The signature covers r and e exactly as the
// token writes them (still URL-encoded), so the verifier does not depend on
// how the client encoded them.
func ParseSAS(token string) (*SAS, error) {
	token = strings.TrimSpace(token)
	var r, e, s string
	var haveR, haveE, haveS bool
	for part := range strings.SplitSeq(token, "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, ErrSASFormat
		}
		switch k {
		case "r":
			r, haveR = v, true
		case "e":
			e, haveE = v, true
		case "s":
			s, haveS = v, true
		}
	}
	if !haveR || !haveE || !haveS || r == "" || e == "" || s == "" {
		return nil, ErrSASFormat
	}
	res, err := url.QueryUnescape(r)
	if err != nil {
		return nil, ErrSASFormat
	}
	exp, err := url.QueryUnescape(e)
	if err != nil {
		return nil, ErrSASFormat
	}
	expiry, ok := parseExpiry(exp)
	if !ok {
		return nil, ErrSASFormat
	}
	// PathUnescape keeps a literal '+' of an unencoded base64 signature.
	sigText, err := url.PathUnescape(s)
	if err != nil {
		return nil, ErrSASFormat
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return nil, ErrSASFormat
	}
	return &SAS{Resource: res, Expiry: expiry, signed: "r=" + r + "&e=" + e, sig: sig}, nil
}

func parseExpiry(s string) (time.Time, bool) {
	for _, l := range sasTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Verify checks that one of the keys (base64) signs the token and that it
// has not expired at now.
func (t *SAS) Verify(keys []string, now time.Time) error {
	signed := false
	for _, key := range keys {
		k, err := base64.StdEncoding.DecodeString(key)
		if err != nil || key == "" {
			continue
		}
		m := hmac.New(sha256.New, k)
		m.Write([]byte(t.signed))
		if hmac.Equal(m.Sum(nil), t.sig) {
			signed = true
			break
		}
	}
	if !signed {
		return ErrSASSignature
	}
	if !now.Before(t.Expiry) {
		return ErrSASExpired
	}
	return nil
}

// VerifySAS parses a token and verifies it with the keys at now.
func VerifySAS(token string, keys []string, now time.Time) (*SAS, error) {
	t, err := ParseSAS(token)
	if err != nil {
		return nil, err
	}
	return t, t.Verify(keys, now)
}
