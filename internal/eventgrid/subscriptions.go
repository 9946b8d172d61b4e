package eventgrid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/delivery"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Event subscription ARM types: the extension type, on a topic, system
// topic, storage account or resource group, and the system topics' child
// type.
const (
	SubscriptionTypeName            = Namespace + "/eventSubscriptions"
	SystemTopicSubscriptionTypeName = Namespace + "/systemTopics/eventSubscriptions"
)

// Provisioning states of an event subscription.
const (
	StateSucceeded       = arm.ProvisioningSucceeded
	StateAwaitingManual  = "AwaitingManualAction"
	StateFailed          = "Failed"
	secretEndpointURL    = "endpointUrl"
	secretValidationCode = "validationCode"
	secretValidationTok  = "validationToken"
	secretValidationEnd  = "validationExpires"
	secretActiveSince    = "activeSince"
)

// ManualValidationWindow is how long a webhook has to GET its validationUrl.
const ManualValidationWindow = 5 * time.Minute

// SubscriptionType is an event subscription resource type.
type SubscriptionType struct {
	// Child is set for systemTopics/eventSubscriptions.
	Child bool
	svc   *Service
}

var (
	_ arm.ResourceType = (*SubscriptionType)(nil)
	_ arm.Actor        = (*SubscriptionType)(nil)
)

// Info implements arm.ResourceType.
func (t *SubscriptionType) Info() arm.TypeInfo {
	if t.Child {
		return arm.TypeInfo{Namespace: Namespace, Type: "systemTopics/eventSubscriptions", APIVersions: APIVersions}
	}
	return arm.TypeInfo{Namespace: Namespace, Type: "eventSubscriptions", APIVersions: APIVersions, Extension: true}
}

// validSubscriptionName applies Azure's rule: 3 to 64 letters, digits and
// hyphens.
func validSubscriptionName(n string) bool {
	if len(n) < 3 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Prepare implements arm.ResourceType: it checks the subscription, keeps
// the webhook URL secret (ARM shows endpointBaseUrl), and runs the webhook
// validation handshake when the endpoint is new.
func (t *SubscriptionType) Prepare(ctx context.Context, req *arm.WriteRequest) error {
	name := req.ID.Name()
	if !validSubscriptionName(name) {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequest",
			"Event subscription name '%s' is not valid: it must be 3 to 64 characters long and contain only letters, digits and hyphens.", name)
	}
	src, err := t.svc.source(ctx, req.Store, req.ID)
	if err != nil {
		return err
	}
	p := req.New.Properties
	delete(p, "topic")
	dest, _ := p["destination"].(map[string]any)
	dprops, _ := dest["properties"].(map[string]any)
	if dprops != nil {
		if u, _ := dprops["endpointUrl"].(string); u == "" && req.Old != nil && strings.EqualFold(fmt.Sprint(dest["endpointType"]), subscription.WebHook) {
			dprops["endpointUrl"] = req.Old.Secrets[secretEndpointURL] // an update that keeps the endpoint
		}
	}
	now := t.svc.env.Clock()
	spec, err := subscription.Parse(p, now)
	if err != nil {
		return err
	}
	// What GET shows: Azure's defaults filled in, the URL's query hidden.
	d := spec.Destination
	shown := map[string]any{}
	switch d.Type {
	case subscription.WebHook:
		shown["endpointBaseUrl"] = subscription.BaseURL(d.URL)
	case subscription.AzureFunction:
		shown["resourceId"] = d.ResourceID
	case subscription.StorageQueue:
		shown["resourceId"], shown["queueName"] = d.ResourceID, d.Queue
		switch {
		case d.QueueMessageTTL < 0:
			shown["queueMessageTimeToLiveInSeconds"] = -1 // never expires
		case d.QueueMessageTTL > 0:
			shown["queueMessageTimeToLiveInSeconds"] = int64(d.QueueMessageTTL / time.Second)
		}
	}
	if d.Type != subscription.StorageQueue {
		shown["maxEventsPerBatch"], shown["preferredBatchSizeInKilobytes"] = d.MaxEventsPerBatch, d.PreferredBatchBytes>>10
	}
	p["destination"] = map[string]any{"endpointType": d.Type, "properties": shown}
	deliverySchema := src.Schema
	if spec.DeliverySchemaSet {
		deliverySchema = spec.DeliverySchema
	}
	p["eventDeliverySchema"] = deliverySchema.String()
	p["retryPolicy"] = map[string]any{"maxDeliveryAttempts": spec.MaxDeliveryAttempts,
		"eventTimeToLiveInMinutes": int(spec.EventTTL / time.Minute)}
	p["topic"] = src.Topic
	f := spec.Filter
	fm := map[string]any{"subjectBeginsWith": f.SubjectBeginsWith, "subjectEndsWith": f.SubjectEndsWith,
		"isSubjectCaseSensitive": f.IsSubjectCaseSensitive, "enableAdvancedFilteringOnArrays": f.EnableAdvancedFilteringOnArrays}
	if len(f.IncludedEventTypes) > 0 {
		fm["includedEventTypes"] = f.IncludedEventTypes
	}
	if len(f.AdvancedFilters) > 0 {
		fm["advancedFilters"] = f.AdvancedFilters
	}
	p["filter"] = fm
	if spec.Labels == nil {
		p["labels"] = []string{}
	}
	if !spec.Expiration.IsZero() {
		p["expirationTimeUtc"] = spec.Expiration.Format(time.RFC3339Nano)
	}

	secrets := map[string]string{}
	if req.Old != nil {
		for k, v := range req.Old.Secrets {
			secrets[k] = v
		}
	}
	req.New.Secrets = secrets
	oldState := ""
	if req.Old != nil {
		oldState, _ = req.Old.Properties["provisioningState"].(string)
	}
	if d.Type != subscription.WebHook {
		delete(secrets, secretEndpointURL)
		activate(p, secrets, now)
		return nil
	}
	oldSchema := ""
	if req.Old != nil {
		oldSchema, _ = req.Old.Properties["eventDeliverySchema"].(string)
	}
	if req.Old != nil && secrets[secretEndpointURL] == d.URL && oldSchema == deliverySchema.String() && oldState != StateFailed {
		p["provisioningState"] = oldState // the same endpoint: no new handshake
		return nil
	}
	secrets[secretEndpointURL] = d.URL
	code, token := randomHex(16), randomHex(24)
	res, err := (&delivery.Handshake{Client: t.svc.client, URL: d.URL, Schema: deliverySchema, Topic: src.Topic, Subscription: name,
		Code: code, ValidationURL: t.svc.validationURL(req.ID.String(), name, token, req.APIVersion, now), Now: now}).Run(ctx)
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequest", "%s. For troubleshooting, visit https://aka.ms/esvalidation.", err.Error())
	}
	if res == delivery.AwaitingManual {
		p["provisioningState"] = StateAwaitingManual
		secrets[secretValidationCode], secrets[secretValidationTok] = code, token
		secrets[secretValidationEnd] = now.Add(ManualValidationWindow).UTC().Format(time.RFC3339Nano)
		return nil
	}
	activate(p, secrets, now)
	return nil
}

