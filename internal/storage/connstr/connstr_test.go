package connstr

import (
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/storage/account"
)

func TestParse(t *testing.T) {
	dev, err := Parse("UseDevelopmentStorage=true", Dev{BlobPort: 20000})
	if err != nil || dev.AccountName != account.DevAccount || dev.AccountKey != account.DevKey ||
		dev.BlobEndpoint != "http://127.0.0.1:20000/devstoreaccount1" || dev.QueueEndpoint != "http://127.0.0.1:10001/devstoreaccount1" {
		t.Fatalf("dev = %+v, %v", dev, err)
	}
	full := "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5==;BlobEndpoint=http://127.0.0.1:10000/acct;QueueEndpoint=http://127.0.0.1:10001/acct;"
	p, err := Parse(full, Dev{})
	if err != nil || p.AccountKey != "a2V5==" || p.BlobEndpoint != "http://127.0.0.1:10000/acct" {
		t.Fatalf("full = %+v, %v", p, err)
	}
	if p.String() != full {
		t.Fatalf("round trip = %q", p.String())
	}
	cloud, err := Parse("AccountName=acct;AccountKey=k", Dev{})
	if err != nil || cloud.QueueEndpoint != "https://acct.queue.core.windows.net" {
		t.Fatalf("cloud = %+v, %v", cloud, err)
	}
	for _, bad := range []string{"", "AccountName=x", "garbage", "AccountKey=k;BlobEndpoint=http://x", "=x;AccountKey=k"} {
		if _, err := Parse(bad, Dev{}); err == nil || !strings.HasPrefix(err.Error(), "connection string:") {
			t.Errorf("Parse(%q) = %v, want an error", bad, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("UseDevelopmentStorage=true")
	f.Add("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k==;BlobEndpoint=http://h/a")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s, Dev{})
		if err != nil {
			return
		}
		// What parses writes back to a string that parses to the same.
		q, err := Parse(p.String(), Dev{})
		if err != nil || q != p {
			t.Fatalf("Parse(%q) = %+v; reparse of %q = %+v, %v", s, p, p.String(), q, err)
		}
	})
}
