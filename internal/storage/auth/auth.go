package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	accountpkg "github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/wire"
)

// Service names a storage service.
type Service byte

// The services, by the letter account SAS uses for them.
const (
	Blob  Service = 'b'
	Queue Service = 'q'
)

// KeyStore gives an account's keys (base64, key1 first). account.Directory
// implements it; an unknown account is an error.
type KeyStore interface {
	Keys(ctx context.Context, account string) ([]string, error)
}

// Kind is how a request proved who it is.
type Kind int

// The kinds of credential.
const (
	Anonymous Kind = iota
	SharedKey
	SharedKeyLite
	AccountSAS
	ServiceSAS
)

func (k Kind) String() string {
	return [...]string{"anonymous", "SharedKey", "SharedKeyLite", "account SAS", "service SAS"}[k]
}

// Grant is what a request may do after Authenticate.
type Grant struct {
	Account string
	Service Service
	Kind    Kind
	// SAS is set for the SAS kinds.
	SAS *SAS
}

// SAS is a verified shared access signature's grant.
type SAS struct {
	Permissions string
	// Account SAS: the services and resource types ("s", "c", "o") allowed.
	Services, ResourceTypes string
	// Service SAS: the resource signed ("c" container, "b" blob, "" for a
	// queue) and its names.
	Resource        string
	Container, Blob string
	Start, Expiry   time.Time
}

// Resource is what an operation touches: the service ('s'), a container
// or queue ('c'), or an object, a blob or message ('o').
type Resource struct {
	Type      byte
	Container string
	Blob      string
}

