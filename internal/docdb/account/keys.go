package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
)

// The names of an account's keys in its record's secrets, which are also
// their names in listKeys.
const (
	SecretPrimary           = "primaryMasterKey"
	SecretSecondary         = "secondaryMasterKey"
	SecretPrimaryReadonly   = "primaryReadonlyMasterKey"
	SecretSecondaryReadonly = "secondaryReadonlyMasterKey"
)

// slot is one of an account's four keys.
type slot struct {
	kind     string // regenerateKey's keyKind
	secret   string // the secret's name
	label    string // for listConnectionStrings' description
	readOnly bool
}

var slots = []slot{
	{"primary", SecretPrimary, "Primary", false},
	{"secondary", SecretSecondary, "Secondary", false},
	{"primaryReadonly", SecretPrimaryReadonly, "Primary Read-Only", true},
	{"secondaryReadonly", SecretSecondaryReadonly, "Secondary Read-Only", true},
}

// connectionKind is the slot's keyKind in listConnectionStrings: Primary, PrimaryReadonly, ...
func (s slot) connectionKind() string { return strings.ToUpper(s.kind[:1]) + s.kind[1:] }

// NewKey returns a new account key: 64 random bytes in base64, the shape
// Cosmos DB's keys have.
func NewKey() string {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		panic("docdb: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Keys is the answer of listKeys.
type Keys struct {
	PrimaryMasterKey           string `json:"primaryMasterKey"`
	SecondaryMasterKey         string `json:"secondaryMasterKey"`
	PrimaryReadonlyMasterKey   string `json:"primaryReadonlyMasterKey"`
	SecondaryReadonlyMasterKey string `json:"secondaryReadonlyMasterKey"`
}

// ReadOnlyKeys is the answer of readonlykeys.
type ReadOnlyKeys struct {
	PrimaryReadonlyMasterKey   string `json:"primaryReadonlyMasterKey"`
	SecondaryReadonlyMasterKey string `json:"secondaryReadonlyMasterKey"`
}

// ConnectionString is one entry of listConnectionStrings.
type ConnectionString struct {
	ConnectionString string `json:"connectionString"`
	Description      string `json:"description"`
	KeyKind          string `json:"keyKind"`
	Type             string `json:"type"`
}

// KeysOf returns an account record's keys.
func KeysOf(r *arm.Record) Keys {
	return Keys{r.Secrets[SecretPrimary], r.Secrets[SecretSecondary], r.Secrets[SecretPrimaryReadonly], r.Secrets[SecretSecondaryReadonly]}
}

// ConnectionStrings returns the connection strings of an account whose
// documentEndpoint is endpoint, in listConnectionStrings order.
func ConnectionStrings(endpoint string, r *arm.Record) []ConnectionString {
	out := make([]ConnectionString, 0, len(slots))
	for _, s := range slots {
		out = append(out, ConnectionString{
			ConnectionString: "AccountEndpoint=" + endpoint + ";AccountKey=" + r.Secrets[s.secret] + ";",
			Description:      s.label + " SQL Connection String", KeyKind: s.connectionKind(), Type: "Sql"})
	}
	return out
}

func invalidContent(err error) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%v'.", err)
}

// Action implements arm.Actor: listKeys, readonlykeys (also as
// listReadOnlyKeys), listConnectionStrings and regenerateKey, which
// answers nothing, as in Azure.
func (t *Type) Action(ctx context.Context, req *arm.ActionRequest) (any, error) {
	switch strings.ToLower(req.Action) {
	case "listkeys":
		return KeysOf(req.Record), nil
	case "readonlykeys", "listreadonlykeys":
		k := KeysOf(req.Record)
		return ReadOnlyKeys{k.PrimaryReadonlyMasterKey, k.SecondaryReadonlyMasterKey}, nil
	case "listconnectionstrings":
		return map[string]any{"connectionStrings": ConnectionStrings(t.endpoint(req.Record.Name), req.Record)}, nil
	case "regeneratekey":
		return nil, t.regenerate(ctx, req)
	}
	return nil, arm.ErrNoAction
}

func (t *Type) regenerate(ctx context.Context, req *arm.ActionRequest) error {
	var body struct {
		KeyKind string `json:"keyKind"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return invalidContent(err)
	}
	var s *slot
	for i := range slots {
		if strings.EqualFold(slots[i].kind, body.KeyKind) {
			s = &slots[i]
		}
	}
	if s == nil {
		return badRequest("keyKind '%s' is not valid: use primary, secondary, primaryReadonly or secondaryReadonly.", body.KeyKind)
	}
	_, err := req.Update(ctx, func(r *arm.Record) error {
		if r.Secrets == nil {
			return errors.New("docdb: account record without keys")
		}
		r.Secrets[s.secret] = NewKey()
		meta, _ := r.Properties["keysMetadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta[s.secret] = map[string]any{"generationTime": t.now().Format(time.RFC3339Nano)}
		r.Properties["keysMetadata"] = meta
		return nil
	})
	return err
}

// maxActionBody bounds an action's request body.
const maxActionBody = 1 << 20

// ServeSubtree implements arm.Subtree for what lies below an account and
// is not a child type (sqlDatabases and the like are): the POST actions,
// which it hands to Action, and GET readonlykeys, which Azure also serves.
func (t *Type) ServeSubtree(w http.ResponseWriter, r *http.Request, req *arm.SubtreeRequest) error {
	name := req.Path[0]
	if len(req.Path) == 1 && r.Method == http.MethodGet && strings.EqualFold(name, "readonlykeys") {
		name = "readonlykeys"
	} else if len(req.Path) != 1 || r.Method != http.MethodPost {
		return noSuchType(req)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
	if err != nil {
		return invalidContent(err)
	}
	ctx := r.Context()
	res, err := t.Action(ctx, &arm.ActionRequest{ID: req.ID, Subscription: req.ID.Subscription, Action: name,
		APIVersion: req.APIVersion, Body: body, Record: req.Record, Store: req.Store, Update: req.Update})
	if errors.Is(err, arm.ErrNoAction) {
		return noSuchType(req)
	}
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		req.Event(ctx, arm.EventActionSuccess, TypeName+"/"+name+"/action")
	}
	if res == nil {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return arm.WriteJSON(w, http.StatusOK, res)
}

// noSuchType is ARM's answer for a path below an account that names no
// action or child type.
func noSuchType(req *arm.SubtreeRequest) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceType",
		"The resource type 'databaseAccounts/%s' could not be found in the namespace '%s' for api version '%s'.",
		strings.Join(req.Path, "/"), Namespace, req.APIVersion)
}
