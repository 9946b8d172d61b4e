package docdb_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
)

// tokenCredential hands the SDK the admin token as a bearer token.
type tokenCredential string

func (c tokenCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestARMSQLResources drives SQL databases and containers with Azure's Go
// management SDK (armcosmos/v3), and checks that the data plane follows.
func TestARMSQLResources(t *testing.T) {
	l := start(t, t.TempDir())
	key, _ := l.account(t, "rg", "armsql")
	sql, err := armcosmos.NewSQLResourcesClient(l.sub, tokenCredential(l.token), &azarm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: "http://127.0.0.1/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: l.mgmt, Audience: "https://management.core.windows.net/"}}},
			InsecureAllowCredentialWithHTTP: true,
			Retry:                           policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	fast := &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

	dbp, err := sql.BeginCreateUpdateSQLDatabase(bg, "rg", "armsql", "appdb", armcosmos.SQLDatabaseCreateUpdateParameters{
		Properties: &armcosmos.SQLDatabaseCreateUpdateProperties{Resource: &armcosmos.SQLDatabaseResource{ID: to.Ptr("appdb")},
			Options: &armcosmos.CreateUpdateOptions{Throughput: to.Ptr[int32](400)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbp.PollUntilDone(bg, fast)
	if err != nil {
		t.Fatal(err)
	}
	if *db.Properties.Resource.ID != "appdb" || db.Properties.Resource.Rid == nil || db.Properties.Resource.Etag == nil {
		t.Fatalf("database %+v", db.Properties.Resource)
	}
	cp, err := sql.BeginCreateUpdateSQLContainer(bg, "rg", "armsql", "appdb", "orders", armcosmos.SQLContainerCreateUpdateParameters{
		Properties: &armcosmos.SQLContainerCreateUpdateProperties{Resource: &armcosmos.SQLContainerResource{ID: to.Ptr("orders"),
			PartitionKey: &armcosmos.ContainerPartitionKey{Paths: []*string{to.Ptr("/customerId")}, Kind: to.Ptr(armcosmos.PartitionKindHash),
				Version: to.Ptr[int32](2)},
			DefaultTTL: to.Ptr[int32](-1)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cont, err := cp.PollUntilDone(bg, fast)
	if err != nil {
		t.Fatal(err)
	}
	if *cont.Properties.Resource.PartitionKey.Paths[0] != "/customerId" || *cont.Properties.Resource.DefaultTTL != -1 ||
		cont.Properties.Resource.IndexingPolicy == nil {
		t.Fatalf("container %+v", cont.Properties.Resource)
	}
	got, err := sql.GetSQLContainer(bg, "rg", "armsql", "appdb", "orders", nil)
	if err != nil || *got.Properties.Resource.ID != "orders" {
		t.Fatalf("get container: %v", err)
	}
	n := 0
	for pager := sql.NewListSQLContainersPager("rg", "armsql", "appdb", nil); pager.More(); {
		page, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Fatalf("%d containers listed", n)
	}

	// The data plane has them.
	c, err := azcosmos.NewClientFromConnectionString("AccountEndpoint=http://armsql.localhost:"+itoa(l.port)+"/;AccountKey="+key+";", clientOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc, _ := c.NewContainer("appdb", "orders")
	if _, err := cc.CreateItem(bg, azcosmos.NewPartitionKeyString("c1"), doc("id", "1", "customerId", "c1"), nil); err != nil {
		t.Fatal(err)
	}

	del, err := sql.BeginDeleteSQLContainer(bg, "rg", "armsql", "appdb", "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(bg, fast); err != nil {
		t.Fatal(err)
	}
	_, err = cc.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
	ddel, err := sql.BeginDeleteSQLDatabase(bg, "rg", "armsql", "appdb", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddel.PollUntilDone(bg, fast); err != nil {
		t.Fatal(err)
	}
	d, _ := c.NewDatabase("appdb")
	_, err = d.Read(bg, nil)
	wantStatus(t, err, http.StatusNotFound)
}