// Authenticator verifies requests against account keys.
type Authenticator struct {
	Keys KeyStore
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// MaxClockSkew is how far a request's x-ms-date may be from the server's
// clock, as in Azure.
const MaxClockSkew = 15 * time.Minute

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func failed(format string, args ...any) error {
	e := *wire.ErrAuthenticationFailed
	e.Message = e.Message + " " + fmt.Sprintf(format, args...)
	return &e
}

// Authenticate verifies the request's credentials for account: a
// SharedKey or SharedKeyLite Authorization header, or a SAS in the query
// (sig=...). A request with neither is Anonymous; the service decides
// what anonymous callers may do. A wrong signature, an unknown account or a
// SAS outside its validity is 403 AuthenticationFailed.
func (a *Authenticator) Authenticate(r *http.Request, svc Service, account string) (Grant, error) {
	authz := r.Header.Get("Authorization")
	q := r.URL.Query()
	switch {
	case authz != "":
		return a.sharedKey(r, svc, account, authz)
	case q.Get("sig") != "":
		return a.sas(r, svc, account, q)
	}
	return Grant{Account: account, Service: svc, Kind: Anonymous}, nil
}

func (a *Authenticator) keys(ctx context.Context, account string) ([][]byte, error) {
	enc, err := a.Keys.Keys(ctx, account)
	if errors.Is(err, accountpkg.ErrSharedKeyDisabled) {
		return nil, &wire.Error{Status: http.StatusForbidden, Code: "KeyBasedAuthenticationNotPermitted",
			Message: "Key based authentication is not permitted on this storage account."}
	}
	if err != nil || len(enc) == 0 {
		return nil, failed("The account %s does not exist.", account)
	}
	var keys [][]byte
	for _, k := range enc {
		b, err := base64.StdEncoding.DecodeString(k)
		if err == nil {
			keys = append(keys, b)
		}
	}
	return keys, nil
}

func sign(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// verify reports whether sig (base64) is the HMAC of any of the
// strings-to-sign under any key.
func verify(keys [][]byte, sig string, toSign ...string) bool {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	for _, k := range keys {
		for _, s := range toSign {
			if subtle.ConstantTimeCompare(sign(k, s), want) == 1 {
				return true
			}
		}
	}
	return false
}

func (a *Authenticator) sharedKey(r *http.Request, svc Service, account, authz string) (Grant, error) {
	scheme, cred, ok := strings.Cut(authz, " ")
	if strings.EqualFold(scheme, "Bearer") {
		return Grant{}, failed("Bearer (Microsoft Entra ID) tokens are not supported by Lapis; sign with the account key (SharedKey) or use a SAS.")
	}
	if !ok {
		return Grant{}, failed("The Authorization header is not in the form '<scheme> <account>:<signature>'.")
	}
	name, sig, ok := strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || name == "" || sig == "" {
		return Grant{}, failed("The Authorization header is not in the form '<scheme> <account>:<signature>'.")
	}
	if name != account {
		return Grant{}, failed("The account in the Authorization header (%s) is not the account of the URL (%s).", name, account)
	}
	if err := a.checkDate(r); err != nil {
		return Grant{}, err
	}
	keys, err := a.keys(r.Context(), account)
	if err != nil {
		return Grant{}, err
	}
	switch scheme {
	case "SharedKey":
		if verify(keys, sig, StringToSign(r, account, byteOrder), StringToSign(r, account, cultureOrder)) {
			return Grant{Account: account, Service: svc, Kind: SharedKey}, nil
		}
	case "SharedKeyLite":
		if verify(keys, sig, stringToSignLite(r, account, byteOrder), stringToSignLite(r, account, cultureOrder)) {
			return Grant{Account: account, Service: svc, Kind: SharedKeyLite}, nil
		}
	default:
		return Grant{}, failed("The authorization scheme %q is not supported; use SharedKey, SharedKeyLite or a SAS.", scheme)
	}
	return Grant{}, failed("The MAC signature found in the HTTP request '%s' is not the same as any computed signature.", sig)
}

// checkDate refuses requests whose x-ms-date (or Date) is missing or too
// far from now, as Azure does.
func (a *Authenticator) checkDate(r *http.Request) error {
	d := r.Header.Get("x-ms-date")
	if d == "" {
		d = r.Header.Get("Date")
	}
	if d == "" {
		return failed("Request date header not specified.")
	}
	t, err := http.ParseTime(d)
	if err != nil {
		return failed("The x-ms-date header value %q is not a valid HTTP date.", d)
	}
	if skew := a.now().Sub(t); skew > MaxClockSkew || skew < -MaxClockSkew {
		return failed("Request date header too old or too far in the future: %s.", d)
	}
	return nil
}

// headerOrder sorts the canonicalized x-ms-* header names.
type headerOrder func(a, b string) int

// byteOrder is plain string order.
func byteOrder(a, b string) int { return strings.Compare(a, b) }

// cultureOrder is the culture-aware order the service (and so the Azure
// SDKs) use for header names, which are lower case: first compare with
// hyphens ignored, punctuation before digits before letters; when that ties,
// compare where the hyphens stand: at the first hyphen that is not at the
// same index in both, the name whose hyphen comes later sorts first, and a
// name that has run out of hyphens sorts before one that has more. So
// "x-ms-meta-ab" < "x-ms-meta-a-b". A signature is accepted if it matches
// this order or byte order.
func cultureOrder(a, b string) int {
	if c := slices.Compare(cultureKey(a), cultureKey(b)); c != 0 {
		return c
	}
	i, j := 0, 0
	for {
		i, j = nextHyphen(a, i), nextHyphen(b, j)
		switch {
		case i < 0 && j < 0:
			return strings.Compare(a, b)
		case i < 0:
			return -1
		case j < 0:
			return 1
		case i > j:
			return -1
		case i < j:
			return 1
		}
		i, j = i+1, j+1
	}
}

// nextHyphen is the index of the first '-' in s at or after from, or -1.
func nextHyphen(s string, from int) int {
	if from >= len(s) {
		return -1
	}
	if k := strings.IndexByte(s[from:], '-'); k >= 0 {
		return from + k
	}
	return -1
}

func cultureKey(s string) []int {
	k := make([]int, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-':
			continue
		case c >= 'a' && c <= 'z':
			k = append(k, 2000+int(c))
		case c >= '0' && c <= '9':
			k = append(k, 1000+int(c))
		default:
			k = append(k, int(c))
		}
	}
	return k
}

// canonicalHeaders is the x-ms-* part of the string-to-sign.
func canonicalHeaders(h http.Header, order headerOrder) string {
	names := make([]string, 0, 8)
	vals := map[string][]string{}
	for k, v := range h {
		n := strings.TrimSpace(strings.ToLower(k))
		if strings.HasPrefix(n, "x-ms-") {
			if _, seen := vals[n]; !seen {
				names = append(names, n)
			}
			vals[n] = append(vals[n], v...)
		}
	}
	sort.Slice(names, func(i, j int) bool { return order(names[i], names[j]) < 0 })
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals[n], ","))
	}
	return b.String()
}