// activate makes a subscription Succeeded; the first time, it notes when,
// so that delivery starts with the events published from then on.
func activate(p map[string]any, secrets map[string]string, now time.Time) {
	p["provisioningState"] = StateSucceeded
	for _, k := range []string{secretValidationCode, secretValidationTok, secretValidationEnd} {
		delete(secrets, k)
	}
	if secrets[secretActiveSince] == "" {
		secrets[secretActiveSince] = now.UTC().Format(time.RFC3339Nano)
	}
}

// Action implements arm.Actor: getFullUrl gives a webhook's full URL, and
// getDeliveryAttributes the (empty) delivery attributes.
func (t *SubscriptionType) Action(_ context.Context, req *arm.ActionRequest) (any, error) {
	switch strings.ToLower(req.Action) {
	case "getfullurl":
		return map[string]any{"endpointUrl": req.Record.Secrets[secretEndpointURL]}, nil
	case "getdeliveryattributes":
		return map[string]any{"value": []any{}}, nil
	}
	return nil, arm.ErrNoAction
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("eventgrid: no randomness: " + err.Error())
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// source finds where the events of the subscription with this id come
// from: its scope (a topic, system topic, storage account or resource
// group) or, for systemTopics/eventSubscriptions, its system topic.
func (s *Service) source(ctx context.Context, store *arm.Store, id arm.ID) (*delivery.Source, error) {
	scope, ext := id.Scope()
	if !ext {
		if parent, ok := id.Parent(); ok { // systemTopics/{st}/eventSubscriptions/{name}
			scope = parent
		} else { // {group}/providers/Microsoft.EventGrid/eventSubscriptions/{name}
			return systemSource(id.GroupID().String(), TopicTypeResourceGroup), nil
		}
	}
	switch strings.ToLower(scope.TypeName()) {
	case strings.ToLower(TopicTypeName):
		rec, err := store.Get(ctx, scope)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, arm.Errorf(http.StatusNotFound, "ParentResourceNotFound", "The topic '%s' was not found.", scope.String())
		}
		return &delivery.Source{Stream: substrate.StreamName(ServiceName, StreamShortName),
			Subject: TopicSubject(rec.Name), Schema: TopicSchema(rec), Topic: rec.ID}, nil
	case strings.ToLower(SystemTopicTypeName):
		rec, err := store.Get(ctx, scope)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, arm.Errorf(http.StatusNotFound, "ParentResourceNotFound", "The system topic '%s' was not found.", scope.String())
		}
		src, _ := rec.Properties["source"].(string)
		typ, _ := rec.Properties["topicType"].(string)
		return systemSource(src, typ), nil
	case "microsoft.storage/storageaccounts":
		rec, err := store.Get(ctx, scope)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, arm.Errorf(http.StatusNotFound, "ParentResourceNotFound", "The storage account '%s' was not found.", scope.String())
		}
		return systemSource(rec.ID, TopicTypeStorage), nil
	}
	return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequest",
		"Event subscriptions on resources of type '%s' are not supported by Lapis: subscribe to a topic, a system topic, a storage account or a resource group.", scope.TypeName())
}

// systemSource is the source of a system topic's events in LAPIS_EVENTS.
func systemSource(source, topicType string) *delivery.Source {
	src := &delivery.Source{Stream: substrate.EventsStream, Schema: schema.EventGridSchema, Topic: source}
	switch canonicalTopicType(topicType) {
	case TopicTypeStorage:
		src.Subject = substrate.EventSubject(blob.EventKind, source)
	case TopicTypeSubscription:
		src.Subject = substrate.EventSubject(arm.EventKind, source) + ".>"
	default:
		src.Subject = substrate.EventSubject(arm.EventKind, source)
	}
	return src
}
