package blob_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/storage/account"
)

// A created storage account serves with its own keys, raises events on
// its own ARM id, and refuses public containers unless it allows them.
func TestCreatedAccount(t *testing.T) {
	l := newLapis(t)
	ctx := context.Background()
	if _, _, err := l.m.PutGroup(ctx, testSub, "rg1", []byte(`{"location":"eastus"}`), false, arm.Caller{}); err != nil {
		t.Fatal(err)
	}
	id, err := arm.ParseID("/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/myacct")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.m.PutResource(ctx, id, "2023-05-01", []byte(`{"location":"eastus","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`), false, arm.Caller{}); err != nil {
		t.Fatal(err)
	}
	keys, err := (&account.Directory{Store: l.m.Store()}).Keys(ctx, "myacct")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential("myacct", keys[1])
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(l.srv.URL+"/myacct", cred, clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, "mine", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateContainer(ctx, "public", &azblob.CreateContainerOptions{Access: to.Ptr(azblob.PublicAccessTypeBlob)})
	wantCode(t, err, "PublicAccessNotPermitted", 409)
	if _, err := c.UploadBuffer(ctx, "mine", "f", []byte("mine"), nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "created account", download(t, c, "mine", "f"), []byte("mine"))

	// The development account's key does not open it; its containers are its own.
	wrong, _ := azblob.NewSharedKeyCredential("myacct", account.DevKey)
	wc, _ := azblob.NewClientWithSharedKeyCredential(l.srv.URL+"/myacct", wrong, clientOpts)
	_, err = wc.DownloadStream(ctx, "mine", "f", nil)
	wantCode(t, err, "AuthenticationFailed", 403)
	_, err = l.client.DownloadStream(ctx, "mine", "f", nil)
	wantCode(t, err, "ContainerNotFound", 404)

	evs := l.events()
	if len(evs) != 1 || evs[0].Topic != id.String() || evs[0].Data["url"] != "http://127.0.0.1:10000/myacct/mine/f" {
		t.Fatalf("events %+v", evs)
	}
	got, err := l.svc.AccountID(ctx, "myacct")
	if err != nil || got != id.String() {
		t.Fatalf("AccountID: %q %v", got, err)
	}
}