// canonicalResource is "/" + account + the escaped path, then each query
// parameter on its own line, lower-cased, with its sorted values.
func canonicalResource(u *url.URL, account string) string {
	var b strings.Builder
	b.WriteString("/")
	b.WriteString(account)
	if p := u.EscapedPath(); p != "" {
		b.WriteString(p)
	} else {
		b.WriteString("/")
	}
	q := u.Query()
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := slices.Clone(q[n])
		sort.Strings(v)
		b.WriteString("\n" + strings.ToLower(n) + ":" + strings.Join(v, ","))
	}
	return b.String()
}

// StringToSign is the SharedKey string-to-sign of a request, with the
// x-ms-* headers in the given order.
func StringToSign(r *http.Request, account string, order headerOrder) string {
	h := r.Header
	cl := h.Get("Content-Length")
	if cl == "" && r.ContentLength > 0 {
		cl = fmt.Sprint(r.ContentLength)
	}
	if cl == "0" {
		cl = ""
	}
	date := h.Get("Date")
	if h.Get("x-ms-date") != "" {
		date = ""
	}
	return strings.Join([]string{
		r.Method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		cl,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		date,
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
		canonicalHeaders(h, order),
		canonicalResource(r.URL, account),
	}, "\n")
}

// stringToSignLite is the SharedKeyLite string-to-sign: fewer headers, and
// only the comp parameter in the resource.
func stringToSignLite(r *http.Request, account string, order headerOrder) string {
	h := r.Header
	date := h.Get("Date")
	if h.Get("x-ms-date") != "" {
		date = ""
	}
	res := "/" + account + r.URL.EscapedPath()
	if comp := r.URL.Query().Get("comp"); comp != "" {
		res += "?comp=" + comp
	}
	return strings.Join([]string{r.Method, h.Get("Content-MD5"), h.Get("Content-Type"), date,
		canonicalHeaders(h, order), res}, "\n")
}

// SAS time formats accepted in st and se.
var sasTimeFormats = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02T15:04Z", "2006-01-02"}

