package blob

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/storage/wire"
)

// etagClock issues ETags in Azure's form, "0x" and the upper-case hex of a
// FILETIME (100 ns ticks since 1601), strictly increasing in the process.
type etagClock struct {
	mu   sync.Mutex
	last uint64
}

// filetimeEpoch is 1601-01-01 in Unix seconds.
const filetimeEpoch = -11644473600

func (c *etagClock) next(now time.Time) string {
	t := uint64((now.Unix()-filetimeEpoch)*10_000_000 + int64(now.Nanosecond()/100))
	c.mu.Lock()
	if t <= c.last {
		t = c.last + 1
	}
	c.last = t
	c.mu.Unlock()
	return `"0x` + strings.ToUpper(hexU64(t)) + `"`
}

func hexU64(v uint64) string {
	const digits = "0123456789ABCDEF"
	if v == 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[i:])
}

// conditions are a request's conditional headers.
type conditions struct {
	IfMatch, IfNoneMatch               string
	IfModifiedSince, IfUnmodifiedSince time.Time
}

func readConditions(r *http.Request) (conditions, error) {
	c := conditions{IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match")}
	for _, h := range []struct {
		name string
		dst  *time.Time
	}{{"If-Modified-Since", &c.IfModifiedSince}, {"If-Unmodified-Since", &c.IfUnmodifiedSince}} {
		if v := r.Header.Get(h.name); v != "" {
			t, err := http.ParseTime(v)
			if err != nil {
				return c, wire.ErrInvalidHeaderValue.With("HeaderName", h.name).With("HeaderValue", v)
			}
			*h.dst = t
		}
	}
	return c, nil
}

func (c conditions) any() bool {
	return c.IfMatch != "" || c.IfNoneMatch != "" || !c.IfModifiedSince.IsZero() || !c.IfUnmodifiedSince.IsZero()
}

// etagIn reports whether etag is in the list (or the list is "*").
func etagIn(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || e == etag || strings.Trim(e, `"`) == strings.Trim(etag, `"`) && e != "" {
			return true
		}
	}
	return false
}

var errConditionNotMet = &wire.Error{Status: http.StatusPreconditionFailed, Code: "ConditionNotMet",
	Message: "The condition specified using HTTP conditional header(s) is not met."}

var errNotModified = &wire.Error{Status: http.StatusNotModified, Code: "ConditionNotMet",
	Message: "The condition specified using HTTP conditional header(s) is not met."}

var errBlobAlreadyExists = &wire.Error{Status: http.StatusConflict, Code: "BlobAlreadyExists",
	Message: "The specified blob already exists."}

// check evaluates the conditions against a resource that exists (etag and
// modified set) or not (exists false). read selects GET/HEAD semantics:
// If-None-Match and If-Modified-Since failures answer 304 Not Modified.
func (c conditions) check(exists bool, etag string, modified time.Time, read bool) error {
	modified = modified.Truncate(time.Second)
	if c.IfMatch != "" {
		if !exists || !etagIn(c.IfMatch, etag) {
			return errConditionNotMet
		}
	}
	if !c.IfUnmodifiedSince.IsZero() && exists && modified.After(c.IfUnmodifiedSince) {
		return errConditionNotMet
	}
	if c.IfNoneMatch != "" && exists && etagIn(c.IfNoneMatch, etag) {
		if read {
			return errNotModified
		}
		if strings.TrimSpace(c.IfNoneMatch) == "*" {
			return errBlobAlreadyExists
		}
		return errConditionNotMet
	}
	if !c.IfModifiedSince.IsZero() && exists && !modified.After(c.IfModifiedSince) {
		if read {
			return errNotModified
		}
		return errConditionNotMet
	}
	return nil
}
