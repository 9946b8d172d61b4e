package runtime_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"
)

// usage is what GET {site}/usage answers.
type usage struct {
	Instances int
	Total     struct{ Executions, ColdStarts int }
}

func (s *server) usage(t *testing.T, group, name string) usage {
	t.Helper()
	var u usage
	if code := s.mgmt(t, http.MethodGet, s.site(group, name)+"/usage", nil, &u); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	return u
}

// oneAtATime makes every instance take a single invocation, so that a few concurrent requests scale out.
func oneAtATime(dir string) {
	os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version": "2.0",
		"customHandler": {"description": {"defaultExecutablePath": "worker"}},
		"extensions": {"http": {"maxConcurrentRequests": 1}}}`), 0o644)
}

func TestConsumptionScalesOutAndToZero(t *testing.T) {
	s, _ := start(t, t.TempDir())
	createGroup(t, s, "rg")
	createSite(t, s, "rg", "elastic", &armappservice.SiteProperties{SiteConfig: &armappservice.SiteConfig{
		FunctionAppScaleLimit: to.Ptr[int32](3),
		AppSettings:           []*armappservice.NameValuePair{{Name: to.Ptr("LAPIS_SCALE_IDLE_TIMEOUT"), Value: to.Ptr("400ms")}}}})
	if code, dep := s.deploy(t, "rg", "elastic", buildApp(t, "v1", oneAtATime)); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}

	// Six slow requests at once on instances that take one each: the app scales out, up to its limit of 3.
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := s.call(t, "elastic", "GET", "/api/wait/1500", nil); code != 200 {
				t.Errorf("under load: %d %s", code, body)
			}
		}()
	}
	peak := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		case <-time.After(50 * time.Millisecond):
			peak = max(peak, s.usage(t, "rg", "elastic").Instances)
		}
	}
	if peak < 2 || peak > 3 {
		t.Errorf("peak instances under load = %d, want 2..3 (scale-out capped by functionAppScaleLimit 3)", peak)
	}

	// Idle: it scales to zero, and the next request is a cold start that succeeds.
	waitFor(t, "scale to zero", func() bool { return s.usage(t, "rg", "elastic").Instances == 0 })
	if code, body := s.call(t, "elastic", "GET", "/api/hello", nil); code != 200 {
		t.Fatalf("after scale to zero: %d %s", code, body)
	}
	waitFor(t, "the cold start in the meter", func() bool { return s.usage(t, "rg", "elastic").Total.ColdStarts >= 1 })
}

func TestPremiumNeverColdStarts(t *testing.T) {
	s, _ := start(t, t.TempDir())
	ctx := context.Background()
	createGroup(t, s, "rg")
	poller, err := s.plans.BeginCreateOrUpdate(ctx, "rg", "premium", armappservice.Plan{Location: to.Ptr("westeurope"),
		Kind: to.Ptr("elastic"), SKU: &armappservice.SKUDescription{Name: to.Ptr("EP1"), Capacity: to.Ptr[int32](1)},
		Properties: &armappservice.PlanProperties{MaximumElasticWorkerCount: to.Ptr[int32](4)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *plan.SKU.Tier != "ElasticPremium" {
		t.Errorf("tier = %s", *plan.SKU.Tier)
	}
	createSite(t, s, "rg", "warm", &armappservice.SiteProperties{ServerFarmID: plan.ID, SiteConfig: &armappservice.SiteConfig{
		AppSettings: []*armappservice.NameValuePair{{Name: to.Ptr("LAPIS_SCALE_IDLE_TIMEOUT"), Value: to.Ptr("200ms")}}}})
	if code, dep := s.deploy(t, "rg", "warm", buildApp(t, "v1", nil)); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	for range 3 {
		if code, body := s.call(t, "warm", "GET", "/api/hello", nil); code != 200 {
			t.Fatalf("hello: %d %s", code, body)
		}
		time.Sleep(600 * time.Millisecond) // idle three times as long as the idle timeout
		if n := s.usage(t, "rg", "warm").Instances; n < 1 {
			t.Fatalf("instances after idle = %d, want the always-ready one", n)
		}
	}
	waitFor(t, "the meter", func() bool { return s.usage(t, "rg", "warm").Total.Executions >= 3 })
	if u := s.usage(t, "rg", "warm"); u.Total.ColdStarts != 0 {
		t.Errorf("cold starts on Premium = %d", u.Total.ColdStarts)
	}
	// A plan in use cannot be deleted.
	if _, err := s.plans.Delete(ctx, "rg", "premium", nil); err == nil {
		t.Error("deleted a plan that hosts an app")
	}
}

func TestDedicatedKeepsItsWorkers(t *testing.T) {
	s, _ := start(t, t.TempDir())
	ctx := context.Background()
	createGroup(t, s, "rg")
	poller, err := s.plans.BeginCreateOrUpdate(ctx, "rg", "fixed", armappservice.Plan{Location: to.Ptr("westeurope"),
		SKU: &armappservice.SKUDescription{Name: to.Ptr("B1"), Capacity: to.Ptr[int32](2)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	createSite(t, s, "rg", "steady", &armappservice.SiteProperties{ServerFarmID: plan.ID, SiteConfig: &armappservice.SiteConfig{
		AppSettings: []*armappservice.NameValuePair{{Name: to.Ptr("LAPIS_SCALE_IDLE_TIMEOUT"), Value: to.Ptr("100ms")}}}})
	if code, dep := s.deploy(t, "rg", "steady", buildApp(t, "v1", nil)); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	time.Sleep(500 * time.Millisecond)
	if n := s.usage(t, "rg", "steady").Instances; n != 2 {
		t.Errorf("instances on a B1 plan with 2 workers = %d", n)
	}
}
