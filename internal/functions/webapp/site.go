package webapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/substrate"
)

// SiteTypeName is the ARM type of function apps.
const SiteTypeName = "Microsoft.Web/sites"

// Site states.
const (
	Running = "Running"
	Stopped = "Stopped"
)

// Record.Secrets keys of a site.
const (
	secretMaster     = "keys/master"
	secretHostKeys   = "keys/functionKeys/"
	secretSystemKeys = "keys/systemKeys/"
	secretFnKeys     = "keys/function/" // + lower-case function name + "/" + key name
	secretSettings   = "settings/"
	secretDeployment = "deployment"
	secretRestart    = "restart"
)

// Keys are a site's access keys: the secrets the front door checks.
type Keys struct {
	Master   string
	Host     map[string]string            // host (function) keys by name
	System   map[string]string            // system keys by name (extensions' webhooks)
	Function map[string]map[string]string // lower-case function name → key name → value
}

// Scale is what a site's plan says about instances.
type Scale struct {
	Min       int // always running (Premium always-ready, Dedicated workers); 0 scales to zero
	Max       int // upper bound
	PreWarmed int // Premium's pre-warmed buffer
	// PerInstanceConcurrency is Flex Consumption's HTTP per-instance concurrency (0: the host's default).
	PerInstanceConcurrency int
}

// Site is a function app as the runtime needs it: a view of its record and its plan's.
type Site struct {
	ID         arm.ID
	Name       string
	Key        string // the site's token in bucket keys and subjects: Token(lower(name))
	State      string // Running or Stopped
	SKU        string // the plan's SKU name (Y1 for the implicit Consumption plan)
	Family     Family
	Scale      Scale
	Settings   map[string]string
	Keys       Keys
	Deployment string // active deployment id, "" before the first deployment
	Restart    string // changes on every restart action
}

// DefaultTimeout and MaxTimeout are the plan's functionTimeout default and upper bound (0: unbounded).
func (s *Site) DefaultTimeout() time.Duration {
	if s.Family == Consumption {
		return 5 * time.Minute
	}
	return 30 * time.Minute
}

// MaxTimeout is the plan's upper bound for functionTimeout (0: unbounded).
func (s *Site) MaxTimeout() time.Duration {
	if s.Family == Consumption {
		return 10 * time.Minute
	}
	return 0
}

// SiteKey is the token that names a site in bucket keys and subjects. Site names are unique across groups.
func SiteKey(name string) string { return substrate.Token(strings.ToLower(name)) }

// SiteFromRecord reads a site's record and, when it is on one, its plan's record (nil for the implicit
// Consumption plan or a Flex Consumption app without a plan).
func SiteFromRecord(rec, plan *arm.Record) (*Site, error) {
	id, err := arm.ParseID(rec.ID)
	if err != nil {
		return nil, err
	}
	s := &Site{ID: id, Name: rec.Name, Key: SiteKey(rec.Name), Settings: map[string]string{},
		Keys: Keys{Host: map[string]string{}, System: map[string]string{}, Function: map[string]map[string]string{}}}
	s.State, _ = rec.Properties["state"].(string)
	if s.State == "" {
		s.State = Running
	}
	for k, v := range rec.Secrets {
		switch {
		case k == secretMaster:
			s.Keys.Master = v
		case k == secretDeployment:
			s.Deployment = v
		case k == secretRestart:
			s.Restart = v
		case strings.HasPrefix(k, secretHostKeys):
			s.Keys.Host[k[len(secretHostKeys):]] = v
		case strings.HasPrefix(k, secretSystemKeys):
			s.Keys.System[k[len(secretSystemKeys):]] = v
		case strings.HasPrefix(k, secretSettings):
			s.Settings[k[len(secretSettings):]] = v
		case strings.HasPrefix(k, secretFnKeys):
			fn, name, ok := strings.Cut(k[len(secretFnKeys):], "/")
			if ok {
				if s.Keys.Function[fn] == nil {
					s.Keys.Function[fn] = map[string]string{}
				}
				s.Keys.Function[fn][name] = v
			}
		}
	}
	scaleLimit, hasLimit := siteConfigInt(rec, "functionAppScaleLimit")
	switch {
	case plan != nil && plan.SKU != nil:
		sku, _ := lookupSKU(plan.SKU.Name)
		s.SKU, s.Family = sku.name, sku.kind
		capacity := 1
		if plan.SKU.Capacity != nil && *plan.SKU.Capacity > 0 {
			capacity = *plan.SKU.Capacity
		}
		burst, _ := intProp(plan.Properties, "maximumElasticWorkerCount")
		switch sku.kind {
		case Premium:
			minimum := capacity
			if v, ok := siteConfigInt(rec, "minimumElasticInstanceCount"); ok && v > minimum {
				minimum = v
			}
			s.Scale = Scale{Min: minimum, Max: max(burst, minimum), PreWarmed: 1}
		case Dedicated:
			s.Scale = Scale{Min: capacity, Max: capacity}
		case FlexConsumption:
			s.Scale = flexScale(rec)
		default:
			s.Scale = Scale{Max: DefaultConsumptionMax}
		}
	case strings.EqualFold(str(rec.Properties["sku"]), string(FlexConsumption)):
		s.SKU, s.Family, s.Scale = "FC1", FlexConsumption, flexScale(rec)
	default:
		s.SKU, s.Family, s.Scale = "Y1", Consumption, Scale{Max: DefaultConsumptionMax}
	}
	if hasLimit && scaleLimit > 0 && s.Family != Dedicated {
		s.Scale.Max = min(s.Scale.Max, max(scaleLimit, s.Scale.Min))
	}
	return s, nil
}

