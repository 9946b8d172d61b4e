package webapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
)

// Namespace is the provider namespace of function apps and plans.
const Namespace = "Microsoft.Web"

// APIVersions are the Microsoft.Web api-versions served, newest first.
var APIVersions = []string{"2024-11-01", "2024-04-01", "2023-12-01", "2023-01-01", "2022-09-01", "2022-03-01", "2021-03-01"}

// Family is how a hosting plan runs and bills its apps.
type Family string

// The plan families of the seed's hosting-plan table.
const (
	Consumption     Family = "Consumption"     // Y1: scale to zero, cold starts, 10 min maximum timeout
	FlexConsumption Family = "FlexConsumption" // FC1: scale to zero, per-instance concurrency, no timeout cap
	Premium         Family = "Premium"         // EP1-EP3: always-ready and pre-warmed instances, elastic scale-out
	Dedicated       Family = "Dedicated"       // B*, S*, P*v2, P*v3: a fixed number of instances
)

// planSKU describes one SKU.
type planSKU struct {
	name, tier, family string
	kind               Family
}

var planSKUs = func() []planSKU {
	out := []planSKU{{"Y1", "Dynamic", "Y", Consumption}, {"FC1", "FlexConsumption", "FC", FlexConsumption}}
	for _, n := range []string{"EP1", "EP2", "EP3"} {
		out = append(out, planSKU{n, "ElasticPremium", "EP", Premium})
	}
	for _, tier := range []struct{ prefix, tier, suffix string }{
		{"B", "Basic", ""}, {"S", "Standard", ""}, {"P", "PremiumV2", "v2"}, {"P", "PremiumV3", "v3"},
	} {
		for i := 1; i <= 3; i++ {
			out = append(out, planSKU{fmt.Sprintf("%s%d%s", tier.prefix, i, tier.suffix), tier.tier, tier.prefix + tier.suffix, Dedicated})
		}
	}
	return out
}()

func lookupSKU(name string) (planSKU, bool) {
	i := slices.IndexFunc(planSKUs, func(s planSKU) bool { return strings.EqualFold(s.name, name) })
	if i < 0 {
		return planSKU{}, false
	}
	return planSKUs[i], true
}

