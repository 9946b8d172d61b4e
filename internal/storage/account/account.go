package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
)

// TypeName is the ARM type of storage accounts.
const TypeName = "Microsoft.Storage/storageAccounts"

// DevAccount is the well-known development account that always exists on
// the data plane; its name can never be taken by a created account.
const DevAccount = "devstoreaccount1"

// APIVersions are the Microsoft.Storage api-versions served, newest first.
var APIVersions = []string{
	"2025-06-01", "2025-01-01", "2024-01-01", "2023-05-01", "2023-04-01", "2023-01-01", "2022-09-01",
	"2022-05-01", "2021-09-01", "2021-08-01", "2021-06-01", "2021-04-01", "2021-02-01", "2021-01-01",
	"2020-08-01-preview", "2019-06-01", "2019-04-01", "2018-11-01", "2018-07-01", "2018-03-01-preview",
	"2018-02-01", "2017-10-01", "2017-06-01", "2016-12-01", "2016-05-01", "2016-01-01", "2015-06-15",
	"2015-05-01-preview",
}

var (
	skus  = []string{"Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS", "Standard_GZRS", "Standard_RAGZRS"}
	kinds = []string{"Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage"}
)

// Endpoints gives the data-plane base URLs of an account, which depend on
// the ports the server listens on.
type Endpoints func(account string) map[string]string

// Type is the storage account resource type.
type Type struct {
	// Endpoints fills properties.primaryEndpoints (nil leaves it out).
	Endpoints Endpoints
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// OnDelete runs when an account is deleted, before its record goes:
	// the data-plane services remove the account's data there. Set it
	// before the management API serves.
	OnDelete []func(ctx context.Context, account string) error
}

var (
	_ arm.ResourceType   = (*Type)(nil)
	_ arm.Viewer         = (*Type)(nil)
	_ arm.Actor          = (*Type)(nil)
	_ arm.ProviderActor  = (*Type)(nil)
	_ arm.NameTakenError = (*Type)(nil)
	_ arm.Deleter        = (*Type)(nil)
)

// Deleted implements arm.Deleter: the account's blobs and queues go with it.
func (t *Type) Deleted(ctx context.Context, r *arm.Record) error {
	for _, f := range t.OnDelete {
		if err := f(ctx, r.Name); err != nil {
			return fmt.Errorf("delete the data of account %s: %w", r.Name, err)
		}
	}
	return nil
}

// Info implements arm.ResourceType.
func (t *Type) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: "Microsoft.Storage", Type: "storageAccounts", APIVersions: APIVersions,
		RequiresLocation: true, GloballyUnique: true, CreatedStatus: http.StatusOK}
}

func (t *Type) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

// ValidateName applies Azure's storage account name rules.
func ValidateName(name string) error {
	ok := len(name) >= 3 && len(name) <= 24
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "AccountNameInvalid",
			"%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name)
	}
	return nil
}

func invalidParam(field string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidValuesForRequestParameters", "Values for request parameters are invalid: %s.", field)
}

// Prepare implements arm.ResourceType: it validates the account and fills in
// Azure's defaults, its read-only properties and, on create, two keys.
func (t *Type) Prepare(_ context.Context, req *arm.WriteRequest) error {
	name := req.ID.Name()
	if err := ValidateName(name); err != nil {
		return err
	}
	if name == DevAccount {
		return t.NameTaken(req.ID, arm.ID{})
	}
	r := req.New
	if r.SKU == nil || r.SKU.Name == "" {
		if req.Old == nil {
			return arm.Errorf(http.StatusBadRequest, "MissingRequiredProperty", "The required property 'sku' is missing from the request.")
		}
		r.SKU = req.Old.SKU
	}
	i := slices.IndexFunc(skus, func(s string) bool { return strings.EqualFold(s, r.SKU.Name) })
	if i < 0 {
		return invalidParam("sku.name (allowed: " + strings.Join(skus, ", ") + ")")
	}
	r.SKU.Name = skus[i]
	r.SKU.Tier, _, _ = strings.Cut(r.SKU.Name, "_")
	if r.Kind == "" {
		if req.Old != nil {
			r.Kind = req.Old.Kind
		} else {
			r.Kind = "StorageV2"
		}
	}
	k := slices.IndexFunc(kinds, func(s string) bool { return strings.EqualFold(s, r.Kind) })
	if k < 0 {
		return invalidParam("kind (allowed: " + strings.Join(kinds, ", ") + ")")
	}
	r.Kind = kinds[k]
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}

	p := r.Properties
	setDefault := func(key string, v any) {
		if _, ok := p[key]; !ok {
			p[key] = v
		}
	}
	if r.Kind == "StorageV2" || r.Kind == "BlobStorage" {
		setDefault("accessTier", "Hot")
		if at, ok := p["accessTier"].(string); !ok || !slices.Contains([]string{"Hot", "Cool", "Cold", "Premium"}, at) {
			return invalidParam("properties.accessTier (allowed: Hot, Cool, Cold)")
		}
	}
	setDefault("supportsHttpsTrafficOnly", true)
	setDefault("minimumTlsVersion", "TLS1_2")
	setDefault("allowBlobPublicAccess", false)
	setDefault("allowSharedKeyAccess", true)
	setDefault("isHnsEnabled", false)
	setDefault("networkAcls", map[string]any{"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": []any{}, "virtualNetworkRules": []any{}})
	setDefault("encryption", map[string]any{"keySource": "Microsoft.Storage", "services": map[string]any{
		"blob": map[string]any{"enabled": true, "keyType": "Account"},
		"file": map[string]any{"enabled": true, "keyType": "Account"},
	}})
	for _, b := range []string{"supportsHttpsTrafficOnly", "allowBlobPublicAccess", "allowSharedKeyAccess", "isHnsEnabled"} {
		if _, ok := p[b].(bool); !ok {
			return invalidParam("properties." + b + " (must be true or false)")
		}
	}

	// Read-only properties are the server's, whatever the request said.
	if req.Old != nil {
		for _, ro := range []string{"creationTime", "keyCreationTime", "primaryLocation"} {
			p[ro] = req.Old.Properties[ro]
		}
		r.Secrets = req.Old.Secrets
	} else {
		now := t.now().Format(time.RFC3339Nano)
		p["creationTime"] = now
		p["keyCreationTime"] = map[string]any{"key1": now, "key2": now}
		p["primaryLocation"] = r.Location
		r.Secrets = map[string]string{"key1": NewKey(), "key2": NewKey()}
	}
	p["statusOfPrimary"] = "available"
	delete(p, "primaryEndpoints")
	return nil
}

