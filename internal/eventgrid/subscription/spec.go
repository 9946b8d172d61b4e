package subscription

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/filter"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
)

// Destination endpoint types, as ARM spells them.
const (
	WebHook       = "WebHook"
	AzureFunction = "AzureFunction"
	StorageQueue  = "StorageQueue"
)

// Azure's defaults and limits (shared/reference/azure-wire-protocols.md §2.4).
const (
	DefaultMaxDeliveryAttempts = 30
	MaxDeliveryAttempts        = 30
	DefaultEventTTL            = 1440 * time.Minute
	MaxEventTTL                = 1440 * time.Minute
	DefaultMaxEventsPerBatch   = 1
	MaxEventsPerBatch          = 5000
	DefaultPreferredBatchKB    = 64
	MaxPreferredBatchKB        = 1024
	MaxLabels                  = 25
)

// Spec is a checked event subscription.
type Spec struct {
	Destination Destination
	// Filter is the subscription's filter, prepared for Match.
	Filter *filter.Filter
	// DeliverySchema is the schema events are delivered in; Unset means the
	// schema of the source (its input schema).
	DeliverySchema schema.Schema
	// DeliverySchemaSet reports whether eventDeliverySchema was given.
	DeliverySchemaSet bool
	// MaxDeliveryAttempts is retryPolicy.maxDeliveryAttempts (1-30).
	MaxDeliveryAttempts int
	// EventTTL is retryPolicy.eventTimeToLiveInMinutes (1 min - 24 h).
	EventTTL time.Duration
	// DeadLetter is where undeliverable events go; nil drops them.
	DeadLetter *DeadLetter
	Labels     []string
	// Expiration is expirationTimeUtc; zero means never.
	Expiration time.Time
}

// Destination is where a subscription's events are delivered.
type Destination struct {
	// Type is WebHook, AzureFunction or StorageQueue.
	Type string
	// URL is a WebHook's endpointUrl, query included.
	URL string
	// ResourceID is an AzureFunction's function id, or a StorageQueue's
	// storage account id.
	ResourceID string
	// Queue is a StorageQueue's queueName.
	Queue string
	// QueueMessageTTL is a StorageQueue's queueMessageTimeToLiveInSeconds
	// (0: the queue's default, 7 days; negative: never expires).
	QueueMessageTTL time.Duration
	// MaxEventsPerBatch and PreferredBatchBytes shape WebHook and
	// AzureFunction requests.
	MaxEventsPerBatch   int
	PreferredBatchBytes int
}

// DeadLetter is a StorageBlob dead-letter destination.
type DeadLetter struct {
	AccountID string // the storage account's resource id
	Container string
}

// Account is the dead-letter storage account's name.
func (d *DeadLetter) Account() string { return lastSegment(d.AccountID) }

func lastSegment(id string) string {
	return id[strings.LastIndex(strings.TrimRight(id, "/"), "/")+1:]
}

// Props are the parts of properties that Parse reads.
type props struct {
	Destination *struct {
		EndpointType string          `json:"endpointType"`
		Properties   json.RawMessage `json:"properties"`
	} `json:"destination"`
	Filter              json.RawMessage `json:"filter"`
	Labels              []string        `json:"labels"`
	ExpirationTimeUtc   *string         `json:"expirationTimeUtc"`
	EventDeliverySchema *string         `json:"eventDeliverySchema"`
	RetryPolicy         *struct {
		MaxDeliveryAttempts      *float64 `json:"maxDeliveryAttempts"`
		EventTimeToLiveInMinutes *float64 `json:"eventTimeToLiveInMinutes"`
	} `json:"retryPolicy"`
	DeadLetterDestination *struct {
		EndpointType string `json:"endpointType"`
		Properties   struct {
			ResourceID        string `json:"resourceId"`
			BlobContainerName string `json:"blobContainerName"`
		} `json:"properties"`
	} `json:"deadLetterDestination"`
	DeadLetterWithResourceIdentity json.RawMessage `json:"deadLetterWithResourceIdentity"`
	DeliveryWithResourceIdentity   json.RawMessage `json:"deliveryWithResourceIdentity"`
}

type destProps struct {
	EndpointURL                     string   `json:"endpointUrl"`
	ResourceID                      string   `json:"resourceId"`
	QueueName                       string   `json:"queueName"`
	QueueMessageTimeToLiveInSeconds *float64 `json:"queueMessageTimeToLiveInSeconds"`
	MaxEventsPerBatch               *float64 `json:"maxEventsPerBatch"`
	PreferredBatchSizeInKilobytes   *float64 `json:"preferredBatchSizeInKilobytes"`
}

func bad(format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRequest", format, args...)
}

