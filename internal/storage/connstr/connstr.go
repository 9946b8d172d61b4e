package connstr

import (
	"fmt"
	"strings"

	"github.com/lapisdev/lapis/internal/storage/account"
)

// Dev gives the endpoints UseDevelopmentStorage=true stands for.
type Dev struct {
	Host      string // default 127.0.0.1
	BlobPort  int    // default 10000
	QueuePort int    // default 10001
}

// Parsed is a connection string's parts.
type Parsed struct {
	AccountName string
	AccountKey  string
	// SAS is a SharedAccessSignature, when the string carries one instead of a key.
	SAS           string
	BlobEndpoint  string
	QueueEndpoint string
}

// Parse reads a connection string. Keys are case-insensitive; values keep
// their case (an account key's '=' padding is kept). Endpoints missing from
// the string are made from DefaultEndpointsProtocol, AccountName and
// EndpointSuffix as Azure does, or, for UseDevelopmentStorage=true, from dev.
func Parse(s string, dev Dev) (Parsed, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return Parsed{}, fmt.Errorf("connection string: %q is not key=value", part)
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		if dev.Host == "" {
			dev.Host = "127.0.0.1"
		}
		if dev.BlobPort == 0 {
			dev.BlobPort = 10000
		}
		if dev.QueuePort == 0 {
			dev.QueuePort = 10001
		}
		p := Parsed{AccountName: account.DevAccount, AccountKey: account.DevKey,
			BlobEndpoint:  fmt.Sprintf("http://%s:%d/%s", dev.Host, dev.BlobPort, account.DevAccount),
			QueueEndpoint: fmt.Sprintf("http://%s:%d/%s", dev.Host, dev.QueuePort, account.DevAccount)}
		if proxy := kv["developmentstorageproxyuri"]; proxy != "" {
			return Parsed{}, fmt.Errorf("connection string: DevelopmentStorageProxyUri is not supported")
		}
		return p, nil
	}
	p := Parsed{AccountName: kv["accountname"], AccountKey: kv["accountkey"], SAS: kv["sharedaccesssignature"],
		BlobEndpoint: kv["blobendpoint"], QueueEndpoint: kv["queueendpoint"]}
	if p.AccountKey == "" && p.SAS == "" {
		return Parsed{}, fmt.Errorf("connection string: it has neither AccountKey nor SharedAccessSignature")
	}
	if p.AccountName == "" && p.AccountKey != "" {
		return Parsed{}, fmt.Errorf("connection string: AccountKey without AccountName")
	}
	proto := kv["defaultendpointsprotocol"]
	if proto == "" {
		proto = "https"
	}
	suffix := kv["endpointsuffix"]
	if suffix == "" {
		suffix = "core.windows.net"
	}
	if p.BlobEndpoint == "" && p.AccountName != "" {
		p.BlobEndpoint = fmt.Sprintf("%s://%s.blob.%s", proto, p.AccountName, suffix)
	}
	if p.QueueEndpoint == "" && p.AccountName != "" {
		p.QueueEndpoint = fmt.Sprintf("%s://%s.queue.%s", proto, p.AccountName, suffix)
	}
	if p.BlobEndpoint == "" && p.QueueEndpoint == "" {
		return Parsed{}, fmt.Errorf("connection string: no endpoint and no AccountName to make one from")
	}
	return p, nil
}

// String writes the parts back as a full connection string the Azure SDKs
// accept.
func (p Parsed) String() string {
	var b strings.Builder
	b.WriteString("DefaultEndpointsProtocol=http")
	if p.AccountName != "" {
		b.WriteString(";AccountName=" + p.AccountName)
	}
	if p.AccountKey != "" {
		b.WriteString(";AccountKey=" + p.AccountKey)
	}
	if p.SAS != "" {
		b.WriteString(";SharedAccessSignature=" + p.SAS)
	}
	if p.BlobEndpoint != "" {
		b.WriteString(";BlobEndpoint=" + p.BlobEndpoint)
	}
	if p.QueueEndpoint != "" {
		b.WriteString(";QueueEndpoint=" + p.QueueEndpoint)
	}
	return b.String() + ";"
}
