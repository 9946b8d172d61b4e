package queue

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

	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Name is the service's name in the substrate, the banner and metrics.
const Name = "queue"

// How often the sweeper removes expired messages and the messages of
// cleared or deleted queues, how long a generation must stay unused
// before its messages are removed, and how often delete markers are purged.
const (
	sweepEvery      = 30 * time.Second
	orphanGrace     = time.Minute
	purgeEvery      = 10 * time.Minute
	purgeMarkersAge = 30 * time.Minute
	// maxWait bounds one wait of Receive, so that a clock that jumps (an
	// injected one in tests) is noticed.
	maxWait = 5 * time.Second
)

// Service is the Storage Queue service. It implements service.Service.
type Service struct {
	env  service.Env
	log  *slog.Logger
	auth *auth.Authenticator

	queues, msgs jetstream.KeyValue
	idx          *index

	order   atomic.Int64 // last insertion order handed out
	started atomic.Bool
	stop    context.CancelFunc
	done    chan struct{} // closed by Stop
	wg      sync.WaitGroup
	// sweepNow asks the sweeper to run at once (tests).
	sweepNow chan chan struct{}
}

var _ service.Service = (*Service)(nil)

// New makes the Queue service. Start creates its buckets and loads them.
func New(env service.Env) (*Service, error) {
	if env.Substrate == nil {
		return nil, errors.New("queue: a substrate is required")
	}
	if env.Accounts == nil {
		return nil, errors.New("queue: an account directory is required")
	}
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	s := &Service{env: env, log: env.Logger.With("service", Name), idx: newIndex(),
		done: make(chan struct{}), sweepNow: make(chan chan struct{})}
	// Request dates and SAS times are wall-clock times, so authentication
	// uses the real clock, not env.Clock.
	s.auth = &auth.Authenticator{Keys: env.Accounts}
	return s, nil
}

// Name implements service.Service.
func (s *Service) Name() string { return Name }

func (s *Service) now() time.Time { return s.env.Clock() }

// Start implements service.Service: it opens the queues and messages
// buckets, loads them into the index, and starts watching them and the
// sweeper.
func (s *Service) Start(ctx context.Context) (http.Handler, error) {
	var err error
	sub := s.env.Substrate
	if s.queues, err = sub.KeyValue(ctx, Name, substrateKV("queues")); err != nil {
		return nil, err
	}
	if s.msgs, err = sub.KeyValue(ctx, Name, substrateKV("messages")); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	qw, err := s.queues.WatchAll(bg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("queue: watch queues: %w", err)
	}
	mw, err := s.msgs.WatchAll(bg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("queue: watch messages: %w", err)
	}
	// Load what is stored before serving: each watcher sends the current
	// values, then nil.
	for _, w := range []struct {
		kw    jetstream.KeyWatcher
		apply func(jetstream.KeyValueEntry)
	}{{qw, s.applyQueueEntry}, {mw, s.applyMsgEntry}} {
	load:
		for {
			select {
			case e, ok := <-w.kw.Updates():
				if !ok {
					cancel()
					return nil, errors.New("queue: watch ended while loading")
				}
				if e == nil {
					break load
				}
				w.apply(e)
			case <-ctx.Done():
				cancel()
				return nil, ctx.Err()
			}
		}
	}
	s.wg.Add(3)
	go s.watch(qw, s.applyQueueEntry)
	go s.watch(mw, s.applyMsgEntry)
	go s.sweeper(bg)
	s.started.Store(true)
	return wire.CORS(s), nil
}

// Ready implements service.Service.
func (s *Service) Ready(ctx context.Context) error {
	if !s.started.Load() {
		return errors.New("queue: not started")
	}
	return s.env.Substrate.Check(ctx)
}

