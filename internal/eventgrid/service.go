package eventgrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/delivery"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/substrate"
)

// ServiceName is the service's name in the platform (banner, /readyz,
// metrics) and its substrate namespace.
const ServiceName = "eventgrid"

// StreamShortName is the short name of the events stream: the stream is
// LAPIS_EVENTGRID_EVENTS (substrate.StreamName).
const StreamShortName = "events"

// EventRetention is how long the stream keeps an event: Azure's longest
// event time-to-live (24 hours).
const EventRetention = 24 * time.Hour

// Headers of a stored event message. The body is the event as it will be
// delivered (schema.Event.Raw).
const (
	HeaderSchema   = "Lapis-Eventgrid-Schema" // EventGridSchema or CloudEventSchemaV1_0
	HeaderTopic    = "Lapis-Eventgrid-Topic"  // the topic's resource id
	HeaderType     = delivery.HeaderType      // eventType / type
	HeaderSubject  = delivery.HeaderSubject   // subject
	HeaderReceived = delivery.HeaderReceived  // RFC 3339 receive time
)

// Service is the Event Grid platform service.
type Service struct {
	env    service.Env
	log    *slog.Logger
	store  *arm.Store
	stream jetstream.Stream
	topics *TopicType
	// Limits are the publish size limits (schema.DefaultLimits).
	limits schema.Limits
	ready  atomic.Bool

	// Delivery (deliver.go).
	client    *http.Client
	metrics   *delivery.Metrics
	engine    *delivery.Engine
	stopWatch context.CancelFunc
	bg        sync.WaitGroup
	mu        sync.Mutex
	subs      map[string]*known // by resource key

	storageOnce sync.Once
	storage     *storageclient.InProcess
	storageErr  error
}

var _ service.Service = (*Service)(nil)

// New returns the Event Grid service.
func New(env service.Env) (*Service, error) {
	if env.Substrate == nil || env.Manager == nil {
		return nil, errors.New("eventgrid: no substrate or manager")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	return &Service{env: env, log: log, store: env.Manager.Store(), limits: schema.DefaultLimits}, nil
}

// Name implements service.Service.
func (*Service) Name() string { return ServiceName }

// Endpoint is a topic's publish URL, as properties.endpoint shows it.
func (s *Service) Endpoint(topic string) string {
	return fmt.Sprintf("http://%s.localhost:%d/api/events", strings.ToLower(topic), s.env.Ports.EventGrid)
}

// TopicSubject is the subject of a topic's events in the events stream:
// lapis.eventgrid.topic.<lower-case topic name>.
func TopicSubject(topic string) string {
	return substrate.Subject(ServiceName, "topic", strings.ToLower(topic))
}

// Start implements service.Service: it creates the events stream, registers
// Microsoft.EventGrid/topics and returns the publish handler.
func (s *Service) Start(ctx context.Context) (http.Handler, error) {
	st, err := s.env.Substrate.Stream(ctx, ServiceName, substrate.StreamSpec{
		Name: StreamShortName, Subjects: []string{"topic.>"}, MaxAge: EventRetention})
	if err != nil {
		return nil, err
	}
	s.stream = st
	s.topics = &TopicType{Endpoint: s.Endpoint, Purge: s.purge}
	reg := s.env.Manager.Registry()
	reg.Register(s.topics)
	reg.Register(SystemTopicType{})
	reg.Register(&SubscriptionType{svc: s})
	reg.Register(&SubscriptionType{Child: true, svc: s})
	if err := s.startDelivery(ctx); err != nil {
		return nil, err
	}
	s.ready.Store(true)
	return http.HandlerFunc(s.serve), nil
}

// Ready implements service.Service.
func (s *Service) Ready(context.Context) error {
	if !s.ready.Load() {
		return errors.New("eventgrid: starting")
	}
	return nil
}

// Stop implements service.Service. Publishes finish before it is called
// (the platform drains the listener first); deliveries in flight finish and
// are recorded before it returns.
func (s *Service) Stop(context.Context) error {
	s.ready.Store(false)
	s.stopDelivery()
	return nil
}

// purge removes a topic's events from the stream.
func (s *Service) purge(ctx context.Context, topic string) error {
	return s.stream.Purge(ctx, jetstream.WithPurgeSubject(TopicSubject(topic)))
}

// Topic returns the record of the topic with this name (any case), or nil
// if there is none.
func (s *Service) Topic(ctx context.Context, name string) (*arm.Record, error) {
	if !ValidTopicName(name) {
		return nil, nil
	}
	holder, err := s.store.NameHolder(ctx, TopicTypeName, name)
	if err != nil || holder == "" {
		return nil, err
	}
	id, err := arm.ParseID(holder)
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, id)
}
