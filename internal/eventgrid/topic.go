package eventgrid

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
)

// Namespace is Event Grid's ARM provider namespace.
const Namespace = "Microsoft.EventGrid"

// TopicTypeName is the ARM type of custom topics.
const TopicTypeName = Namespace + "/topics"

// APIVersions are the Microsoft.EventGrid api-versions served, newest first.
var APIVersions = []string{"2025-02-15", "2024-06-01-preview", "2023-12-15-preview", "2022-06-15", "2021-12-01", "2020-06-01"}

// TopicType is the Microsoft.EventGrid/topics resource type.
type TopicType struct {
	// Endpoint returns a topic's publish URL (properties.endpoint).
	Endpoint func(topic string) string
	// Purge removes a deleted topic's stored events.
	Purge func(ctx context.Context, topic string) error
}

var (
	_ arm.ResourceType   = (*TopicType)(nil)
	_ arm.Viewer         = (*TopicType)(nil)
	_ arm.Actor          = (*TopicType)(nil)
	_ arm.Deleter        = (*TopicType)(nil)
	_ arm.NameTakenError = (*TopicType)(nil)
)

// Info implements arm.ResourceType. Topic names are globally unique in
// Lapis: Azure makes them unique per region because the name is the first
// label of the endpoint's host name, and Lapis serves every topic on one
// host name, {topic}.localhost.
func (t *TopicType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: Namespace, Type: "topics", APIVersions: APIVersions,
		RequiresLocation: true, GloballyUnique: true}
}