// NewKey returns a new 512-bit account key in base64, the shape Azure uses.
func NewKey() string {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		panic("storage: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// NameTaken implements arm.NameTakenError with Azure's wording.
func (t *Type) NameTaken(id arm.ID, holder arm.ID) error {
	if holder.ResourceGroup != "" && strings.EqualFold(holder.Subscription, id.Subscription) {
		return arm.Errorf(http.StatusConflict, "StorageAccountInAnotherResourceGroup",
			"The account %s is already in another resource group in this subscription.", id.Name())
	}
	return arm.Errorf(http.StatusConflict, "StorageAccountAlreadyTaken", "The storage account named %s is already taken.", id.Name())
}

// View implements arm.Viewer: it adds the data-plane endpoints.
func (t *Type) View(r *arm.Resource) {
	if t.Endpoints != nil {
		eps := map[string]any{}
		for k, v := range t.Endpoints(r.Name) {
			eps[k] = v
		}
		r.Properties["primaryEndpoints"] = eps
	}
}

// Key is one entry of listKeys.
type Key struct {
	KeyName      string `json:"keyName"`
	Value        string `json:"value"`
	Permissions  string `json:"permissions"`
	CreationTime string `json:"creationTime,omitempty"`
}

// Keys returns an account record's keys in listKeys order.
func Keys(r *arm.Record) []Key {
	created, _ := r.Properties["keyCreationTime"].(map[string]any)
	var out []Key
	for _, n := range []string{"key1", "key2"} {
		ct, _ := created[n].(string)
		out = append(out, Key{KeyName: n, Value: r.Secrets[n], Permissions: "FULL", CreationTime: ct})
	}
	return out
}

// Action implements arm.Actor: listKeys and regenerateKey.
func (t *Type) Action(ctx context.Context, req *arm.ActionRequest) (any, error) {
	switch strings.ToLower(req.Action) {
	case "listkeys":
		return map[string]any{"keys": Keys(req.Record)}, nil
	case "regeneratekey":
		var body struct {
			KeyName string `json:"keyName"`
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
				"The request content was invalid and could not be deserialized: '%v'.", err)
		}
		name := strings.ToLower(body.KeyName)
		if name != "key1" && name != "key2" {
			return nil, invalidParam(fmt.Sprintf("keyName '%s' (allowed: key1, key2)", body.KeyName))
		}
		rec, err := req.Update(ctx, func(r *arm.Record) error {
			r.Secrets[name] = NewKey()
			created, _ := r.Properties["keyCreationTime"].(map[string]any)
			if created == nil {
				created = map[string]any{}
			}
			created[name] = t.now().Format(time.RFC3339Nano)
			r.Properties["keyCreationTime"] = created
			return nil
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"keys": Keys(rec)}, nil
	}
	return nil, arm.ErrNoAction
}

// ProviderAction implements arm.ProviderActor: checkNameAvailability.
func (t *Type) ProviderAction(ctx context.Context, req *arm.ActionRequest) (any, error) {
	if !strings.EqualFold(req.Action, "checkNameAvailability") {
		return nil, arm.ErrNoAction
	}
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The request content was invalid and could not be deserialized: '%v'.", err)
	}
	if err := ValidateName(body.Name); err != nil {
		return map[string]any{"nameAvailable": false, "reason": "AccountNameInvalid", "message": arm.AsError(err).Message}, nil
	}
	holder, err := req.Store.NameHolder(ctx, TypeName, body.Name)
	if err != nil {
		return nil, err
	}
	if holder != "" || body.Name == DevAccount {
		return map[string]any{"nameAvailable": false, "reason": "AlreadyExists",
			"message": fmt.Sprintf("The storage account named %s is already taken.", body.Name)}, nil
	}
	return map[string]any{"nameAvailable": true}, nil
}
