package account

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/arm"
)

// Namespace is Cosmos DB's ARM provider namespace.
const Namespace = "Microsoft.DocumentDB"

// TypeName is the ARM type of Cosmos DB accounts.
const TypeName = Namespace + "/databaseAccounts"

// APIVersions are the Microsoft.DocumentDB api-versions served, newest
// first: the stable ones since 2021 (armcosmos/v3 v3.2.0 speaks 2024-11-15,
// v3.1.0 2024-08-15, v3.0.0 2024-05-15) and the previews az uses. The types
// of an account's children (sqlDatabases, containers) should serve the same.
var APIVersions = []string{
	"2025-10-15", "2025-05-01-preview", "2025-04-15", "2024-12-01-preview", "2024-11-15",
	"2024-09-01-preview", "2024-08-15", "2024-05-15", "2024-02-15-preview", "2023-11-15",
	"2023-09-15", "2023-04-15", "2023-03-15", "2022-11-15", "2022-08-15", "2022-05-15",
	"2021-10-15", "2021-06-15", "2021-05-15", "2021-04-15", "2021-03-15", "2021-01-15",
}

// Kind is the only account kind Lapis serves: the NoSQL (SQL) API.
const Kind = "GlobalDocumentDB"

// Consistency levels, as properties.consistencyPolicy.defaultConsistencyLevel
// names them; Session is the default.
var consistencyLevels = []string{"Strong", "BoundedStaleness", "Session", "ConsistentPrefix", "Eventual"}

// unsupportedCapabilities turn an account into another API than NoSQL.
var unsupportedCapabilities = []string{"EnableMongo", "EnableCassandra", "EnableTable", "EnableGremlin"}

// Type is the Microsoft.DocumentDB/databaseAccounts resource type. The
// document store's service registers it with its Endpoint.
type Type struct {
	// Endpoint returns an account's documentEndpoint, which depends on the
	// port the document store listens on; for example
	// func(a string) string { return account.Endpoint(a, port) }.
	// Nil means Endpoint(a, DefaultPort).
	Endpoint func(account string) string
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// OnDelete runs when an account is deleted, after its children and
	// before its record goes: the document store removes the account's
	// data there. Set it before the management API serves.
	OnDelete []func(ctx context.Context, account string) error
}

var (
	_ arm.ResourceType   = (*Type)(nil)
	_ arm.Viewer         = (*Type)(nil)
	_ arm.Actor          = (*Type)(nil)
	_ arm.Subtree        = (*Type)(nil)
	_ arm.NameTakenError = (*Type)(nil)
	_ arm.Deleter        = (*Type)(nil)
)

// Info implements arm.ResourceType.
func (t *Type) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: Namespace, Type: "databaseAccounts", APIVersions: APIVersions,
		RequiresLocation: true, GloballyUnique: true, CreatedStatus: http.StatusOK,
		DeletedStatus: http.StatusNoContent, NamesCollection: "databaseAccountNames"}
}

func (t *Type) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

func (t *Type) endpoint(account string) string {
	if t.Endpoint != nil {
		return t.Endpoint(account)
	}
	return Endpoint(account, DefaultPort)
}

// ValidateName applies Azure's account name rules: 3 to 44 characters,
// lower-case letters, digits and single hyphens between them.
func ValidateName(name string) error {
	ok := len(name) >= 3 && len(name) <= 44 && name[0] != '-' && name[len(name)-1] != '-' && !strings.Contains(name, "--")
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
			"Database account name '%s' is invalid: it must be 3 to 44 characters long and contain only lower-case letters, digits and hyphens, with no hyphen first, last or next to another.", name)
	}
	return nil
}

func badRequest(format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, "BadRequest", format, args...)
}

// NameTaken implements arm.NameTakenError.
func (t *Type) NameTaken(id arm.ID, holder arm.ID) error {
	where := "the built-in emulator account"
	if holder.ResourceGroup != "" {
		where = holder.String()
	}
	return arm.Errorf(http.StatusConflict, "Conflict",
		"Database account name '%s' already exists (%s); account names are unique across the server because the name is the endpoint's host name.",
		id.Name(), where)
}

