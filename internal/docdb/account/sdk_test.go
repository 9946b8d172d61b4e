package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
)

// tokenCredential hands the SDK the admin token as a bearer token.
type tokenCredential string

func (c tokenCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

var pollFast = &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

// TestARMCosmosSDK drives accounts with Azure's Go management SDK
// (armcosmos/v3 v3.2.0, api-version 2024-11-15).
func TestARMCosmosSDK(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c, err := armcosmos.NewDatabaseAccountsClient(testSub, tokenCredential(testToken), &azarm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: "http://127.0.0.1/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: s.URL, Audience: "https://management.core.windows.net/"}}},
			InsecureAllowCredentialWithHTTP: true,
			Retry:                           policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}

	poller, err := c.BeginCreateOrUpdate(ctx, "rg1", "sdk-acct", armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: to.Ptr("eastus"), Kind: to.Ptr(armcosmos.DatabaseAccountKindGlobalDocumentDB),
		Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"),
			Locations:                []*armcosmos.Location{{LocationName: to.Ptr("eastus"), FailoverPriority: to.Ptr[int32](0)}},
			ConsistencyPolicy:        &armcosmos.ConsistencyPolicy{DefaultConsistencyLevel: to.Ptr(armcosmos.DefaultConsistencyLevelStrong)},
		}}, nil)
	if err != nil {
		t.Fatalf("begin create: %v", err)
	}
	created, err := poller.PollUntilDone(ctx, pollFast)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	p := created.Properties
	if *p.ProvisioningState != "Succeeded" || *p.DocumentEndpoint != "http://sdk-acct.localhost:18081/" ||
		*p.ConsistencyPolicy.DefaultConsistencyLevel != armcosmos.DefaultConsistencyLevelStrong ||
		len(p.WriteLocations) != 1 || *p.WriteLocations[0].DocumentEndpoint != *p.DocumentEndpoint ||
		p.KeysMetadata == nil || p.KeysMetadata.PrimaryMasterKey.GenerationTime == nil || p.BackupPolicy == nil {
		t.Fatalf("created = %+v", p)
	}

	got, err := c.Get(ctx, "RG1", "sdk-acct", nil)
	if err != nil || *got.ID != *created.ID || *got.Kind != armcosmos.DatabaseAccountKindGlobalDocumentDB {
		t.Fatalf("get: %v", err)
	}
	keys, err := c.ListKeys(ctx, "rg1", "sdk-acct", nil)
	if err != nil || len(*keys.PrimaryMasterKey) != 88 || *keys.PrimaryReadonlyMasterKey == *keys.PrimaryMasterKey {
		t.Fatalf("list keys: %+v %v", keys, err)
	}
	ro, err := c.ListReadOnlyKeys(ctx, "rg1", "sdk-acct", nil)
	if err != nil || *ro.SecondaryReadonlyMasterKey != *keys.SecondaryReadonlyMasterKey {
		t.Fatalf("list read-only keys: %v", err)
	}
	gro, err := c.GetReadOnlyKeys(ctx, "rg1", "sdk-acct", nil)
	if err != nil || *gro.PrimaryReadonlyMasterKey != *keys.PrimaryReadonlyMasterKey {
		t.Fatalf("get read-only keys: %v", err)
	}
	cs, err := c.ListConnectionStrings(ctx, "rg1", "sdk-acct", nil)
	if err != nil || len(cs.ConnectionStrings) != 4 || *cs.ConnectionStrings[0].KeyKind != armcosmos.KindPrimary ||
		*cs.ConnectionStrings[0].Type != armcosmos.TypeSQL ||
		*cs.ConnectionStrings[0].ConnectionString != "AccountEndpoint=http://sdk-acct.localhost:18081/;AccountKey="+*keys.PrimaryMasterKey+";" {
		t.Fatalf("connection strings: %+v %v", cs, err)
	}
	regen, err := c.BeginRegenerateKey(ctx, "rg1", "sdk-acct", armcosmos.DatabaseAccountRegenerateKeyParameters{KeyKind: to.Ptr(armcosmos.KeyKindSecondary)}, nil)
	if err != nil {
		t.Fatalf("begin regenerate: %v", err)
	}
	if _, err := regen.PollUntilDone(ctx, pollFast); err != nil {
		t.Fatalf("regenerate: %v", err)
	}
	after, err := c.ListKeys(ctx, "rg1", "sdk-acct", nil)
	if err != nil || *after.SecondaryMasterKey == *keys.SecondaryMasterKey || *after.PrimaryMasterKey != *keys.PrimaryMasterKey {
		t.Fatalf("keys after regenerating secondary: %v", err)
	}

	upd, err := c.BeginUpdate(ctx, "rg1", "sdk-acct", armcosmos.DatabaseAccountUpdateParameters{
		Tags: map[string]*string{"env": to.Ptr("test")}, Properties: &armcosmos.DatabaseAccountUpdateProperties{EnableAutomaticFailover: to.Ptr(true)}}, nil)
	if err != nil {
		t.Fatalf("begin update: %v", err)
	}
	if u, err := upd.PollUntilDone(ctx, pollFast); err != nil || !*u.Properties.EnableAutomaticFailover || *u.Tags["env"] != "test" ||
		*u.Properties.ConsistencyPolicy.DefaultConsistencyLevel != armcosmos.DefaultConsistencyLevelStrong {
		t.Fatalf("update: %v", err)
	}

	var names []string
	for pager := c.NewListByResourceGroupPager("rg1", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list by group: %v", err)
		}
		for _, a := range page.Value {
			names = append(names, *a.Name)
		}
	}
	for pager := c.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, a := range page.Value {
			names = append(names, *a.Name)
		}
	}
	if len(names) != 2 || names[0] != "sdk-acct" || names[1] != "sdk-acct" {
		t.Fatalf("listed %v", names)
	}

	// Azure's errors reach the SDK as ResponseErrors.
	_, err = c.BeginCreateOrUpdate(ctx, "rg1", "Bad_Name", armcosmos.DatabaseAccountCreateUpdateParameters{
		Location: to.Ptr("eastus"), Properties: &armcosmos.DatabaseAccountCreateUpdateProperties{
			DatabaseAccountOfferType: to.Ptr("Standard"), Locations: []*armcosmos.Location{{LocationName: to.Ptr("eastus")}}}}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || re.ErrorCode != "InvalidResourceName" {
		t.Fatalf("bad name: %v", err)
	}

	// Names are global: the SDK's CheckNameExists (a HEAD on
	// databaseAccountNames) sees the account's.
	if r, err := c.CheckNameExists(ctx, "sdk-acct", nil); err != nil || !r.Success {
		t.Fatalf("check name of an account: %v %v", r, err)
	}
	if r, err := c.CheckNameExists(ctx, "no-such-acct", nil); err != nil || r.Success {
		t.Fatalf("check a free name: %v %v", r, err)
	}
	// The SDK takes only 202 or 204 for a delete, as the provider answers.
	del, err := c.BeginDelete(ctx, "rg1", "sdk-acct", nil)
	if err != nil {
		t.Fatalf("begin delete: %v", err)
	}
	if _, err := del.PollUntilDone(ctx, pollFast); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Get(ctx, "rg1", "sdk-acct", nil); !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("get after delete: %v", err)
	}
}