func parseSASTime(s string) (time.Time, error) {
	for _, f := range sasTimeFormats {
		if t, err := time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid SAS time %q", s)
}

// versionAtLeast compares api-version dates (YYYY-MM-DD).
func versionAtLeast(v, min string) bool { return v >= min }

func (a *Authenticator) sas(r *http.Request, svc Service, account string, q url.Values) (Grant, error) {
	sv, sp, st, se, sip, spr := q.Get("sv"), q.Get("sp"), q.Get("st"), q.Get("se"), q.Get("sip"), q.Get("spr")
	if q.Get("si") != "" {
		return Grant{}, failed("Stored access policies (si) are not supported by Lapis; sign the SAS with its permissions and expiry.")
	}
	if sv == "" || sp == "" || se == "" {
		return Grant{}, failed("The SAS is missing one of sv, sp or se.")
	}
	if q.Get("skoid") != "" {
		return Grant{}, failed("User delegation SAS is not supported by Lapis; sign the SAS with an account key.")
	}
	g := &SAS{Permissions: sp}
	var err error
	if g.Expiry, err = parseSASTime(se); err != nil {
		return Grant{}, failed("%v.", err)
	}
	if st != "" {
		if g.Start, err = parseSASTime(st); err != nil {
			return Grant{}, failed("%v.", err)
		}
	}
	now := a.now()
	if now.After(g.Expiry) {
		return Grant{}, failed("Signed expiry time [%s] must be after signed start time and the current time [%s].", se, wire.FormatTime(now))
	}
	if !g.Start.IsZero() && now.Before(g.Start.Add(-MaxClockSkew)) {
		return Grant{}, failed("Signed start time [%s] is in the future.", st)
	}
	if sip != "" && !ipAllowed(r, sip) {
		return Grant{}, &wire.Error{Status: http.StatusForbidden, Code: "AuthorizationSourceIPMismatch",
			Message: "This request is not authorized to perform this operation using this source IP " + remoteIP(r) + "."}
	}
	keys, err := a.keys(r.Context(), account)
	if err != nil {
		return Grant{}, err
	}
	sig := q.Get("sig")
	kind := ServiceSAS
	var toSign string
	if ss := q.Get("ss"); ss != "" {
		kind = AccountSAS
		g.Services, g.ResourceTypes = ss, q.Get("srt")
		parts := []string{account, sp, ss, g.ResourceTypes, st, se, sip, spr, sv}
		if versionAtLeast(sv, "2020-12-06") {
			parts = append(parts, q.Get("ses"))
		}
		toSign = strings.Join(append(parts, ""), "\n")
	} else {
		g.Resource = q.Get("sr")
		toSign, err = serviceStringToSign(r, svc, account, q, g)
		if err != nil {
			return Grant{}, err
		}
	}
	if !verify(keys, sig, toSign) {
		return Grant{}, failed("Signature did not match. String to sign used was %s", strings.ReplaceAll(toSign, "\n", `\n`))
	}
	return Grant{Account: account, Service: svc, Kind: kind, SAS: g}, nil
}

// serviceStringToSign builds a service SAS's string-to-sign and fills the
// grant's scope from the request path.
func serviceStringToSign(r *http.Request, svc Service, account string, q url.Values, g *SAS) (string, error) {
	p, err := wire.ParsePath(r.URL)
	if err != nil {
		return "", err
	}
	common := func(resource string) []string {
		return []string{q.Get("sp"), q.Get("st"), q.Get("se"), resource, q.Get("si"), q.Get("sip"), q.Get("spr"), q.Get("sv")}
	}
	if svc == Queue {
		g.Container = p.Container
		return strings.Join(common("/queue/"+account+"/"+p.Container), "\n"), nil
	}
	g.Container = p.Container
	canonical := "/blob/" + account + "/" + p.Container
	switch g.Resource {
	case "c":
	case "b", "bs", "bv":
		g.Blob = p.Blob
		canonical += "/" + p.Blob
	default:
		return "", failed("The signed resource sr=%q is not supported; use c or b.", g.Resource)
	}
	parts := append(common(canonical), g.Resource, q.Get("snapshot"))
	if versionAtLeast(q.Get("sv"), "2020-12-06") {
		parts = append(parts, q.Get("ses"))
	}
	parts = append(parts, q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"))
	return strings.Join(parts, "\n"), nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ipAllowed checks the caller against sip ("a" or "a-b").
func ipAllowed(r *http.Request, sip string) bool {
	ip := net.ParseIP(remoteIP(r))
	lo, hi, _ := strings.Cut(sip, "-")
	if hi == "" {
		hi = lo
	}
	l, h := net.ParseIP(lo), net.ParseIP(hi)
	if ip == nil || l == nil || h == nil {
		return false
	}
	ip16, l16, h16 := ip.To16(), l.To16(), h.To16()
	return string(ip16) >= string(l16) && string(ip16) <= string(h16)
}

// Allow checks that the grant permits permission perm (a SAS letter: r, a,
// c, w, d, l, u, p, ...) on res. SharedKey may do anything; an anonymous
// caller nothing (the service makes public exceptions before asking).
func (g Grant) Allow(perm byte, res Resource) error {
	svc := g.Service
	switch g.Kind {
	case SharedKey, SharedKeyLite:
		return nil
	case Anonymous:
		return wire.ErrNoAuthenticationInformation
	}
	s := g.SAS
	if g.Kind == AccountSAS {
		if !strings.ContainsRune(s.Services, rune(svc)) {
			return wire.ErrAuthorizationServiceMismatch
		}
		if !strings.ContainsRune(s.ResourceTypes, rune(res.Type)) {
			return wire.ErrAuthorizationResourceTypeMismatch
		}
	} else {
		if res.Type == 's' || res.Container != s.Container {
			return wire.ErrAuthorizationResourceTypeMismatch
		}
		if svc == Blob && (s.Resource == "b" || s.Resource == "bs" || s.Resource == "bv") && (res.Type != 'o' || res.Blob != s.Blob) {
			return wire.ErrAuthorizationResourceTypeMismatch
		}
	}
	if !strings.ContainsRune(s.Permissions, rune(perm)) {
		return wire.ErrAuthorizationPermissionMismatch
	}
	return nil
}
