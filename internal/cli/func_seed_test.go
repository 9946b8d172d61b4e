package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	docaccount "github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/functest"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/storage/account"
)

// TestSeedExample runs examples/seed with lapis func start and its embedded platform, and drives its triggers
// as the seed describes: an upload to images/ makes thumbnails/{name}.txt, an order put on the orders queue
// becomes a processed document in the Cosmos DB container myappdb/processed-orders, and that container's change
// feed fires on_processed_order once for it.
func TestSeedExample(t *testing.T) {
	offline(t)
	dir := copySeed(t)
	base, out := startApp(t, dir)
	m := regexp.MustCompile(`blob (http://\S+), queue (http://\S+), cosmos (http://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no embedded platform endpoints in:\n%s", out)
	}
	acct := driveSeed(t, base, out, m[1], m[2])
	checkOrder(t, out, acct, m[3])
}

// TestSeedExampleWithRunningPlatform runs the seed under func start beside a Lapis that is already running:
// storage and the document store go over REST to it, and the triggers keep their state in a substrate of the app's
// own. An order becomes a processed document in myappdb/processed-orders on the running Lapis, and the change feed,
// read over REST, fires on_processed_order once for it.
func TestSeedExampleWithRunningPlatform(t *testing.T) {
	offline(t)
	p := functest.Start(t)
	info := p.Server.Info()
	dir := copySeed(t)
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;QueueEndpoint=%s/%s",
		account.DevAccount, account.DevKey, info.Endpoints["blob"], account.DevAccount, info.Endpoints["queue"], account.DevAccount)
	settings, _ := json.Marshal(map[string]any{"IsEncrypted": false, "Values": map[string]string{
		"FUNCTIONS_WORKER_RUNTIME": "custom", "AzureWebJobsStorage": conn, "CosmosDBConnection": p.CosmosConn}})
	if err := os.WriteFile(filepath.Join(dir, "local.settings.json"), settings, 0o644); err != nil {
		t.Fatal(err)
	}
	base, out := startApp(t, dir, "--data-dir", p.Server.DataDir())
	if !strings.Contains(out.String(), "Using the running Lapis platform") {
		t.Fatalf("func start did not use the running platform:\n%s", out)
	}
	acct := driveSeed(t, base, out, info.Endpoints["blob"], info.Endpoints["queue"])
	checkOrder(t, out, acct, "http://"+p.CosmosHost)
}

// copySeed copies examples/seed into a temporary directory with its SDK replace made absolute.
func copySeed(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "seed"))
	if err != nil {
		t.Fatal(err)
	}
	sdkDir, err := filepath.Abs(filepath.Join("..", "..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "seed")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "app"))
	os.RemoveAll(filepath.Join(dir, ".lapis"))
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	gomod = []byte(strings.Replace(string(gomod), "=> ../../sdk", "=> "+sdkDir, 1))
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// driveSeed checks the seed's storage functions as the seed describes them: hello answers, and an upload to
// images/ makes thumbnails/{name}.txt with the name and size. It returns the storage account it used.
func driveSeed(t *testing.T, base string, out *syncBuffer, blobURL, queueURL string) storageclient.Account {
	t.Helper()
	if got := getJSON(t, base+"/api/hello?name=Azure"); got["message"] != "Hello, Azure!" {
		t.Fatalf("hello: %v", got)
	}
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;QueueEndpoint=%s/%s",
		account.DevAccount, account.DevKey, blobURL, account.DevAccount, queueURL, account.DevAccount)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acct, err := storageclient.NewREST(storageclient.RESTOptions{}).Account(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}

	// process_image: an upload to images/ fires once, with the blob's name and size.
	if err := acct.CreateContainer(ctx, "images"); err != nil {
		t.Fatal(err)
	}
	if err := acct.WriteBlob(ctx, "images", "cat.png", []byte("not really a png"), "image/png"); err != nil {
		t.Fatal(err)
	}
	var info []byte
	for {
		b, _, err := acct.ReadBlob(ctx, "thumbnails", "cat.png.txt")
		if err == nil {
			info = b
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no thumbnails/cat.png.txt: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(string(info), "cat.png") || !strings.Contains(string(info), "16") {
		t.Errorf("thumbnails/cat.png.txt = %q, want the name and the size (16 bytes)", info)
	}
	return acct
}

// checkOrder puts an order on the orders queue and checks what the seed makes of it: process_order writes it,
// processed, to myappdb/processed-orders (read with the azcosmos client from the document store at cosmosURL),
// and the container's change feed fires on_processed_order exactly once for it, which puts one audit message on
// order-audit.
func checkOrder(t *testing.T, out *syncBuffer, acct storageclient.Account, cosmosURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := acct.CreateQueue(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.PutMessage(ctx, "orders", base64.StdEncoding.EncodeToString([]byte(`{"orderId":"12345","total":42}`)), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := acct.CreateQueue(ctx, "order-audit"); err != nil {
		t.Fatal(err)
	}
	msgs, err := acct.ReceiveMessages(ctx, "order-audit", 32, time.Minute, time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("order-audit: %v %v\n%s", msgs, err, out)
	}
	var audit map[string]any
	if err := json.Unmarshal([]byte(decodeMessage(msgs[0].Text)), &audit); err != nil || audit["orderId"] != "12345" ||
		audit["status"] != "processed" || audit["document"] != "12345" {
		t.Errorf("audit message %s (%v)", decodeMessage(msgs[0].Text), err)
	}
	// Exactly once: nothing more comes.
	wait, cancelWait := context.WithTimeout(ctx, 2*time.Second)
	more, err := acct.ReceiveMessages(wait, "order-audit", 32, time.Minute, 100*time.Millisecond)
	cancelWait()
	if len(more) != 0 || (err != nil && !errors.Is(err, context.DeadlineExceeded)) {
		t.Errorf("on_processed_order fired again: %v %v", more, err)
	}

	// The document, as the Azure SDK reads it.
	u, err := url.Parse(cosmosURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azcosmos.NewClientFromConnectionString("AccountEndpoint=http://localhost:"+u.Port()+"/;AccountKey="+docaccount.EmulatorKey+";",
		&azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	container, err := c.NewContainer("myappdb", "processed-orders")
	if err != nil {
		t.Fatal(err)
	}
	item, err := container.ReadItem(ctx, azcosmos.NewPartitionKeyString("12345"), "12345", nil)
	if err != nil {
		t.Fatalf("the processed order in myappdb/processed-orders: %v\n%s", err, out)
	}
	var order map[string]any
	if err := json.Unmarshal(item.Value, &order); err != nil || order["orderId"] != "12345" || order["status"] != "processed" || order["total"] != 42.0 {
		t.Errorf("processed order = %s (%v)", item.Value, err)
	}
}

// decodeMessage undoes the queue output's base64 encoding.
func decodeMessage(text string) string {
	if b, err := base64.StdEncoding.DecodeString(text); err == nil {
		return string(b)
	}
	return text
}