// Stop implements service.Service: it ends the watchers and the sweeper and
// wakes every Receive, which returns ErrStopped.
func (s *Service) Stop(ctx context.Context) error {
	if !s.started.Swap(false) {
		return nil
	}
	close(s.done)
	s.stop()
	ch := make(chan struct{})
	go func() { s.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) watch(w jetstream.KeyWatcher, apply func(jetstream.KeyValueEntry)) {
	defer s.wg.Done()
	defer w.Stop()
	for e := range w.Updates() {
		if e != nil {
			apply(e)
		}
	}
}

func deleted(e jetstream.KeyValueEntry) bool {
	return e.Operation() == jetstream.KeyValueDelete || e.Operation() == jetstream.KeyValuePurge
}

func (s *Service) applyQueueEntry(e jetstream.KeyValueEntry) {
	var rec *queueRec
	if !deleted(e) {
		var err error
		if rec, err = decodeQueue(e.Value()); err != nil {
			s.log.Warn("unreadable queue record", "key", e.Key(), "err", err)
			return
		}
	}
	if old := s.idx.applyQueue(e.Key(), rec, e.Revision()); old != "" {
		s.wakeGen(old)
	}
}

func (s *Service) applyMsgEntry(e jetstream.KeyValueEntry) {
	gen, id, ok := strings.Cut(e.Key(), ".")
	if !ok {
		return
	}
	var rec *msgRec
	var set *msgSet
	if deleted(e) {
		s.idx.mu.RLock()
		set = s.idx.sets[gen]
		s.idx.mu.RUnlock()
		if set == nil {
			return
		}
	} else {
		var err error
		if rec, err = decodeMsg(e.Value()); err != nil {
			s.log.Warn("unreadable queue message", "key", e.Key(), "err", err)
			return
		}
		set = s.idx.set(gen)
		s.bumpOrder(rec.Order)
	}
	set.mu.Lock()
	if set.apply(id, rec, e.Revision(), s.now().UnixNano()) {
		set.wake()
	}
	set.mu.Unlock()
}

// bumpOrder makes the orders handed out later than o.
func (s *Service) bumpOrder(o int64) {
	for {
		cur := s.order.Load()
		if o <= cur || s.order.CompareAndSwap(cur, o) {
			return
		}
	}
}

// nextOrder returns an insertion order later than every one seen: the
// clock in nanoseconds, or one more than the last.
func (s *Service) nextOrder() int64 {
	for {
		cur := s.order.Load()
		n := max(cur+1, time.Now().UnixNano())
		if s.order.CompareAndSwap(cur, n) {
			return n
		}
	}
}

func (s *Service) wakeGen(gen string) {
	s.idx.mu.RLock()
	set := s.idx.sets[gen]
	s.idx.mu.RUnlock()
	if set != nil {
		set.mu.Lock()
		set.wake()
		set.mu.Unlock()
	}
}

func (s *Service) sweeper(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	lastPurge := time.Now()
	for {
		var ack chan struct{}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case ack = <-s.sweepNow:
		}
		s.sweep(ctx, ack != nil)
		if time.Since(lastPurge) > purgeEvery {
			lastPurge = time.Now()
			if err := s.msgs.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(purgeMarkersAge)); err != nil && ctx.Err() == nil {
				s.log.Warn("purging delete markers", "err", err)
			}
		}
		if ack != nil {
			close(ack)
		}
	}
}

// sweep deletes expired messages and the messages of generations no queue
// uses any more. now forgoes the grace period (tests).
func (s *Service) sweep(ctx context.Context, now bool) {
	s.idx.mu.RLock()
	live := map[string]bool{}
	for _, q := range s.idx.queues {
		live[q.rec.Gen] = true
	}
	sets := make([]*msgSet, 0, len(s.idx.sets))
	for _, set := range s.idx.sets {
		sets = append(sets, set)
	}
	s.idx.mu.RUnlock()
	t := s.now().UnixNano()
	for _, set := range sets {
		if ctx.Err() != nil {
			return
		}
		set.mu.Lock()
		if live[set.gen] {
			set.orphanSince = time.Time{}
			for _, m := range set.msgs {
				if m.expired(t) {
					s.deleteMsg(ctx, set, m)
				}
			}
			set.mu.Unlock()
			continue
		}
		if set.orphanSince.IsZero() {
			set.orphanSince = time.Now()
		}
		if !now && time.Since(set.orphanSince) < orphanGrace {
			set.mu.Unlock()
			continue
		}
		for _, m := range set.msgs {
			s.deleteMsg(ctx, set, m)
		}
		empty := len(set.msgs) == 0
		set.wake()
		set.mu.Unlock()
		if empty {
			s.idx.mu.Lock()
			if s.idx.sets[set.gen] == set {
				delete(s.idx.sets, set.gen)
			}
			s.idx.mu.Unlock()
		}
	}
}

// deleteMsg deletes m from JetStream and the index. Call with set.mu held.
func (s *Service) deleteMsg(ctx context.Context, set *msgSet, m *message) {
	err := s.msgs.Delete(ctx, msgKey(set.gen, m.id), jetstream.LastRevision(m.rev))
	if err != nil && !conflict(err) {
		s.log.Warn("deleting queue message", "gen", set.gen, "id", m.id, "err", err)
		return
	}
	set.remove(m)
}

// conflict tells a failed compare-and-set: someone else wrote the key.
func conflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

func substrateKV(name string) substrate.KVSpec { return substrate.KVSpec{Name: name, History: 1} }
