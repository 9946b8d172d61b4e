package arm

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Resource event types, as Azure Resource Manager raises them.
const (
	EventWriteSuccess  = "Microsoft.Resources.ResourceWriteSuccess"
	EventDeleteSuccess = "Microsoft.Resources.ResourceDeleteSuccess"
	EventActionSuccess = "Microsoft.Resources.ResourceActionSuccess"
)

// EventKind is the substrate event kind of resource events; Event Grid's
// resource-group and subscription system topics read
// substrate.EventSubject(EventKind, groupID) and its wildcards.
const EventKind = "resources"

// Caller describes who made a change, for the event's data.
type Caller struct {
	Method        string
	URL           string
	ClientIP      string
	ClientRequest string
	Correlation   string
	Principal     string
}

// Event is an Azure Event Grid schema event.
type Event struct {
	ID              string          `json:"id"`
	Topic           string          `json:"topic"`
	Subject         string          `json:"subject"`
	EventType       string          `json:"eventType"`
	EventTime       time.Time       `json:"eventTime"`
	Data            json.RawMessage `json:"data"`
	DataVersion     string          `json:"dataVersion"`
	MetadataVersion string          `json:"metadataVersion"`
}

// ResourceEventData is the data of the Microsoft.Resources.* events.
type ResourceEventData struct {
	Authorization    map[string]any    `json:"authorization"`
	Claims           map[string]string `json:"claims"`
	CorrelationID    string            `json:"correlationId"`
	HTTPRequest      map[string]string `json:"httpRequest"`
	ResourceProvider string            `json:"resourceProvider"`
	ResourceURI      string            `json:"resourceUri"`
	OperationName    string            `json:"operationName"`
	Status           string            `json:"status"`
	SubscriptionID   string            `json:"subscriptionId"`
	TenantID         string            `json:"tenantId"`
}

// publish raises a resource event for id on its resource group's topic.
func (m *Manager) publish(ctx context.Context, eventType string, id ID, operation string, c Caller) error {
	provider := id.TypeNamespace()
	if id.IsGroup() {
		provider = "Microsoft.Resources"
	}
	data, err := json.Marshal(ResourceEventData{
		Authorization: map[string]any{"scope": id.String(), "action": operation,
			"evidence": map[string]string{"role": "Owner"}},
		Claims:           map[string]string{"name": c.Principal},
		CorrelationID:    c.Correlation,
		HTTPRequest:      map[string]string{"clientRequestId": c.ClientRequest, "clientIpAddress": c.ClientIP, "method": c.Method, "url": c.URL},
		ResourceProvider: provider,
		ResourceURI:      id.String(),
		OperationName:    operation,
		Status:           "Succeeded",
		SubscriptionID:   id.Subscription,
		TenantID:         m.sub.TenantID,
	})
	if err != nil {
		return err
	}
	ev := Event{
		ID:              uuid.NewString(),
		Topic:           id.GroupID().String(),
		Subject:         id.String(),
		EventType:       eventType,
		EventTime:       m.now().UTC(),
		Data:            data,
		DataVersion:     "2",
		MetadataVersion: "1",
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	// The change is stored by now: a client that hangs up must not cancel
	// its event, and a retry with the same id is deduplicated.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = m.substrate.PublishEvent(ctx, EventKind, ev.Topic, b, ev.ID)
		if err == nil || attempt == 3 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}