// Parse checks an event subscription's properties. now is the time of the
// write, for expirationTimeUtc. Errors are *arm.Error with status 400.
func Parse(properties map[string]any, now time.Time) (*Spec, error) {
	raw, err := json.Marshal(properties)
	if err != nil {
		return nil, bad("properties: %v", err)
	}
	var p props
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, bad("The event subscription's properties are not valid: %v.", err)
	}
	if p.DeadLetterWithResourceIdentity != nil || p.DeliveryWithResourceIdentity != nil {
		return nil, bad("Managed identities for delivery (deliveryWithResourceIdentity, deadLetterWithResourceIdentity) are not supported by Lapis: use destination and deadLetterDestination.")
	}
	s := &Spec{MaxDeliveryAttempts: DefaultMaxDeliveryAttempts, EventTTL: DefaultEventTTL}
	if s.Destination, err = parseDestination(p); err != nil {
		return nil, err
	}
	if s.Filter, err = parseFilter(p.Filter); err != nil {
		return nil, err
	}
	if p.EventDeliverySchema != nil && *p.EventDeliverySchema != "" {
		sc, err := schema.ParseSchema(*p.EventDeliverySchema)
		if err != nil {
			return nil, bad("properties.eventDeliverySchema '%s' is not valid: use EventGridSchema, CloudEventSchemaV1_0 or CustomInputSchema.", *p.EventDeliverySchema)
		}
		if sc == schema.CustomEventSchema {
			// CustomInputSchema delivers as published; Lapis topics take only
			// the two standard schemas, so that is the input schema.
			s.DeliverySchemaSet = false
		} else {
			s.DeliverySchema, s.DeliverySchemaSet = sc, true
		}
	}
	if r := p.RetryPolicy; r != nil {
		if v := r.MaxDeliveryAttempts; v != nil {
			if *v != float64(int(*v)) || *v < 1 || *v > MaxDeliveryAttempts {
				return nil, bad("properties.retryPolicy.maxDeliveryAttempts %v is not valid: it must be a whole number from 1 to %d.", *v, MaxDeliveryAttempts)
			}
			s.MaxDeliveryAttempts = int(*v)
		}
		if v := r.EventTimeToLiveInMinutes; v != nil {
			if *v != float64(int(*v)) || *v < 1 || *v > MaxEventTTL.Minutes() {
				return nil, bad("properties.retryPolicy.eventTimeToLiveInMinutes %v is not valid: it must be a whole number of minutes from 1 to %d.", *v, int(MaxEventTTL.Minutes()))
			}
			s.EventTTL = time.Duration(*v) * time.Minute
		}
	}
	if d := p.DeadLetterDestination; d != nil {
		if !strings.EqualFold(d.EndpointType, "StorageBlob") {
			return nil, bad("properties.deadLetterDestination.endpointType '%s' is not valid: the only dead-letter destination is StorageBlob.", d.EndpointType)
		}
		if err := checkAccountID(d.Properties.ResourceID, "properties.deadLetterDestination.properties.resourceId"); err != nil {
			return nil, err
		}
		if !validContainer(d.Properties.BlobContainerName) {
			return nil, bad("properties.deadLetterDestination.properties.blobContainerName '%s' is not a valid container name: 3 to 63 lower-case letters, digits and single hyphens, starting with a letter or digit.", d.Properties.BlobContainerName)
		}
		s.DeadLetter = &DeadLetter{AccountID: d.Properties.ResourceID, Container: d.Properties.BlobContainerName}
	}
	if len(p.Labels) > MaxLabels {
		return nil, bad("properties.labels has %d labels; at most %d are allowed.", len(p.Labels), MaxLabels)
	}
	s.Labels = p.Labels
	if p.ExpirationTimeUtc != nil && *p.ExpirationTimeUtc != "" {
		t, err := time.Parse(time.RFC3339Nano, *p.ExpirationTimeUtc)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05", *p.ExpirationTimeUtc); err != nil {
				return nil, bad("properties.expirationTimeUtc '%s' is not a valid date and time (RFC 3339, e.g. 2026-12-31T00:00:00Z).", *p.ExpirationTimeUtc)
			}
		}
		if !t.After(now) {
			return nil, bad("properties.expirationTimeUtc %s is in the past: the expiration time of an event subscription must be in the future.", t.UTC().Format(time.RFC3339))
		}
		s.Expiration = t.UTC()
	}
	return s, nil
}