// ValidTopicName reports whether name follows Azure's rule for topic names:
// 3 to 50 characters, ASCII letters, digits and hyphens.
func ValidTopicName(name string) bool {
	if len(name) < 3 || len(name) > 50 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func badProperty(format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRequest", format, args...)
}

// Prepare implements arm.ResourceType: it validates the topic and fills in
// its defaults, read-only properties and, on create, its two keys.
func (t *TopicType) Prepare(_ context.Context, req *arm.WriteRequest) error {
	name := req.ID.Name()
	if !ValidTopicName(name) {
		// Lapis's wording of Azure's rule.
		return arm.Errorf(http.StatusBadRequest, "InvalidTopicName",
			"Topic name '%s' is not valid: a topic name must be 3 to 50 characters long and contain only letters, digits and hyphens.", name)
	}
	r := req.New
	if r.Properties == nil {
		r.Properties = map[string]any{}
	}
	p := r.Properties

	in, err := inputSchema(p["inputSchema"])
	if err != nil {
		return err
	}
	if req.Old != nil {
		old, _ := inputSchema(req.Old.Properties["inputSchema"])
		if _, given := p["inputSchema"]; given && in != old {
			return badProperty("The inputSchema of topic '%s' is %s and cannot be changed after the topic is created; create a new topic instead.", name, old)
		}
		in = old
	}
	p["inputSchema"] = in.String()

	switch v := p["publicNetworkAccess"].(type) {
	case nil:
		p["publicNetworkAccess"] = "Enabled"
	case string:
		switch strings.ToLower(v) {
		case "enabled":
			p["publicNetworkAccess"] = "Enabled"
		case "disabled":
			p["publicNetworkAccess"] = "Disabled"
		default:
			return badProperty("properties.publicNetworkAccess '%s' is not valid: use Enabled or Disabled.", v)
		}
	default:
		return badProperty("properties.publicNetworkAccess must be a string: Enabled or Disabled.")
	}
	switch v := p["disableLocalAuth"].(type) {
	case nil:
		p["disableLocalAuth"] = false
	case bool:
	default:
		return badProperty("properties.disableLocalAuth must be true or false, not %v.", v)
	}
	if _, ok := p["inboundIpRules"]; !ok {
		p["inboundIpRules"] = []any{}
	}
	if _, ok := p["dataResidencyBoundary"]; !ok {
		p["dataResidencyBoundary"] = "WithinGeopair"
	}
	if r.SKU == nil || r.SKU.Name == "" {
		r.SKU = &arm.SKU{Name: "Basic"}
		if req.Old != nil && req.Old.SKU != nil {
			r.SKU = req.Old.SKU
		}
	}
	if r.Kind == "" {
		r.Kind = "Azure"
	}

	// Read-only properties are the server's, whatever the request said.
	p["provisioningState"] = arm.ProvisioningSucceeded
	delete(p, "endpoint")
	if req.Old != nil {
		p["metricResourceId"] = req.Old.Properties["metricResourceId"]
		r.Secrets = req.Old.Secrets
	} else {
		p["metricResourceId"] = uuid.NewString()
		r.Secrets = map[string]string{"key1": NewKey(), "key2": NewKey()}
	}
	return nil
}

// inputSchema reads properties.inputSchema; CustomEventSchema is refused.
func inputSchema(v any) (schema.Schema, error) {
	if v == nil {
		return schema.EventGridSchema, nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, badProperty("properties.inputSchema must be a string: EventGridSchema or CloudEventSchemaV1_0.")
	}
	in, err := schema.ParseSchema(s)
	if err != nil {
		return 0, badProperty("properties.inputSchema '%s' is not valid: use EventGridSchema or CloudEventSchemaV1_0.", s)
	}
	if in == schema.CustomEventSchema {
		return 0, badProperty("properties.inputSchema CustomEventSchema (custom input schema mappings) is not supported by Lapis: use EventGridSchema or CloudEventSchemaV1_0.")
	}
	return in, nil
}

// TopicSchema returns a topic record's input schema.
func TopicSchema(r *arm.Record) schema.Schema {
	s, _ := inputSchema(r.Properties["inputSchema"])
	return s
}

// NewKey returns a new topic access key: 32 random bytes in base64, the
// shape Azure's keys have.
func NewKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("eventgrid: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// NameTaken implements arm.NameTakenError.
func (t *TopicType) NameTaken(id arm.ID, holder arm.ID) error {
	return arm.Errorf(http.StatusConflict, "TopicNameAlreadyExists",
		"A topic named '%s' already exists (%s); topic names are unique across the server because the name is the endpoint's host name.",
		id.Name(), holder.String())
}

// View implements arm.Viewer: it adds the publish endpoint.
func (t *TopicType) View(r *arm.Resource) {
	if t.Endpoint != nil {
		r.Properties["endpoint"] = t.Endpoint(r.Name)
	}
}

// Deleted implements arm.Deleter: a deleted topic's events go with it.
func (t *TopicType) Deleted(ctx context.Context, r *arm.Record) error {
	if t.Purge == nil {
		return nil
	}
	if err := t.Purge(ctx, r.Name); err != nil {
		return fmt.Errorf("delete the events of topic %s: %w", r.Name, err)
	}
	return nil
}

// Keys are the answer of listKeys and regenerateKey.
type Keys struct {
	Key1 string `json:"key1"`
	Key2 string `json:"key2"`
}

func keysOf(r *arm.Record) Keys { return Keys{Key1: r.Secrets["key1"], Key2: r.Secrets["key2"]} }

// Action implements arm.Actor: listKeys and regenerateKey.
func (t *TopicType) Action(ctx context.Context, req *arm.ActionRequest) (any, error) {
	switch strings.ToLower(req.Action) {
	case "listkeys":
		return keysOf(req.Record), nil
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
			return nil, badProperty("keyName '%s' is not valid: use key1 or key2.", body.KeyName)
		}
		rec, err := req.Update(ctx, func(r *arm.Record) error {
			if r.Secrets == nil {
				return errors.New("eventgrid: topic record without keys")
			}
			r.Secrets[name] = NewKey()
			return nil
		})
		if err != nil {
			return nil, err
		}
		return keysOf(rec), nil
	}
	return nil, arm.ErrNoAction
}
