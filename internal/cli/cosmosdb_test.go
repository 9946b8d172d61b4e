package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/substrate"
)

const (
	cosmosAcct      = rgPath + "/providers/Microsoft.DocumentDB/databaseAccounts/mycosmos"
	cosmosDB        = cosmosAcct + "/sqlDatabases/appdb"
	cosmosContainer = cosmosDB + "/containers/orders"
)

func TestCosmosUsageErrors(t *testing.T) {
	t.Setenv("LAPIS_DATA_DIR", t.TempDir())
	acct := []string{"cosmosdb", "create", "-n", "mycosmos", "-g", "rg1"}
	cont := []string{"cosmosdb", "sql", "container", "create", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-n", "orders"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cosmosdb", "create", "-n", "mycosmos"}, "the following arguments are required: --resource-group/-g"},
		{[]string{"cosmosdb", "show"}, "the following arguments are required: --name/-n, --resource-group/-g"},
		{append(acct, "--kind", "Graph"), "argument --kind: invalid choice: 'Graph' (choose from 'GlobalDocumentDB', 'MongoDB', 'Parse')"},
		{append(acct, "--default-consistency-level", "linear"), "argument --default-consistency-level: invalid choice: 'linear'"},
		{append(acct, "--public-network-access", "sometimes"), "argument --public-network-access: invalid choice"},
		{append(acct, "--locations", "eastus=0"), "invalid --locations 'eastus=0': unknown key 'eastus'"},
		{append(acct, "--locations", "regionName=eastus", "failoverPriority=first"), "failoverPriority 'first' is not a whole number"},
		{append(acct, "--locations", "regionName=eastus", "isZoneRedundant=maybe"), "isZoneRedundant 'maybe' is not true or false"},
		{append(acct, "--locations", "failoverPriority=0"), "regionName is required"},
		{append(acct, "--locations", "regionName"), "'regionName' is not KEY=VALUE"},
		{append(acct, "stray"), "unrecognized arguments: stray"},
		{append(acct, "--enable-free-tier", "true", "stray"), "unrecognized arguments: stray"},
		{[]string{"cosmosdb", "delete", "-n", "mycosmos", "-g", "rg1"}, "no tty"},
		{[]string{"cosmosdb", "check-name-exists"}, "the following arguments are required: --name/-n"},
		{[]string{"cosmosdb", "keys", "list", "-n", "mycosmos", "-g", "rg1", "--type", "all"}, "argument --type: invalid choice: 'all' (choose from 'keys', 'read-only-keys', 'connection-strings')"},
		{[]string{"cosmosdb", "keys", "regenerate", "-n", "mycosmos", "-g", "rg1"}, "the following arguments are required: --key-kind"},
		{[]string{"cosmosdb", "keys", "regenerate", "-n", "mycosmos", "-g", "rg1", "--key-kind", "tertiary"}, "argument --key-kind: invalid choice: 'tertiary'"},
		{[]string{"cosmosdb", "sql", "database", "create", "-n", "appdb"}, "the following arguments are required: --account-name/-a, --resource-group/-g"},
		{[]string{"cosmosdb", "sql", "database", "create", "-a", "mycosmos", "-g", "rg1", "-n", "appdb", "--throughput", "400", "--max-throughput", "4000"}, "pass --throughput or --max-throughput, not both"},
		{[]string{"cosmosdb", "sql", "database", "list", "-g", "rg1"}, "the following arguments are required: --account-name/-a"},
		{[]string{"cosmosdb", "sql", "container", "show", "-a", "mycosmos", "-g", "rg1"}, "the following arguments are required: --database-name/-d, --name/-n"},
		{cont, "the following arguments are required: --partition-key-path/-p"},
		{append(cont, "-p", "/id", "--partition-key-version", "3"), "argument --partition-key-version: invalid choice: '3'"},
		{append(cont, "-p", "/id", "--unique-key-policy", "{uniqueKeys"), "argument --unique-key-policy: invalid JSON"},
		{append(cont, "-p", "/id", "--idx", "[1,"), "argument --idx: invalid JSON"},
		{[]string{"cosmosdb", "sql", "container", "delete", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-n", "orders"}, "no tty"},
		{[]string{"cosmosdb", "sql", "table"}, "'table' is misspelled or not recognized"},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "ERROR: ") {
			t.Errorf("lapis %s: exit %d, stdout %q, stderr %q; want exit 2 and one ERROR line with %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
}

func TestCosmosMongoRefused(t *testing.T) {
	f := newFakeARM(t)
	for _, kind := range []string{"MongoDB", "parse"} {
		code, _, errOut := f.run(t, "cosmosdb", "create", "-n", "mycosmos", "-g", "rg1", "--kind", kind)
		if code != 1 || !strings.Contains(errOut, "is not supported: Lapis's document store serves the NoSQL (SQL) API only") {
			t.Errorf("--kind %s: exit %d %s", kind, code, errOut)
		}
	}
	if len(f.reqs) != 0 {
		t.Errorf("requests sent for an unsupported kind: %v", f.reqs)
	}
}

// TestCosmosAccountBodies checks what cosmosdb create sends.
func TestCosmosAccountBodies(t *testing.T) {
	f := newFakeARM(t)
	f.json("GET", rgPath, map[string]any{"name": "rg1", "location": "westeurope"})
	echoResource(f, cosmosAcct, account.TypeName)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"defaults: the group's location", nil,
			`{"location":"westeurope","kind":"GlobalDocumentDB","properties":{"databaseAccountOfferType":"Standard",
			  "locations":[{"locationName":"westeurope","failoverPriority":0,"isZoneRedundant":false}]}}`},
		{"--location", []string{"-l", "eastus", "--kind", "globaldocumentdb"},
			`{"location":"eastus","kind":"GlobalDocumentDB","properties":{"databaseAccountOfferType":"Standard",
			  "locations":[{"locationName":"eastus","failoverPriority":0,"isZoneRedundant":false}]}}`},
		{"az's --locations and settings", []string{"--locations", "regionName=eastus", "failoverPriority=0", "isZoneRedundant=False",
			"--locations", "regionname=westus", "--default-consistency-level", "boundedstaleness", "--max-interval", "10", "--max-staleness-prefix", "200",
			"--enable-free-tier", "--enable-automatic-failover", "false", "--enable-multiple-write-locations=true", "--public-network-access", "DISABLED",
			"--capabilities", "EnableServerless", "--tags", "env=dev", "team"},
			`{"location":"westeurope","kind":"GlobalDocumentDB","tags":{"env":"dev","team":""},"properties":{"databaseAccountOfferType":"Standard",
			  "locations":[{"locationName":"eastus","failoverPriority":0,"isZoneRedundant":false},{"locationName":"westus","failoverPriority":1,"isZoneRedundant":false}],
			  "consistencyPolicy":{"defaultConsistencyLevel":"BoundedStaleness","maxIntervalInSeconds":10,"maxStalenessPrefix":200},
			  "enableFreeTier":true,"enableAutomaticFailover":false,"enableMultipleWriteLocations":true,"publicNetworkAccess":"Disabled",
			  "capabilities":[{"name":"EnableServerless"}]}}`},
	}
	for _, tc := range cases {
		code, out, errOut := f.run(t, append([]string{"cosmosdb", "create", "-n", "mycosmos", "-g", "rg1"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", tc.name, code, errOut)
		}
		r := f.last(t, "PUT", cosmosAcct)
		if r.apiVersion != cosmosAPI || !jsonEqual(t, r.body, tc.want) {
			t.Errorf("%s: api-version %s, body\n%s\nwant\n%s", tc.name, r.apiVersion, r.body, tc.want)
		}
		var printed map[string]any
		if err := json.Unmarshal([]byte(out), &printed); err != nil || printed["resourceGroup"] != "rg1" || printed["databaseAccountOfferType"] != "Standard" {
			t.Errorf("%s: printed %s", tc.name, out)
		}
	}
}

func TestCosmosKeysAndNames(t *testing.T) {
	f := newFakeARM(t)
	for action, answer := range map[string]map[string]any{
		"listKeys":              {"primaryMasterKey": "K1"},
		"readonlykeys":          {"primaryReadonlyMasterKey": "R1"},
		"listConnectionStrings": {"connectionStrings": []any{map[string]any{"connectionString": "AccountEndpoint=x;"}}},
	} {
		f.json("POST", cosmosAcct+"/"+action, answer)
	}
	f.on("POST", cosmosAcct+"/regenerateKey", func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(200) })
	for typ, want := range map[string]string{"": "K1", "keys": "K1", "READ-ONLY-KEYS": "R1", "connection-strings": "AccountEndpoint=x;"} {
		args := []string{"cosmosdb", "keys", "list", "-n", "mycosmos", "-g", "rg1", "-o", "tsv",
			"--query", "primaryMasterKey || primaryReadonlyMasterKey || connectionStrings[0].connectionString"}
		if typ != "" {
			args = append(args, "--type", typ)
		}
		if code, out, errOut := f.run(t, args...); code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("keys list --type %q: exit %d %q %s", typ, code, out, errOut)
		}
	}
	code, out, errOut := f.run(t, "cosmosdb", "keys", "regenerate", "-n", "mycosmos", "-g", "rg1", "--key-kind", "PRIMARYREADONLY")
	if code != 0 || out != "" {
		t.Fatalf("regenerate: exit %d %q %s", code, out, errOut)
	}
	if r := f.last(t, "POST", cosmosAcct+"/regenerateKey"); !jsonEqual(t, r.body, `{"keyKind":"primaryReadonly"}`) || r.apiVersion != cosmosAPI {
		t.Errorf("regenerate sent %s", r.body)
	}

	f.json("GET", "/subscriptions/"+testSub+"/providers/Microsoft.DocumentDB/databaseAccounts",
		map[string]any{"value": []any{map[string]any{"name": "mycosmos"}}})
	for name, want := range map[string]string{"mycosmos": "true", "MyCosmos": "true", "other": "false", "localhost": "true"} {
		if code, out, errOut := f.run(t, "cosmosdb", "check-name-exists", "-n", name); code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("check-name-exists %s: exit %d %q %s", name, code, out, errOut)
		}
	}
}

