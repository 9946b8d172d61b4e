package docclient_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/functest"
)

const key = account.EmulatorKey

func TestParseConnectionString(t *testing.T) {
	for _, c := range []struct{ in, endpoint, err string }{
		{"AccountEndpoint=http://localhost:8081/;AccountKey=" + key + ";", "http://localhost:8081/", ""},
		{" accountendpoint = 'https://acct.documents.azure.com:443/' ; ACCOUNTKEY=\"" + key + "\" ;Database=x", "https://acct.documents.azure.com:443/", ""},
		{"AccountKey=" + key, "", "no AccountEndpoint"},
		{"AccountEndpoint=http://localhost:8081/", "", "no AccountKey"},
		{"AccountEndpoint=localhost:8081;AccountKey=" + key, "", "not an http or https URL"},
		{"AccountEndpoint=ftp://x/;AccountKey=" + key, "", "not an http or https URL"},
		{"AccountEndpoint=http://localhost:8081/;AccountKey=not*base64", "", "AccountKey is not base64"},
		{"just text", "", "not a list of key=value pairs"},
		{"=x;AccountKey=" + key, "", "not a list of key=value pairs"},
	} {
		cs, err := docclient.ParseConnectionString(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), key[:20]) {
				t.Errorf("%q: the error quotes the key: %v", c.in, err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case cs.Endpoint.String() != c.endpoint || cs.Key != key:
			t.Errorf("%q: %v %q", c.in, cs.Endpoint, cs.Key)
		}
	}
}

// FuzzParseConnectionString: any text parses or is refused, without panicking and without the error quoting the
// key; what parses has an http(s) endpoint with a host and a base64 key.
func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{"AccountEndpoint=http://localhost:8081/;AccountKey=" + key + ";", "a=b;;c='d'", "AccountEndpoint=\"https://x\";AccountKey=\"\"", "=", ";;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := docclient.ParseConnectionString(s)
		if err != nil {
			var ce *docclient.ConnectionError
			if !errors.As(err, &ce) {
				t.Fatalf("%q: %T %v", s, err, err)
			}
			return
		}
		if cs.Endpoint.Hostname() == "" || (cs.Endpoint.Scheme != "http" && cs.Endpoint.Scheme != "https") || cs.Key == "" {
			t.Fatalf("%q parsed to %v %q", s, cs.Endpoint, cs.Key)
		}
	})
}