func skuNames() string {
	var names []string
	for _, s := range planSKUs {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

// Default plan limits.
const (
	// DefaultMaxBurst is a Premium plan's maximumElasticWorkerCount when none is given.
	DefaultMaxBurst = 20
	// DefaultConsumptionMax is the instance limit of a Consumption app without functionAppScaleLimit.
	DefaultConsumptionMax = 200
	// DefaultFlexMax is a Flex Consumption app's maximumInstanceCount when none is given.
	DefaultFlexMax = 100
)

// PlanType is the Microsoft.Web/serverfarms resource type.
type PlanType struct {
	// Store is the resource store, to find the apps on a plan.
	Store *arm.Store
}

var (
	_ arm.ResourceType = (*PlanType)(nil)
	_ arm.Deleter      = (*PlanType)(nil)
)

// Info implements arm.ResourceType.
func (*PlanType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: Namespace, Type: "serverfarms", APIVersions: APIVersions, RequiresLocation: true,
		CreatedStatus: http.StatusOK}
}

// Prepare implements arm.ResourceType: it checks the SKU and fills in its tier, family and Azure's defaults.
func (*PlanType) Prepare(_ context.Context, req *arm.WriteRequest) error {
	if err := validateName("serverfarm", req.ID.Name(), 1, 60); err != nil {
		return err
	}
	r := req.New
	if r.SKU == nil || r.SKU.Name == "" {
		if req.Old == nil {
			return arm.Errorf(http.StatusBadRequest, "MissingRequiredProperty", "The required property 'sku' is missing from the request.")
		}
		r.SKU = req.Old.SKU
	}
	sku, ok := lookupSKU(r.SKU.Name)
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "InvalidSku", "The sku '%s' is not valid for a function app plan; allowed: %s.", r.SKU.Name, skuNames())
	}
	capacity := 1
	if r.SKU.Capacity != nil {
		capacity = *r.SKU.Capacity
	}
	if capacity < 1 || capacity > 100 {
		return badValue("sku.capacity", capacity, "between 1 and 100")
	}
	if sku.kind == Consumption || sku.kind == FlexConsumption {
		capacity = 0
	}
	r.SKU = &arm.SKU{Name: sku.name, Tier: sku.tier, Size: sku.name, Family: sku.family, Capacity: &capacity}
	if r.Kind == "" {
		switch sku.kind {
		case Premium:
			r.Kind = "elastic"
		case Consumption, FlexConsumption:
			r.Kind = "functionapp"
		default:
			r.Kind = "app"
		}
	}
	p := r.Properties
	reserved, _ := p["reserved"].(bool)
	if v, ok := p["reserved"]; ok && v != nil {
		if _, isBool := v.(bool); !isBool {
			return badValue("properties.reserved", v, "true or false")
		}
	}
	if strings.Contains(strings.ToLower(r.Kind), "linux") {
		reserved = true
	}
	p["reserved"] = reserved
	maxBurst := 0
	switch sku.kind {
	case Premium:
		maxBurst = DefaultMaxBurst
		if v, ok := intProp(p, "maximumElasticWorkerCount"); ok {
			if v < capacity || v > 100 {
				return badValue("properties.maximumElasticWorkerCount", v, fmt.Sprintf("between the minimum instance count (%d) and 100", capacity))
			}
			maxBurst = v
		}
		p["elasticScaleEnabled"] = true
	case Dedicated:
		maxBurst = capacity
		p["elasticScaleEnabled"] = false
	}
	p["maximumElasticWorkerCount"] = maxBurst
	p["numberOfWorkers"] = capacity
	p["status"] = "Ready"
	p["provisioningState"] = "Succeeded"
	p["computeMode"] = map[Family]string{Consumption: "Dynamic", FlexConsumption: "Dynamic", Premium: "Dynamic", Dedicated: "Dedicated"}[sku.kind]
	p["planFamily"] = string(sku.kind)
	return nil
}

// Deleted implements arm.Deleter: a plan that still hosts apps cannot go, as in Azure.
func (t *PlanType) Deleted(ctx context.Context, r *arm.Record) error {
	id, err := arm.ParseID(r.ID)
	if err != nil || t.Store == nil {
		return err
	}
	sites, err := t.Store.Resources(ctx, arm.Query{Subscription: id.Subscription, Namespace: Namespace, Types: []string{"sites"}})
	if err != nil {
		return err
	}
	var on []string
	for _, s := range sites {
		if farm, _ := s.Properties["serverFarmId"].(string); strings.EqualFold(farm, r.ID) {
			on = append(on, s.Name)
		}
	}
	if len(on) > 0 {
		return arm.Errorf(http.StatusConflict, "Conflict", "Server farm '%s' cannot be deleted because it has web app(s) %s assigned to it.",
			r.Name, strings.Join(on, ","))
	}
	return nil
}

func intProp(p map[string]any, k string) (int, bool) {
	switch v := p[k].(type) {
	case float64:
		return int(v), true
	case int:
		return v, true
	case int64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

func badValue(field string, v any, allowed string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The value '%v' of %s is not valid: it must be %s.", v, field, allowed)
}

// validateName applies App Service's name rules: letters, digits and hyphens, not starting or ending with one.
func validateName(what, name string, minLen, maxLen int) error {
	ok := len(name) >= minLen && len(name) <= maxLen && name[0] != '-' && name[len(name)-1] != '-'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
			"The %s name '%s' is not valid: it must be %d to %d characters of letters, digits and hyphens, and must not start or end with a hyphen.",
			what, name, minLen, maxLen)
	}
	return nil
}