// Deleted implements arm.Deleter: the account's documents go with it.
func (t *Type) Deleted(ctx context.Context, r *arm.Record) error {
	for _, f := range t.OnDelete {
		if err := f(ctx, r.Name); err != nil {
			return fmt.Errorf("delete the data of database account %s: %w", r.Name, err)
		}
	}
	return nil
}

// readOnly are the properties the server owns: a request cannot set them.
var readOnly = []string{"documentEndpoint", "instanceId", "keysMetadata", "writeLocations", "readLocations",
	"failoverPolicies", "privateEndpointConnections", "databaseAccountOfferType"}

// Prepare implements arm.ResourceType: it validates the account and fills
// in Azure's defaults, its read-only properties and, on create, its keys.
func (t *Type) Prepare(_ context.Context, req *arm.WriteRequest) error {
	name := req.ID.Name()
	if err := ValidateName(name); err != nil {
		return err
	}
	if name == EmulatorAccount {
		return t.NameTaken(req.ID, arm.ID{})
	}
	r := req.New
	if err := checkKind(r, req.Old); err != nil {
		return err
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	p := r.Properties
	if v, ok := p["databaseAccountOfferType"]; ok && !strings.EqualFold(fmt.Sprint(v), "Standard") {
		return badRequest("properties.databaseAccountOfferType '%v' is not valid: the only offer type is Standard.", v)
	}
	if v, ok := p["createMode"]; ok && !strings.EqualFold(fmt.Sprint(v), "Default") {
		return badRequest("properties.createMode '%v' is not supported by Lapis: accounts are created empty (Default); there are no backups to restore.", v)
	}
	p["createMode"] = "Default"
	// Read-only properties are the server's, whatever the request said.
	for _, k := range readOnly {
		delete(p, k)
	}
	if err := checkCapabilities(p); err != nil {
		return err
	}
	if err := checkConsistency(p); err != nil {
		return err
	}
	if err := fillDefaults(p); err != nil {
		return err
	}
	if err := setLocations(p, name, r.Location); err != nil {
		return err
	}
	p["databaseAccountOfferType"] = "Standard"
	if req.Old != nil {
		for _, k := range []string{"instanceId", "keysMetadata"} {
			p[k] = req.Old.Properties[k]
		}
		r.Secrets = req.Old.Secrets
	} else {
		p["instanceId"] = uuid.NewString()
		now := t.now().Format(time.RFC3339Nano)
		meta := map[string]any{}
		r.Secrets = map[string]string{}
		for _, s := range slots {
			r.Secrets[s.secret] = NewKey()
			meta[s.secret] = map[string]any{"generationTime": now}
		}
		p["keysMetadata"] = meta
	}
	p["privateEndpointConnections"] = []any{}
	return nil
}

// checkKind fills in the kind and refuses the APIs Lapis does not serve.
func checkKind(r, old *arm.Record) error {
	switch {
	case r.Kind == "" && old != nil:
		r.Kind = old.Kind
	case r.Kind == "" || strings.EqualFold(r.Kind, Kind):
		r.Kind = Kind
	case strings.EqualFold(r.Kind, "MongoDB") || strings.EqualFold(r.Kind, "Parse"):
		return badRequest("Database account kind '%s' is not supported: Lapis's document store serves the NoSQL (SQL) API only; use kind %s.", r.Kind, Kind)
	default:
		return badRequest("Database account kind '%s' is not valid: use %s.", r.Kind, Kind)
	}
	return nil
}

func checkCapabilities(p map[string]any) error {
	caps, err := list(p, "capabilities")
	if err != nil {
		return err
	}
	for _, c := range caps {
		m, ok := c.(map[string]any)
		n, isString := m["name"].(string)
		if !ok || !isString || n == "" {
			return badRequest("properties.capabilities must be a list of {\"name\": \"...\"} objects.")
		}
		if i := slices.IndexFunc(unsupportedCapabilities, func(u string) bool { return strings.EqualFold(u, n) }); i >= 0 {
			return badRequest("Capability '%s' is not supported: Lapis's document store serves the NoSQL (SQL) API only.", unsupportedCapabilities[i])
		}
	}
	return nil
}

// checkConsistency validates properties.consistencyPolicy and fills in
// Azure's defaults: Session, 5 seconds, 100 operations.
func checkConsistency(p map[string]any) error {
	cp := map[string]any{}
	switch v := p["consistencyPolicy"].(type) {
	case nil:
	case map[string]any:
		cp = v
	default:
		return badRequest("properties.consistencyPolicy must be an object.")
	}
	level := "Session"
	if v, ok := cp["defaultConsistencyLevel"]; ok {
		s, _ := v.(string)
		i := slices.IndexFunc(consistencyLevels, func(l string) bool { return strings.EqualFold(l, s) })
		if i < 0 {
			return badRequest("properties.consistencyPolicy.defaultConsistencyLevel '%v' is not valid: use %s.", v, strings.Join(consistencyLevels, ", "))
		}
		level = consistencyLevels[i]
	}
	interval, err := intIn(cp, "maxIntervalInSeconds", 5, 5, 86400)
	if err != nil {
		return err
	}
	prefix, err := intIn(cp, "maxStalenessPrefix", 100, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	p["consistencyPolicy"] = map[string]any{"defaultConsistencyLevel": level, "maxIntervalInSeconds": interval, "maxStalenessPrefix": prefix}
	return nil
}

// Boolean properties and their defaults.
var boolDefaults = []string{"enableFreeTier", "enableAutomaticFailover", "enableMultipleWriteLocations",
	"enableAnalyticalStorage", "isVirtualNetworkFilterEnabled", "disableKeyBasedMetadataWriteAccess",
	"disableLocalAuth", "enablePartitionMerge", "enableBurstCapacity"}

// String properties with a fixed set of values, the first the default.
var enumDefaults = []struct {
	key    string
	values []string
}{
	{"publicNetworkAccess", []string{"Enabled", "Disabled", "SecuredByPerimeter"}},
	{"minimalTlsVersion", []string{"Tls12", "Tls11", "Tls"}},
	{"networkAclBypass", []string{"None", "AzureServices"}},
}

// List properties, empty by default.
var listDefaults = []string{"capabilities", "ipRules", "virtualNetworkRules", "cors", "networkAclBypassResourceIds"}

// fillDefaults validates the simple properties and fills in Azure's defaults.
func fillDefaults(p map[string]any) error {
	for _, k := range boolDefaults {
		switch v := p[k].(type) {
		case nil:
			p[k] = false
		case bool:
		default:
			return badRequest("properties.%s must be true or false, not %v.", k, v)
		}
	}
	for _, e := range enumDefaults {
		v, ok := p[e.key]
		if !ok || v == nil {
			p[e.key] = e.values[0]
			continue
		}
		s, _ := v.(string)
		i := slices.IndexFunc(e.values, func(a string) bool { return strings.EqualFold(a, s) })
		if i < 0 {
			return badRequest("properties.%s '%v' is not valid: use %s.", e.key, v, strings.Join(e.values, ", "))
		}
		p[e.key] = e.values[i]
	}
	for _, k := range listDefaults {
		l, err := list(p, k)
		if err != nil {
			return err
		}
		p[k] = l
	}
	switch v := p["backupPolicy"].(type) {
	case nil:
		// Stored as Azure shows it; Lapis takes no backups.
		p["backupPolicy"] = map[string]any{"type": "Periodic", "periodicModeProperties": map[string]any{
			"backupIntervalInMinutes": 240, "backupRetentionIntervalInHours": 8, "backupStorageRedundancy": "Geo"}}
	case map[string]any:
		if typ, _ := v["type"].(string); typ != "Periodic" && typ != "Continuous" {
			return badRequest("properties.backupPolicy.type '%v' is not valid: use Periodic or Continuous.", v["type"])
		}
	default:
		return badRequest("properties.backupPolicy must be an object.")
	}
	return nil
}

// setLocations validates properties.locations (default: the resource's
// location alone) and derives the read and write locations and the
// failover policies from them. Every location is served by the same store
// and endpoint: Lapis does not replicate.
func setLocations(p map[string]any, account, location string) error {
	in, err := list(p, "locations")
	if err != nil {
		return err
	}
	if len(in) == 0 {
		in = []any{map[string]any{"locationName": location, "failoverPriority": 0}}
	}
	type loc struct {
		name     string
		priority int64
		zone     bool
	}
	var locs []loc
	seen := map[string]bool{}
	for i, e := range in {
		m, ok := e.(map[string]any)
		if !ok {
			return badRequest("properties.locations[%d] must be an object with a locationName.", i)
		}
		name, _ := m["locationName"].(string)
		norm := arm.NormalizeLocation(name)
		if norm == "" {
			return badRequest("properties.locations[%d].locationName is required.", i)
		}
		if seen[norm] {
			return badRequest("Location '%s' appears more than once in properties.locations.", name)
		}
		seen[norm] = true
		prio, err := intIn(m, "failoverPriority", int64(i), 0, int64(len(in)-1))
		if err != nil {
			return badRequest("properties.locations[%d]: %v", i, arm.AsError(err).Message)
		}
		zone, ok := m["isZoneRedundant"].(bool)
		if v, given := m["isZoneRedundant"]; given && !ok {
			return badRequest("properties.locations[%d].isZoneRedundant must be true or false, not %v.", i, v)
		}
		locs = append(locs, loc{strings.TrimSpace(name), prio, zone})
	}
	slices.SortStableFunc(locs, func(a, b loc) int { return int(a.priority - b.priority) })
	for i, l := range locs {
		if l.priority != int64(i) {
			return badRequest("The failoverPriority values of properties.locations must be 0 to %d, each used once.", len(locs)-1)
		}
	}
	multiWrite, _ := p["enableMultipleWriteLocations"].(bool)
	var all, write, policies []any
	for _, l := range locs {
		id := account + "-" + arm.NormalizeLocation(l.name)
		e := map[string]any{"id": id, "locationName": l.name, "failoverPriority": l.priority,
			"isZoneRedundant": l.zone, "provisioningState": arm.ProvisioningSucceeded}
		all = append(all, e)
		if l.priority == 0 || multiWrite {
			write = append(write, e)
		}
		policies = append(policies, map[string]any{"id": id, "locationName": l.name, "failoverPriority": l.priority})
	}
	p["locations"], p["readLocations"], p["writeLocations"], p["failoverPolicies"] = all, all, write, policies
	return nil
}

// list reads a list property; absent or null is an empty list.
func list(p map[string]any, key string) ([]any, error) {
	switch v := p[key].(type) {
	case nil:
		return []any{}, nil
	case []any:
		return v, nil
	default:
		return nil, badRequest("properties.%s must be a list.", key)
	}
}

// intIn reads a whole number between lo and hi from m[key], def if absent.
// Stored numbers come back as int64 or float64.
func intIn(m map[string]any, key string, def, lo, hi int64) (int64, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return def, nil
	}
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x > math.MaxInt64 {
			return 0, badRequest("%s must be a whole number, not %v.", key, v)
		}
		n = int64(x)
	default:
		return 0, badRequest("%s must be a whole number, not %v.", key, v)
	}
	if n < lo || n > hi {
		return 0, badRequest("%s %d is out of range: it must be between %d and %d.", key, n, lo, hi)
	}
	return n, nil
}

// View implements arm.Viewer: it adds the document endpoint, to the
// account and to each of its locations.
func (t *Type) View(r *arm.Resource) {
	ep := t.endpoint(r.Name)
	r.Properties["documentEndpoint"] = ep
	for _, k := range []string{"locations", "readLocations", "writeLocations"} {
		l, _ := r.Properties[k].([]any)
		out := make([]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				c := make(map[string]any, len(m)+1)
				for mk, mv := range m {
					c[mk] = mv
				}
				c["documentEndpoint"] = ep
				e = c
			}
			out = append(out, e)
		}
		r.Properties[k] = out
	}
}