// TestInProcess: the platform's accounts are served in process and nothing else is; keys are checked; writes
// conditional on the etag go through; Watch pushes writes.
func TestInProcess(t *testing.T) {
	p := functest.Start(t)
	prov := p.Documents(t)
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(p.CosmosHost)

	// Other endpoints go to the REST client, which sends nothing until an operation.
	for _, c := range []struct{ conn, name, host string }{
		{"AccountEndpoint=https://contoso.documents.azure.com:443/;AccountKey=" + key, "contoso", "contoso.documents.azure.com"},
		{"AccountEndpoint=http://localhost:8081/;AccountKey=" + key, account.EmulatorAccount, "localhost"},
	} {
		if a, err := prov.Account(ctx, c.conn); err != nil || a.Name() != c.name || a.Host() != c.host {
			t.Errorf("%s: %v", c.conn, err)
		}
	}
	for _, c := range []struct{ conn, want string }{
		{"AccountEndpoint=http://localhost:" + port + "/;AccountKey=" + strings.Replace(key, "C", "D", 1), "AccountKey is not a key of this account"},
		{"AccountEndpoint=http://nosuch.localhost:" + port + "/;AccountKey=" + key, `no database account "nosuch"`},
	} {
		if _, err := prov.Account(ctx, c.conn); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.conn, err, c.want)
		}
	}
	// The emulator's own endpoint stands for this platform when Emulator is set.
	emu, err := docclient.NewInProcess(docclient.InProcessOptions{Service: func() *docdb.Service { return p.Server.Service(docdb.ServiceName).(*docdb.Service) },
		Keys: &account.Directory{Store: p.Server.Manager().Store()}, Endpoint: p.CosmosHost, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, conn := range []string{"AccountEndpoint=https://localhost:8081/;AccountKey=" + key, "AccountEndpoint=http://127.0.0.1:8081;AccountKey=" + key} {
		if a, err := emu.Account(ctx, conn); err != nil || a.Name() != account.EmulatorAccount {
			t.Errorf("%s with Emulator: %v", conn, err)
		}
	}

	for _, endpoint := range []string{"http://localhost:" + port + "/", "https://127.0.0.1:" + port} {
		if _, err := prov.Account(ctx, "AccountEndpoint="+endpoint+";AccountKey="+key); err != nil {
			t.Errorf("%s: %v", endpoint, err)
		}
	}
	a, err := prov.Account(ctx, p.CosmosConn)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != account.EmulatorAccount || a.Host() != "localhost" {
		t.Errorf("account %s on %s", a.Name(), a.Host())
	}
	if err := a.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatalf("again: %v", err)
	}
	spec := docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}
	for range 2 {
		if err := a.CreateContainerIfNotExists(ctx, "db", spec); err != nil {
			t.Fatal(err)
		}
	}
	info, err := a.Container(ctx, "db", "c")
	if err != nil || info.RID == "" || info.DatabaseRID == "" || info.PartitionKeyPaths[0] != "/id" {
		t.Fatalf("container %+v %v", info, err)
	}

	changed, err := a.Watch(ctx, "db", "c")
	if err != nil {
		t.Fatal(err)
	}
	it, err := a.CreateItem(ctx, "db", "c", []byte(`{"id":"a b+c=%","v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not signal the write")
	}
	pk := docdb.PartitionKey{"a b+c=%"}
	next, err := a.ReplaceItem(ctx, "db", "c", pk, "a b+c=%", []byte(`{"id":"a b+c=%","v":2}`), it.ETag)
	if err != nil || next.ETag == it.ETag || !strings.Contains(string(next.Document), `"v":2`) {
		t.Fatalf("replace: %+v %v", next, err)
	}
	if _, err := a.ReplaceItem(ctx, "db", "c", pk, "a b+c=%", []byte(`{"id":"a b+c=%","v":3}`), it.ETag); !errors.Is(err, docdb.ErrPreconditionFailed) {
		t.Errorf("replace with a stale etag: %v", err)
	}
	if _, err := a.ReplaceItem(ctx, "db", "c", docdb.PartitionKey{"none"}, "none", []byte(`{"id":"none"}`), next.ETag); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("replace of a missing document: %v", err)
	}

	f, err := a.ChangeFeed(ctx, "db", "c", 1)
	if err != nil {
		t.Fatal(err)
	}
	items, err := f.Next(ctx, 10)
	if err != nil || len(items) != 1 || !strings.HasSuffix(string(items[0].Document), `,"_lsn":2}`) {
		t.Fatalf("change feed %v %v", items, err)
	}
	res, err := a.Query(ctx, "db", "c", docdb.QuerySpec{Query: "SELECT VALUE c.v FROM c"}, nil)
	if err != nil || len(res) != 1 || string(res[0]) != "2" {
		t.Errorf("query %s %v", res, err)
	}

}

// TestCreatedAccount: an account created through the management API is served on {account}.localhost with its
// keys; a read-only key reads and cannot write.
func TestCreatedAccount(t *testing.T) {
	p := functest.Start(t)
	ctx := context.Background()
	group := "/subscriptions/" + p.Server.Info().Subscription + "/resourceGroups/rg"
	if code := p.ARM(t, "PUT", group+"?api-version=2021-04-01", map[string]any{"location": "eastus"}, nil); code != 200 && code != 201 {
		t.Fatalf("group: %d", code)
	}
	acct := group + "/providers/Microsoft.DocumentDB/databaseAccounts/docs1"
	body := map[string]any{"location": "eastus", "kind": "GlobalDocumentDB", "properties": map[string]any{"databaseAccountOfferType": "Standard",
		"locations": []map[string]any{{"locationName": "eastus", "failoverPriority": 0}}}}
	if code := p.ARM(t, "PUT", acct+"?api-version=2024-11-15", body, nil); code != 200 && code != 201 {
		t.Fatalf("account: %d", code)
	}
	var keys struct{ PrimaryMasterKey, PrimaryReadonlyMasterKey string }
	deadline := time.Now().Add(10 * time.Second)
	for p.ARM(t, "POST", acct+"/listKeys?api-version=2024-11-15", nil, &keys) != 200 || keys.PrimaryMasterKey == "" {
		if time.Now().After(deadline) {
			t.Fatal("no keys")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, port, _ := net.SplitHostPort(p.CosmosHost)
	endpoint := "AccountEndpoint=http://docs1.localhost:" + port + "/;AccountKey="
	prov := p.Documents(t)
	rw, err := prov.Account(ctx, endpoint+keys.PrimaryMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if rw.Name() != "docs1" || rw.Host() != "docs1.localhost" {
		t.Errorf("account %s on %s", rw.Name(), rw.Host())
	}
	if err := rw.CreateDatabaseIfNotExists(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := rw.CreateContainerIfNotExists(ctx, "db", docdb.ContainerSpec{ID: "c", PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}}); err != nil {
		t.Fatal(err)
	}
	it, err := rw.UpsertItem(ctx, "db", "c", []byte(`{"id":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.ReplaceItem(ctx, "db", "c", docdb.PartitionKey{"x"}, "x", []byte(`{"id":"x","v":1}`), it.ETag); err != nil {
		t.Errorf("replace on a created account: %v", err)
	}

	ro, err := prov.Account(ctx, endpoint+keys.PrimaryReadonlyMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.ReadItem(ctx, "db", "c", docdb.PartitionKey{"x"}, "x"); err != nil || !strings.Contains(string(got.Document), `"v":1`) {
		t.Errorf("read with a read-only key: %v", err)
	}
	if _, err := ro.UpsertItem(ctx, "db", "c", []byte(`{"id":"y"}`)); err == nil || !strings.Contains(err.Error(), "read-only key") {
		t.Errorf("write with a read-only key: %v", err)
	}
}