// TestCosmosSQLCommands checks the SQL database and container commands
// against a fake management API: the paths, api-versions and bodies.
func TestCosmosSQLCommands(t *testing.T) {
	f := newFakeARM(t)
	echoResource(f, cosmosDB, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases")
	echoResource(f, cosmosContainer, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
	policy := filepath.Join(t.TempDir(), "idx.json")
	if err := os.WriteFile(policy, []byte(`{"indexingMode":"consistent","excludedPaths":[{"path":"/blob/*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := []string{"cosmosdb", "sql", "database", "create", "-a", "mycosmos", "-g", "rg1", "-n", "appdb"}
	cont := []string{"cosmosdb", "sql", "container", "create", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-n", "orders"}
	for _, tc := range []struct {
		name, path string
		args       []string
		want       string
	}{
		{"database", cosmosDB, db, `{"properties":{"resource":{"id":"appdb"},"options":{}}}`},
		{"database, throughput", cosmosDB, append(db, "--throughput", "400"), `{"properties":{"resource":{"id":"appdb"},"options":{"throughput":400}}}`},
		{"database, autoscale", cosmosDB, append(db, "--max-throughput", "4000"), `{"properties":{"resource":{"id":"appdb"},"options":{"autoscaleSettings":{"maxThroughput":4000}}}}`},
		{"container", cosmosContainer, append(cont, "-p", "/customerId"),
			`{"properties":{"resource":{"id":"orders","partitionKey":{"paths":["/customerId"],"kind":"Hash","version":2}},"options":{}}}`},
		{"container, everything", cosmosContainer, append(cont, "--partition-key-path", "/id", "--ttl", "3600", "--partition-key-version", "1",
			"--unique-key-policy", `{"uniqueKeys":[{"paths":["/email"]}]}`, "--idx", "@"+policy, "--max-throughput", "1000"),
			`{"properties":{"resource":{"id":"orders","partitionKey":{"paths":["/id"],"kind":"Hash","version":1},"defaultTtl":3600,
			  "uniqueKeyPolicy":{"uniqueKeys":[{"paths":["/email"]}]},"indexingPolicy":{"indexingMode":"consistent","excludedPaths":[{"path":"/blob/*"}]}},
			  "options":{"autoscaleSettings":{"maxThroughput":1000}}}}`},
		{"container, hierarchical key, TTL on", cosmosContainer, append(cont, "-p", "/tenantId", "-p", "/userId", "--ttl", "-1", "--idx", policy),
			`{"properties":{"resource":{"id":"orders","partitionKey":{"paths":["/tenantId","/userId"],"kind":"MultiHash","version":2},"defaultTtl":-1,
			  "indexingPolicy":{"indexingMode":"consistent","excludedPaths":[{"path":"/blob/*"}]}},"options":{}}}`},
	} {
		code, out, errOut := f.run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", tc.name, code, errOut)
		}
		r := f.last(t, "PUT", tc.path)
		if r.apiVersion != cosmosAPI || !jsonEqual(t, r.body, tc.want) {
			t.Errorf("%s: api-version %s, body\n%s\nwant\n%s", tc.name, r.apiVersion, r.body, tc.want)
		}
		var printed map[string]any
		if err := json.Unmarshal([]byte(out), &printed); err != nil || printed["resourceGroup"] != "rg1" || printed["resource"] == nil {
			t.Errorf("%s: printed %s", tc.name, out)
		}
	}

	// show, list and delete, at both levels.
	f.json("GET", cosmosDB, map[string]any{"id": cosmosDB, "name": "appdb", "properties": map[string]any{"resource": map[string]any{"id": "appdb"}}})
	f.json("GET", cosmosContainer, map[string]any{"id": cosmosContainer, "name": "orders", "properties": map[string]any{"resource": map[string]any{"id": "orders"}}})
	f.json("GET", cosmosAcct+"/sqlDatabases", map[string]any{"value": []any{map[string]any{"id": cosmosDB, "name": "appdb"}}})
	f.json("GET", cosmosDB+"/containers", map[string]any{"value": []any{map[string]any{"id": cosmosContainer, "name": "orders",
		"properties": map[string]any{"resource": map[string]any{"partitionKey": map[string]any{"paths": []any{"/customerId"}}, "defaultTtl": 60}}}}})
	f.on("DELETE", cosmosDB, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(200) })
	f.on("DELETE", cosmosContainer, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(204) })
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cosmosdb", "sql", "database", "show", "-a", "mycosmos", "-g", "rg1", "-n", "appdb", "--query", "resource.id", "-o", "tsv"}, "appdb\n"},
		{[]string{"cosmosdb", "sql", "database", "list", "-a", "mycosmos", "-g", "rg1", "--query", "[].resourceGroup", "-o", "tsv"}, "rg1\n"},
		{[]string{"cosmosdb", "sql", "container", "show", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-n", "orders", "--query", "resource.id", "-o", "tsv"}, "orders\n"},
		{[]string{"cosmosdb", "sql", "container", "list", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-o", "table"}, "orders"},
		{[]string{"cosmosdb", "sql", "database", "delete", "-a", "mycosmos", "-g", "rg1", "-n", "appdb", "--yes"}, ""},
		{[]string{"cosmosdb", "sql", "container", "delete", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-n", "orders", "-y"}, ""},
	} {
		code, out, errOut := f.run(t, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || (tc.want == "" && out != "") {
			t.Errorf("lapis %s: exit %d %q %s", strings.Join(tc.args, " "), code, out, errOut)
		}
	}
	code, out, _ := f.run(t, "cosmosdb", "sql", "container", "list", "-a", "mycosmos", "-g", "rg1", "-d", "appdb", "-o", "table")
	if code != 0 || !strings.Contains(out, "PartitionKey") || !strings.Contains(out, "/customerId") || !strings.Contains(out, "60") {
		t.Errorf("container table:\n%s", out)
	}
	for _, p := range []string{cosmosDB, cosmosContainer} {
		if r := f.last(t, "DELETE", p); r.apiVersion != cosmosAPI {
			t.Errorf("DELETE %s: api-version %s", p, r.apiVersion)
		}
	}
	// A missing parent is the server's 404: exit 3.
	if code, _, errOut := f.run(t, "cosmosdb", "sql", "database", "show", "-a", "nope", "-g", "rg1", "-n", "appdb"); code != 3 || !strings.Contains(errOut, "(ResourceNotFound)") {
		t.Errorf("missing database: exit %d %s", code, errOut)
	}
}

// newCosmosARM serves a real management API with the database account type
// registered, as the document store's service will register it.
func newCosmosARM(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub, err := substrate.Open(ctx, substrate.Config{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	reg := arm.NewRegistry()
	reg.Register(&account.Type{})
	m, err := arm.NewManager(ctx, arm.Options{Substrate: sub, Registry: reg, Logger: log,
		Subscription: arm.Subscription{ID: testSub, TenantID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(arm.NewAPI(m, "test-token"))
	t.Cleanup(srv.Close)
	t.Setenv("LAPIS_TOKEN", "test-token")
	return srv.URL
}

// TestCosmosAccountEndToEnd runs the account commands against a real
// management API with the account type registered.
func TestCosmosAccountEndToEnd(t *testing.T) {
	url := newCosmosARM(t)
	lapis := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, append([]string{"--endpoint", url, "--subscription", testSub}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := lapis(args...)
		if code != 0 {
			t.Fatalf("lapis %s: exit %d %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	must("group", "create", "-n", "rg1", "-l", "westeurope")
	out := must("cosmosdb", "create", "-n", "mycosmos", "-g", "rg1", "--default-consistency-level", "Eventual", "--tags", "env=dev")
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	if created["documentEndpoint"] != "http://mycosmos.localhost:8081/" || created["location"] != "westeurope" || created["resourceGroup"] != "rg1" ||
		!reflect.DeepEqual(created["consistencyPolicy"], map[string]any{"defaultConsistencyLevel": "Eventual", "maxIntervalInSeconds": 5.0, "maxStalenessPrefix": 100.0}) ||
		created["provisioningState"] != "Succeeded" {
		t.Fatalf("created = %v", created)
	}
	if l := created["writeLocations"].([]any); len(l) != 1 || l[0].(map[string]any)["locationName"] != "westeurope" {
		t.Fatalf("writeLocations = %v", l)
	}
	if got := must("cosmosdb", "show", "-n", "mycosmos", "-g", "rg1", "--query", "tags.env", "-o", "tsv"); got != "dev\n" {
		t.Fatalf("show --query tags.env = %q", got)
	}
	if got := must("cosmosdb", "list", "-o", "table"); !strings.Contains(got, "http://mycosmos.localhost:8081/") || !strings.Contains(got, "GlobalDocumentDB") {
		t.Fatalf("list -o table:\n%s", got)
	}

	var keys map[string]string
	if err := json.Unmarshal([]byte(must("cosmosdb", "keys", "list", "-n", "mycosmos", "-g", "rg1")), &keys); err != nil || len(keys) != 4 {
		t.Fatalf("keys = %v %v", keys, err)
	}
	for k, v := range keys {
		if b, err := base64.StdEncoding.DecodeString(v); err != nil || len(b) != 64 {
			t.Errorf("%s = %q", k, v)
		}
	}
	ro := must("cosmosdb", "keys", "list", "-n", "mycosmos", "-g", "rg1", "--type", "read-only-keys", "--query", "primaryReadonlyMasterKey", "-o", "tsv")
	if strings.TrimSpace(ro) != keys["primaryReadonlyMasterKey"] {
		t.Fatalf("read-only key %q", ro)
	}
	cs := must("cosmosdb", "keys", "list", "-n", "mycosmos", "-g", "rg1", "--type", "connection-strings", "--query", "connectionStrings[0].connectionString", "-o", "tsv")
	if want := "AccountEndpoint=http://mycosmos.localhost:8081/;AccountKey=" + keys["primaryMasterKey"] + ";"; strings.TrimSpace(cs) != want {
		t.Fatalf("connection string %q, want %q", cs, want)
	}
	if out := must("cosmosdb", "keys", "regenerate", "-n", "mycosmos", "-g", "rg1", "--key-kind", "secondary"); out != "" {
		t.Fatalf("regenerate printed %q", out)
	}
	after := must("cosmosdb", "keys", "list", "-n", "mycosmos", "-g", "rg1", "--query", "[primaryMasterKey, secondaryMasterKey]", "-o", "tsv")
	if f := strings.Fields(after); len(f) != 2 || f[0] != keys["primaryMasterKey"] || f[1] == keys["secondaryMasterKey"] {
		t.Fatalf("keys after regenerating secondary: %q", after)
	}

	for name, want := range map[string]string{"mycosmos": "true", "nothere": "false"} {
		if got := must("cosmosdb", "check-name-exists", "-n", name); strings.TrimSpace(got) != want {
			t.Errorf("check-name-exists %s = %q", name, got)
		}
	}
	// The server's refusals reach the user as ARM errors.
	must("group", "create", "-n", "rg2", "-l", "westeurope")
	if code, _, errOut := lapis("cosmosdb", "create", "-n", "mycosmos", "-g", "rg2"); code != 1 || !strings.Contains(errOut, "(Conflict)") {
		t.Fatalf("duplicate name: exit %d %s", code, errOut)
	}
	if code, _, errOut := lapis("cosmosdb", "create", "-n", "My_Cosmos", "-g", "rg1"); code != 1 || !strings.Contains(errOut, "(InvalidResourceName)") {
		t.Fatalf("bad name: exit %d %s", code, errOut)
	}
	// The account commands speak an api-version the type serves.
	if code, _, errOut := lapis("cosmosdb", "keys", "list", "-n", "nothere", "-g", "rg1"); code != 3 || !strings.Contains(errOut, "(ResourceNotFound)") {
		t.Fatalf("keys of a missing account: exit %d %s", code, errOut)
	}

	must("cosmosdb", "delete", "-n", "mycosmos", "-g", "rg1", "--yes")
	if code, _, errOut := lapis("cosmosdb", "show", "-n", "mycosmos", "-g", "rg1"); code != 3 {
		t.Fatalf("show after delete: exit %d %s", code, errOut)
	}
	if got := must("cosmosdb", "check-name-exists", "-n", "mycosmos"); strings.TrimSpace(got) != "false" {
		t.Errorf("check-name-exists after delete = %q", got)
	}
}
