package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/nats-io/nats.go/jetstream"

	lapisarm "github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/platform"
)

// startServer runs a server on free ports in dir until the test ends.
func startServer(t *testing.T, dir string) *platform.Server {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // keep the CLI pointer out of the user's config
	cfg := platform.Defaults()
	cfg.DataDir = dir
	cfg.Ports = platform.Ports{}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		srv.Wait()
	})
	return srv
}

// stop stops a server started by startServer before the test ends.
func stop(t *testing.T, srv *platform.Server, cancel context.CancelFunc) {
	t.Helper()
	cancel()
	srv.Wait()
}

// tokenCredential hands the SDK the server's admin key as a bearer token.
type tokenCredential string

func (c tokenCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func armOptions(endpoint string) *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: "http://127.0.0.1/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.core.windows.net/"},
				},
			},
			InsecureAllowCredentialWithHTTP: true,
			Retry:                           policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	}
}

type sdk struct {
	groups    *armresources.ResourceGroupsClient
	resources *armresources.Client
	accounts  *armstorage.AccountsClient
}

func newSDK(t *testing.T, dir string, info platform.ServerInfo) sdk {
	t.Helper()
	token, err := platform.ReadAdminKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	cred, opts := tokenCredential(token), armOptions(info.Management)
	groups, err := armresources.NewResourceGroupsClient(info.Subscription, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := armresources.NewClient(info.Subscription, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := armstorage.NewAccountsClient(info.Subscription, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sdk{groups, resources, accounts}
}

func respCode(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

func TestARMSDKLifecycle(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	c := newSDK(t, dir, srv.Info())
	ctx := context.Background()

	// Resource groups.
	rg, err := c.groups.CreateOrUpdate(ctx, "myapp-rg", armresources.ResourceGroup{
		Location: to.Ptr("East US"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	if *rg.Location != "eastus" || *rg.Name != "myapp-rg" || *rg.Properties.ProvisioningState != "Succeeded" ||
		*rg.ID != "/subscriptions/"+srv.Info().Subscription+"/resourceGroups/myapp-rg" {
		t.Fatalf("group = %+v", rg.ResourceGroup)
	}
	exists, err := c.groups.CheckExistence(ctx, "MYAPP-RG", nil)
	if err != nil || !exists.Success {
		t.Fatalf("check existence (case-insensitive) = %v, %v", exists.Success, err)
	}
	exists, err = c.groups.CheckExistence(ctx, "nope", nil)
	if err != nil || exists.Success {
		t.Fatalf("check existence of a missing group = %v, %v", exists.Success, err)
	}
	upd, err := c.groups.Update(ctx, "myapp-rg", armresources.ResourceGroupPatchable{Tags: map[string]*string{"env": to.Ptr("prod")}}, nil)
	if err != nil || *upd.Tags["env"] != "prod" {
		t.Fatalf("update group: %v %v", upd.Tags, err)
	}
	if _, err := c.groups.CreateOrUpdate(ctx, "other-rg", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	for pager := c.groups.NewListPager(&armresources.ResourceGroupsClientListOptions{Top: to.Ptr[int32](1)}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list groups: %v", err)
		}
		for _, g := range page.Value {
			names = append(names, *g.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"myapp-rg", "other-rg"}) {
		t.Fatalf("groups (paged by 1) = %v", names)
	}

	// Storage accounts.
	avail, err := c.accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{
		Name: to.Ptr("myfuncappstorage"), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
	if err != nil || !*avail.NameAvailable {
		t.Fatalf("name availability before create = %+v, %v", avail, err)
	}
	poller, err := c.accounts.BeginCreate(ctx, "myapp-rg", "myfuncappstorage", armstorage.AccountCreateParameters{
		Location: to.Ptr("eastus"), Kind: to.Ptr(armstorage.KindStorageV2),
		SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}, nil)
	if err != nil {
		t.Fatalf("begin create account: %v", err)
	}
	acct, err := poller.PollUntilDone(ctx, &runtimeFrequency)
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	if *acct.Properties.ProvisioningState != armstorage.ProvisioningStateSucceeded || *acct.SKU.Tier != armstorage.SKUTierStandard ||
		!strings.HasSuffix(*acct.Properties.PrimaryEndpoints.Blob, "/myfuncappstorage/") {
		t.Fatalf("account = %+v", acct.Account)
	}
	avail, err = c.accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{
		Name: to.Ptr("myfuncappstorage"), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
	if err != nil || *avail.NameAvailable || *avail.Reason != armstorage.ReasonAlreadyExists {
		t.Fatalf("name availability after create = %+v, %v", avail, err)
	}
	got, err := c.accounts.GetProperties(ctx, "MyApp-RG", "myfuncappstorage", nil)
	if err != nil || *got.ID != *acct.ID {
		t.Fatalf("get account: %v", err)
	}
	keys, err := c.accounts.ListKeys(ctx, "myapp-rg", "myfuncappstorage", nil)
	if err != nil || len(keys.Keys) != 2 || *keys.Keys[0].KeyName != "key1" || len(*keys.Keys[0].Value) != 88 || !strings.EqualFold(string(*keys.Keys[0].Permissions), string(armstorage.KeyPermissionFull)) {
		t.Fatalf("list keys = %+v, %v", keys, err)
	}
	regen, err := c.accounts.RegenerateKey(ctx, "myapp-rg", "myfuncappstorage", armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key2")}, nil)
	if err != nil || *regen.Keys[0].Value != *keys.Keys[0].Value || *regen.Keys[1].Value == *keys.Keys[1].Value {
		t.Fatalf("regenerate key2: %v (key1 must stay, key2 must change)", err)
	}
	// A second account in another group cannot take the name.
	_, err = c.accounts.BeginCreate(ctx, "other-rg", "myfuncappstorage", armstorage.AccountCreateParameters{
		Location: to.Ptr("westus"), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}, nil)
	if status, code := respCode(err); status != http.StatusConflict || code != "StorageAccountInAnotherResourceGroup" {
		t.Fatalf("duplicate name: status %d code %q (%v)", status, code, err)
	}
	updAcct, err := c.accounts.Update(ctx, "myapp-rg", "myfuncappstorage", armstorage.AccountUpdateParameters{
		Tags: map[string]*string{"tier": to.Ptr("gold")}, Properties: &armstorage.AccountPropertiesUpdateParameters{AccessTier: to.Ptr(armstorage.AccessTierCool)}}, nil)
	if err != nil || *updAcct.Properties.AccessTier != armstorage.AccessTierCool || *updAcct.Tags["tier"] != "gold" {
		t.Fatalf("update account: %v", err)
	}
	var listed int
	for pager := c.accounts.NewListByResourceGroupPager("myapp-rg", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page.Value)
	}
	for pager := c.accounts.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page.Value)
	}
	if listed != 2 {
		t.Fatalf("account listed %d times in group and subscription lists, want 2", listed)
	}

	// Generic resources.
	var generic []string
	for pager := c.resources.NewListByResourceGroupPager("myapp-rg", &armresources.ClientListByResourceGroupOptions{
		Filter: to.Ptr("resourceType eq 'Microsoft.Storage/storageAccounts'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Value {
			generic = append(generic, *r.Name)
		}
	}
	if !slices.Equal(generic, []string{"myfuncappstorage"}) {
		t.Fatalf("generic list = %v", generic)
	}
	byID, err := c.resources.GetByID(ctx, *acct.ID, "2023-05-01", nil)
	if err != nil || *byID.Name != "myfuncappstorage" {
		t.Fatalf("get by id: %v", err)
	}

	// Deleting the group deletes what it holds.
	delPoller, err := c.groups.BeginDelete(ctx, "myapp-rg", nil)
	if err != nil {
		t.Fatalf("delete group: %v", err)
	}
	if _, err := delPoller.PollUntilDone(ctx, &runtimeFrequency); err != nil {
		t.Fatal(err)
	}
	_, err = c.accounts.GetProperties(ctx, "myapp-rg", "myfuncappstorage", nil)
	if status, code := respCode(err); status != http.StatusNotFound || code != "ResourceGroupNotFound" {
		t.Fatalf("account after group delete: %d %q", status, code)
	}
	// ... and frees the global name.
	avail, err = c.accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{
		Name: to.Ptr("myfuncappstorage"), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
	if err != nil || !*avail.NameAvailable {
		t.Fatalf("name availability after delete = %+v, %v", avail, err)
	}
}

var runtimeFrequency = azruntime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

func TestResourceEventsPublished(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	c := newSDK(t, dir, srv.Info())
	ctx := context.Background()
	if _, err := c.groups.CreateOrUpdate(ctx, "ev-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := c.accounts.BeginCreate(ctx, "ev-rg", "evacct", armstorage.AccountCreateParameters{Location: to.Ptr("eastus"),
		Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, &runtimeFrequency); err != nil {
		t.Fatal(err)
	}
	if _, err := c.accounts.Delete(ctx, "ev-rg", "evacct", nil); err != nil {
		t.Fatal(err)
	}
	// A failed write raises nothing.
	if _, err := c.groups.CreateOrUpdate(ctx, "bad!", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err == nil {
		t.Fatal("invalid group name accepted")
	}

	js := srv.Substrate().JetStream()
	cons, err := js.OrderedConsumer(ctx, "LAPIS_EVENTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ typ, subject, op string }
	var got []seen
	for range 3 {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("after %d events: %v", len(got), err)
		}
		var ev lapisarm.Event
		if err := json.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		var data lapisarm.ResourceEventData
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		if ev.Topic != "/subscriptions/"+srv.Info().Subscription+"/resourceGroups/ev-rg" || data.Status != "Succeeded" || ev.DataVersion == "" || ev.ID == "" {
			t.Fatalf("event envelope = %+v data %+v", ev, data)
		}
		got = append(got, seen{ev.EventType, ev.Subject[strings.LastIndex(ev.Subject, "/")+1:], data.OperationName})
	}
	want := []seen{
		{"Microsoft.Resources.ResourceWriteSuccess", "ev-rg", "Microsoft.Resources/subscriptions/resourceGroups/write"},
		{"Microsoft.Resources.ResourceWriteSuccess", "evacct", "Microsoft.Storage/storageAccounts/write"},
		{"Microsoft.Resources.ResourceDeleteSuccess", "evacct", "Microsoft.Storage/storageAccounts/delete"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant %v", got, want)
	}
	if _, err := cons.Next(jetstream.FetchMaxWait(200 * time.Millisecond)); err == nil {
		t.Fatal("an event was published for a failed write")
	}
}

func TestRestartKeepsResources(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg := platform.Defaults()
	cfg.DataDir, cfg.Ports = dir, platform.Ports{}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := srv.Info()
	c := newSDK(t, dir, first)
	if _, err := c.groups.CreateOrUpdate(ctx, "keep-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := c.accounts.BeginCreate(ctx, "keep-rg", "keepacct", armstorage.AccountCreateParameters{Location: to.Ptr("eastus"),
		Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, &runtimeFrequency); err != nil {
		t.Fatal(err)
	}
	keys, err := c.accounts.ListKeys(ctx, "keep-rg", "keepacct", nil)
	if err != nil {
		t.Fatal(err)
	}
	stop(t, srv, cancel)
	if _, err := os.Stat(filepath.Join(dir, "server.json")); !os.IsNotExist(err) {
		t.Fatalf("server.json left behind after a clean stop: %v", err)
	}

	srv2 := startServer(t, dir)
	if srv2.Info().Subscription != first.Subscription {
		t.Fatalf("subscription changed across restart: %s -> %s", first.Subscription, srv2.Info().Subscription)
	}
	c2 := newSDK(t, dir, srv2.Info())
	ctx = context.Background()
	if _, err := c2.groups.Get(ctx, "keep-rg", nil); err != nil {
		t.Fatalf("group lost across restart: %v", err)
	}
	keys2, err := c2.accounts.ListKeys(ctx, "keep-rg", "keepacct", nil)
	if err != nil || *keys2.Keys[0].Value != *keys.Keys[0].Value {
		t.Fatalf("account keys lost or changed across restart: %v", err)
	}
}

func TestSubscriptionOverrideSticks(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	const override = "12345678-1234-1234-1234-123456789abc"
	for i, want := range []string{override, override} {
		cfg := platform.Defaults()
		cfg.DataDir, cfg.Ports = dir, platform.Ports{}
		if i == 0 {
			cfg.SubscriptionID = override
		}
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		ctx, cancel := context.WithCancel(context.Background())
		srv, err := platform.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Info().Subscription; got != want {
			t.Fatalf("start %d serves %s, want %s", i, got, want)
		}
		stop(t, srv, cancel)
	}
}

func TestSecondServerOnDataDirRefuses(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir)
	cfg := platform.Defaults()
	cfg.DataDir, cfg.Ports = dir, platform.Ports{}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := platform.Start(context.Background(), cfg)
	if !errors.Is(err, platform.ErrLocked) || !strings.Contains(err.Error(), "in use by a running lapis") {
		t.Fatalf("second start = %v, want ErrLocked with a clear message", err)
	}
}
