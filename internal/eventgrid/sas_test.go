package eventgrid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSASRoundTrip(t *testing.T) {
	key, other := NewKey(), NewKey()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const res = "http://orders.localhost:7072/api/events"
	tok, err := GenerateSAS(res, now.Add(time.Hour), key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "r=http%3A%2F%2Forders.localhost%3A7072%2Fapi%2Fevents&e=3%2F1%2F2026+1%3A00%3A00+PM&s=") {
		t.Fatalf("token %q", tok)
	}
	sas, err := VerifySAS(tok, []string{other, key}, now)
	if err != nil || sas.Resource != res || !sas.Expiry.Equal(now.Add(time.Hour)) {
		t.Fatalf("verify = %+v, %v", sas, err)
	}
	if _, err := VerifySAS(tok, []string{other}, now); !errors.Is(err, ErrSASSignature) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := VerifySAS(tok, []string{key}, now.Add(time.Hour)); !errors.Is(err, ErrSASExpired) {
		t.Fatalf("at expiry: %v", err)
	}
}

// handSign builds a token the way a client in another language might: its
// own encoding of r and e, signed over exactly that text.
func handSign(key, r, e string) string {
	k, _ := base64.StdEncoding.DecodeString(key)
	unsigned := "r=" + r + "&e=" + e
	m := hmac.New(sha256.New, k)
	m.Write([]byte(unsigned))
	return unsigned + "&s=" + url.QueryEscape(base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

func TestSASExpiryFormats(t *testing.T) {
	key := NewKey()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := url.QueryEscape("https://orders.westus2-1.eventgrid.azure.net/api/events?apiVersion=2018-01-01")
	for _, e := range []string{
		"3%2F1%2F2026+1%3A00%3A00+PM",        // .NET en-US, HttpUtility.UrlEncode
		"03%2F01%2F2026%2001%3A00%3A00%20PM", // zero-padded, %20 for spaces
		"2026-03-01T13%3A00%3A00Z",           // ISO 8601
		"2026-03-01T13:00:00.0000000",        // ISO 8601 without zone: UTC
	} {
		if _, err := VerifySAS(handSign(key, r, e), []string{key}, now); err != nil {
			t.Errorf("e=%s: %v", e, err)
		}
	}
	for _, bad := range []string{"", "r=a&e=b", "r=a&s=c", "x", "r=a&e=tomorrow&s=AAAA", "r=a&e=2026-03-01T13:00:00Z&s=not*base64"} {
		if _, err := ParseSAS(bad); !errors.Is(err, ErrSASFormat) {
			t.Errorf("ParseSAS(%q) = %v, want ErrSASFormat", bad, err)
		}
	}
}

func TestResourceNames(t *testing.T) {
	for _, tc := range []struct {
		res  string
		want bool
	}{
		{"http://orders.localhost:7072/api/events", true},
		{"https://ORDERS.westus2-1.eventgrid.azure.net/api/events?apiVersion=2018-01-01", true},
		{"orders.localhost/api/events", true},
		{"http://localhost:7072/orders/api/events", true},
		{"http://127.0.0.1:7072/orders/api/events", true},
		{"http://billing.localhost:7072/api/events", false},
		{"http://localhost:7072/billing/api/events", false},
	} {
		if got := resourceNames(tc.res, "orders"); got != tc.want {
			t.Errorf("resourceNames(%q) = %v", tc.res, got)
		}
	}
}

func TestTopicOf(t *testing.T) {
	for _, tc := range []struct {
		host, path, want string
		status           int
	}{
		{"orders.localhost:7072", "/api/events", "orders", 0},
		{"Orders.localhost", "/api/events/", "Orders", 0},
		{"localhost:7072", "/orders/api/events", "orders", 0},
		{"127.0.0.1:7072", "/orders/API/Events", "orders", 0},
		{"localhost:7072", "/api/events", "", 404},
		{"127.0.0.1:7072", "/api/events", "", 404},
		{"orders.localhost:7072", "/", "", 404},
		{"orders.localhost:7072", "/a/b/api/events", "", 404},
	} {
		r := httptest.NewRequest("POST", "http://x"+tc.path, nil)
		r.Host = tc.host
		got, err := topicOf(r)
		if got != tc.want || (err == nil) != (tc.status == 0) || err != nil && err.Status != tc.status {
			t.Errorf("%s%s: %q, %v", tc.host, tc.path, got, err)
		}
	}
}

func TestValidTopicName(t *testing.T) {
	for name, want := range map[string]bool{"abc": true, "my-topic-1": true, "MyTopic": true, strings.Repeat("a", 50): true,
		"ab": false, strings.Repeat("a", 51): false, "my_topic": false, "my.topic": false, "tópico": false} {
		if ValidTopicName(name) != want {
			t.Errorf("ValidTopicName(%q) != %v", name, want)
		}
	}
}