func parseDestination(p props) (Destination, error) {
	if p.Destination == nil {
		return Destination{}, bad("properties.destination is required: an event subscription needs a destination (WebHook, AzureFunction or StorageQueue).")
	}
	var dp destProps
	if len(p.Destination.Properties) > 0 && string(p.Destination.Properties) != "null" {
		if err := json.Unmarshal(p.Destination.Properties, &dp); err != nil {
			return Destination{}, bad("properties.destination.properties is not valid: %v.", err)
		}
	}
	d := Destination{MaxEventsPerBatch: DefaultMaxEventsPerBatch, PreferredBatchBytes: DefaultPreferredBatchKB << 10}
	batch := func() error {
		if v := dp.MaxEventsPerBatch; v != nil {
			if *v != float64(int(*v)) || *v < 1 || *v > MaxEventsPerBatch {
				return bad("properties.destination.properties.maxEventsPerBatch %v is not valid: it must be from 1 to %d.", *v, MaxEventsPerBatch)
			}
			d.MaxEventsPerBatch = int(*v)
		}
		if v := dp.PreferredBatchSizeInKilobytes; v != nil {
			if *v != float64(int(*v)) || *v < 1 || *v > MaxPreferredBatchKB {
				return bad("properties.destination.properties.preferredBatchSizeInKilobytes %v is not valid: it must be from 1 to %d.", *v, MaxPreferredBatchKB)
			}
			d.PreferredBatchBytes = int(*v) << 10
		}
		return nil
	}
	switch strings.ToLower(p.Destination.EndpointType) {
	case "webhook":
		d.Type = WebHook
		u, err := url.Parse(dp.EndpointURL)
		if dp.EndpointURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Destination{}, bad("properties.destination.properties.endpointUrl '%s' is not a valid webhook URL: give an absolute http or https URL.", redact(dp.EndpointURL))
		}
		d.URL = dp.EndpointURL
		return d, batch()
	case "azurefunction":
		d.Type = AzureFunction
		id, err := arm.ParseID(dp.ResourceID)
		if err != nil || !strings.EqualFold(id.TypeName(), "Microsoft.Web/sites/functions") {
			return Destination{}, bad("properties.destination.properties.resourceId '%s' is not a function's resource id: /subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Web/sites/{app}/functions/{function}.", dp.ResourceID)
		}
		d.ResourceID = id.String()
		return d, batch()
	case "storagequeue":
		d.Type = StorageQueue
		if err := checkAccountID(dp.ResourceID, "properties.destination.properties.resourceId"); err != nil {
			return Destination{}, err
		}
		if !validQueue(dp.QueueName) {
			return Destination{}, bad("properties.destination.properties.queueName '%s' is not a valid queue name: 3 to 63 lower-case letters, digits and single hyphens, starting with a letter or digit.", dp.QueueName)
		}
		d.ResourceID, d.Queue = dp.ResourceID, dp.QueueName
		if v := dp.QueueMessageTimeToLiveInSeconds; v != nil {
			switch {
			case *v == -1:
				d.QueueMessageTTL = -1
			case *v >= 1 && *v == float64(int64(*v)):
				d.QueueMessageTTL = time.Duration(*v) * time.Second
			default:
				return Destination{}, bad("properties.destination.properties.queueMessageTimeToLiveInSeconds %v is not valid: give a positive number of seconds, or -1 for messages that never expire.", *v)
			}
		}
		return d, nil
	case "":
		return Destination{}, bad("properties.destination.endpointType is required: WebHook, AzureFunction or StorageQueue.")
	case "servicebusqueue", "servicebustopic", "eventhub", "hybridconnection", "partnerdestination", "monitoralert", "namespacetopic":
		return Destination{}, bad("properties.destination.endpointType '%s' is not supported by Lapis yet: use WebHook, AzureFunction or StorageQueue.", p.Destination.EndpointType)
	}
	return Destination{}, bad("properties.destination.endpointType '%s' is not valid: use WebHook, AzureFunction or StorageQueue.", p.Destination.EndpointType)
}

func parseFilter(raw json.RawMessage) (*filter.Filter, error) {
	if len(raw) == 0 || string(raw) == "null" {
		f := &filter.Filter{}
		f.Prepare()
		return f, nil
	}
	f, err := filter.Parse(raw)
	if err != nil {
		return nil, bad("properties.filter is not valid: %v", err)
	}
	return f, nil
}

func checkAccountID(s, field string) error {
	id, err := arm.ParseID(s)
	if err != nil || !strings.EqualFold(id.TypeName(), "Microsoft.Storage/storageAccounts") {
		return bad("%s '%s' is not a storage account's resource id: /subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}.", field, s)
	}
	return nil
}

// validContainer applies Azure's container name rule.
func validContainer(s string) bool { return validQueue(s) }

// validQueue applies Azure's queue (and container) name rule.
func validQueue(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// BaseURL is a webhook URL without its query, as ARM shows it in
// endpointBaseUrl: the query often holds a key.
func BaseURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// redact drops a URL's query for messages.
func redact(s string) string {
	if b := BaseURL(s); b != "" {
		return b
	}
	return fmt.Sprintf("(%d characters)", len(s))
}