func flexScale(rec *arm.Record) Scale {
	sc := Scale{Max: DefaultFlexMax}
	fac, _ := rec.Properties["functionAppConfig"].(map[string]any)
	snc, _ := fac["scaleAndConcurrency"].(map[string]any)
	if v, ok := intProp(snc, "maximumInstanceCount"); ok && v > 0 {
		sc.Max = v
	}
	if ar, ok := snc["alwaysReady"].([]any); ok {
		for _, x := range ar {
			m, _ := x.(map[string]any)
			if n, ok := intProp(m, "instanceCount"); ok {
				sc.Min += n
			}
		}
	}
	if trig, ok := snc["triggers"].(map[string]any); ok {
		h, _ := trig["http"].(map[string]any)
		if v, ok := intProp(h, "perInstanceConcurrency"); ok {
			sc.PerInstanceConcurrency = v
		}
	}
	sc.Min = min(sc.Min, sc.Max)
	return sc
}

func siteConfigInt(rec *arm.Record, k string) (int, bool) {
	sc, _ := rec.Properties["siteConfig"].(map[string]any)
	return intProp(sc, k)
}

func str(v any) string { s, _ := v.(string); return s }

// NewKey returns a new function key: 40 random bytes, URL-safe base64, as long as Azure's.
func NewKey() string {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		panic("webapp: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SiteType is the Microsoft.Web/sites resource type (function apps).
type SiteType struct {
	// Store is the resource store (plans are looked up there).
	Store *arm.Store
	// Data keeps deployments and packages.
	Data *Store
	// Runtime loads deployments and reports what runs; nil leaves deployments unvalidated and unwaited.
	Runtime Runtime
	// FrontDoor gives the base URL of an app's HTTP functions ("http://app.localhost:7071"); nil leaves
	// invoke URLs out.
	FrontDoor func(app string) string
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

var (
	_ arm.ResourceType   = (*SiteType)(nil)
	_ arm.Viewer         = (*SiteType)(nil)
	_ arm.NameTakenError = (*SiteType)(nil)
	_ arm.Deleter        = (*SiteType)(nil)
	_ arm.Subtree        = (*SiteType)(nil)
)

// Info implements arm.ResourceType. Site names are global (they are host names).
func (*SiteType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: Namespace, Type: "sites", APIVersions: APIVersions, RequiresLocation: true,
		GloballyUnique: true, CreatedStatus: http.StatusOK}
}

func (t *SiteType) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

// NameTaken implements arm.NameTakenError with App Service's wording.
func (*SiteType) NameTaken(id, _ arm.ID) error {
	return arm.Errorf(http.StatusConflict, "Conflict", "Website with given name %s already exists.", id.Name())
}

// readOnly are the site properties the server owns.
var readOnly = []string{"state", "hostNames", "enabledHostNames", "defaultHostName", "usageState", "availabilityState",
	"enabled", "sku", "lastModifiedTimeUtc", "resourceGroup", "repositorySiteName", "outboundIpAddresses"}

// Prepare implements arm.ResourceType: it checks the plan and kind, moves siteConfig.appSettings into the
// site's secrets (GET never shows them, as in Azure), and on create makes the master and default host keys.
func (t *SiteType) Prepare(ctx context.Context, req *arm.WriteRequest) error {
	name := req.ID.Name()
	if err := validateName("site", name, 2, 60); err != nil {
		return err
	}
	r := req.New
	if r.Kind == "" {
		if req.Old != nil {
			r.Kind = req.Old.Kind
		} else {
			r.Kind = "functionapp"
		}
	}
	if !strings.Contains(strings.ToLower(r.Kind), "functionapp") {
		return arm.Errorf(http.StatusBadRequest, "BadRequest",
			"Lapis hosts function apps only: kind '%s' must contain 'functionapp' (e.g. 'functionapp,linux').", r.Kind)
	}
	p := r.Properties
	sku := ""
	if farm := str(p["serverFarmId"]); farm != "" {
		pid, err := arm.ParseID(farm)
		if err != nil || len(pid.Types) != 1 || !strings.EqualFold(pid.Namespace, Namespace) || !strings.EqualFold(pid.Types[0], "serverfarms") {
			return badValue("properties.serverFarmId", farm, "the resource id of a Microsoft.Web/serverfarms plan")
		}
		if !strings.EqualFold(pid.Subscription, req.ID.Subscription) {
			return badValue("properties.serverFarmId", farm, "a plan in the app's subscription")
		}
		plan, err := req.Store.Get(ctx, pid)
		if err != nil {
			return err
		}
		if plan == nil {
			return arm.Errorf(http.StatusNotFound, "NotFound", "Server farm with name %s not found.", pid.Name())
		}
		p["serverFarmId"] = plan.ID
		sku = plan.SKU.Tier
	} else {
		switch hint := str(p["sku"]); {
		case strings.EqualFold(hint, string(FlexConsumption)) || p["functionAppConfig"] != nil:
			sku = string(FlexConsumption)
		case hint == "" || strings.EqualFold(hint, "Dynamic"):
			sku = "Dynamic"
		default:
			return badValue("properties.sku", hint, "Dynamic or FlexConsumption for an app without serverFarmId")
		}
		if req.Old != nil && str(req.Old.Properties["serverFarmId"]) != "" {
			p["serverFarmId"] = req.Old.Properties["serverFarmId"]
			sku = str(req.Old.Properties["sku"])
		}
	}
	sc, _ := p["siteConfig"].(map[string]any)
	if sc == nil {
		sc = map[string]any{}
		if req.Old != nil {
			if old, ok := req.Old.Properties["siteConfig"].(map[string]any); ok {
				sc = maps.Clone(old)
			}
		}
	}
	for _, k := range []string{"functionAppScaleLimit", "minimumElasticInstanceCount"} {
		if v, ok := sc[k]; ok && v != nil {
			n, isInt := intProp(sc, k)
			if !isInt || n < 0 || n > 1000 {
				return badValue("properties.siteConfig."+k, v, "a whole number between 0 and 1000")
			}
		}
	}

	secrets := map[string]string{}
	if req.Old != nil {
		maps.Copy(secrets, req.Old.Secrets)
		for _, k := range readOnly {
			if v, ok := req.Old.Properties[k]; ok {
				p[k] = v
			}
		}
	} else {
		secrets[secretMaster] = NewKey()
		secrets[secretHostKeys+"default"] = NewKey()
		p["state"] = Running
	}
	if list, ok := sc["appSettings"].([]any); ok {
		for k := range secrets {
			if strings.HasPrefix(k, secretSettings) {
				delete(secrets, k)
			}
		}
		for i, x := range list {
			m, _ := x.(map[string]any)
			n, v := str(m["name"]), m["value"]
			if n == "" {
				return badValue(fmt.Sprintf("properties.siteConfig.appSettings[%d].name", i), m["name"], "a non-empty setting name")
			}
			if err := validateSettingName(n); err != nil {
				return err
			}
			secrets[secretSettings+n] = fmt.Sprint(nullToEmpty(v))
		}
	} else if sc["appSettings"] != nil {
		return badValue("properties.siteConfig.appSettings", sc["appSettings"], "an array of {name, value}")
	}
	sc["appSettings"] = nil
	p["siteConfig"] = sc
	p["sku"] = sku
	p["enabled"] = true
	p["usageState"] = "Normal"
	p["availabilityState"] = "Normal"
	p["resourceGroup"] = req.ID.ResourceGroup
	p["repositorySiteName"] = name
	p["lastModifiedTimeUtc"] = t.now().Format(time.RFC3339)
	p["reserved"] = strings.Contains(strings.ToLower(r.Kind), "linux") || p["reserved"] == true
	r.Secrets = secrets
	return nil
}

func nullToEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// validateSettingName rejects names that cannot be environment variables.
func validateSettingName(n string) error {
	if n == "" || strings.ContainsAny(n, "=\x00") {
		return arm.Errorf(http.StatusBadRequest, "BadRequest", "AppSetting name '%s' is not valid: it must be non-empty and must not contain '=' or NUL.", n)
	}
	return nil
}

// View implements arm.Viewer: the host names of the app's front door.
func (t *SiteType) View(r *arm.Resource) {
	host := strings.ToLower(r.Name) + ".localhost"
	r.Properties["hostNames"] = []string{host}
	r.Properties["enabledHostNames"] = []string{host}
	r.Properties["defaultHostName"] = host
	if t.FrontDoor != nil {
		r.Properties["defaultHostName"] = strings.TrimPrefix(strings.TrimPrefix(t.FrontDoor(r.Name), "http://"), "https://")
	}
}

// Deleted implements arm.Deleter: the app's deployments and usage go with it (the runtime stops it when it
// sees the record go).
func (t *SiteType) Deleted(ctx context.Context, r *arm.Record) error {
	if t.Data == nil {
		return nil
	}
	return t.Data.DeleteSite(ctx, SiteKey(r.Name))
}

// Site reads a site and its plan from the store.
func (t *SiteType) Site(ctx context.Context, rec *arm.Record) (*Site, error) {
	return LoadSite(ctx, t.Store, rec)
}

// LoadSite reads the plan of a site record from the store and returns the site.
func LoadSite(ctx context.Context, store *arm.Store, rec *arm.Record) (*Site, error) {
	var plan *arm.Record
	if farm := str(rec.Properties["serverFarmId"]); farm != "" {
		pid, err := arm.ParseID(farm)
		if err == nil {
			if plan, err = store.Get(ctx, pid); err != nil {
				return nil, err
			}
		}
	}
	return SiteFromRecord(rec, plan)
}

// sortedNames returns a map's keys sorted.
func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
