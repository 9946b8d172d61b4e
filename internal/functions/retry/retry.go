package retry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Context is Azure's RetryContext, as the custom-handler payload carries it in Metadata.RetryContext.
type Context struct {
	// RetryCount is 0 on the first attempt and n on the n-th retry.
	RetryCount int `json:"RetryCount"`
	// MaxRetryCount is the policy's maxRetryCount (-1: forever).
	MaxRetryCount int `json:"MaxRetryCount"`
	// Exception is the previous attempt's failure; nil on the first attempt.
	Exception *Exception `json:"Exception"`
}

// JSON returns the context as the payload carries it.
func (c *Context) JSON() json.RawMessage {
	b, _ := json.Marshal(c)
	return b
}

// Exception is a failed attempt, serialised the way Newtonsoft serialises a .NET exception.
type Exception struct {
	Message string
}

// hresultException is .NET's COR_E_EXCEPTION, the HResult of System.Exception.
const hresultException = -2146233088

// MarshalJSON writes the .NET exception fields.
func (e *Exception) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClassName              string
		Message                string
		Data                   any
		InnerException         any
		HelpURL                any
		StackTraceString       any
		RemoteStackTraceString any
		RemoteStackIndex       int
		ExceptionMethod        any
		HResult                int
		Source                 string
		WatsonBuckets          any
	}{ClassName: "System.Exception", Message: e.Message, HResult: hresultException, Source: "Lapis"})
}

// UnmarshalJSON reads the Message of a .NET exception.
func (e *Exception) UnmarshalJSON(b []byte) error {
	var v struct{ Message string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.Message = v.Message
	return nil
}

// Applies reports whether Azure applies function-level retry policies to functions whose trigger has this type:
// timerTrigger, eventHubTrigger, cosmosDBTrigger and kafkaTrigger (any case).
func Applies(triggerType string) bool {
	switch strings.ToLower(triggerType) {
	case "timertrigger", "eventhubtrigger", "cosmosdbtrigger", "kafkatrigger":
		return true
	}
	return false
}

// PolicyFor returns the retry policy of a function: its own (function.json "retry"), else the app's (host.json
// "retry"), else nil.
func PolicyFor(fn *appconfig.Function, host *appconfig.HostConfig) *appconfig.RetryPolicy {
	if fn != nil && fn.Retry != nil {
		return fn.Retry
	}
	if host != nil {
		return host.Retry
	}
	return nil
}

// State is what a Store keeps for a unit of work between attempts.
type State struct {
	// RetryCount is the number of failed attempts so far, which is the RetryCount of the next attempt.
	RetryCount int `json:"retryCount"`
	// LastError is the last failure's text.
	LastError string `json:"lastError,omitempty"`
	// NextAt is when the next attempt is due.
	NextAt time.Time `json:"nextAt"`
}

// Store keeps retry state by key. Keys are arbitrary strings.
type Store interface {
	// Load returns the state of key, and false when there is none.
	Load(ctx context.Context, key string) (State, bool, error)
	Save(ctx context.Context, key string, s State) error
	Delete(ctx context.Context, key string) error
}

// MemoryStore is a Store in memory, for one process.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]State
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]State{}} }

// Load implements Store.
func (m *MemoryStore) Load(_ context.Context, key string) (State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[key]
	return s, ok, nil
}

// Save implements Store.
func (m *MemoryStore) Save(_ context.Context, key string, s State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = s
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

// Bucket is the substrate bucket (lapis-functions-retries) OpenStore keeps retry state in.
const Bucket = "retries"

// RetentionPeriod is how long retry state nobody touches is kept (the bucket's TTL): a unit of work abandoned
// mid-retry for longer starts its count over.
const RetentionPeriod = 7 * 24 * time.Hour

// OpenStore returns a Store in the substrate bucket lapis-functions-retries, shared by every node.
func OpenStore(ctx context.Context, sub *substrate.Substrate) (Store, error) {
	kv, err := sub.KeyValue(ctx, "functions", substrate.KVSpec{Name: Bucket, History: 1, TTL: RetentionPeriod})
	if err != nil {
		return nil, err
	}
	return NewKVStore(kv), nil
}

// NewKVStore returns a Store in a JetStream key-value bucket; keys are stored as substrate.Token(key).
func NewKVStore(kv jetstream.KeyValue) Store { return kvStore{kv} }

type kvStore struct{ kv jetstream.KeyValue }

func (s kvStore) Load(ctx context.Context, key string) (State, bool, error) {
	e, err := s.kv.Get(ctx, substrate.Token(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, err
	}
	var st State
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return State{}, false, fmt.Errorf("retry state %s: %w", key, err)
	}
	return st, true, nil
}

func (s kvStore) Save(ctx context.Context, key string, st State) error {
	b, _ := json.Marshal(st)
	_, err := s.kv.Put(ctx, substrate.Token(key), b)
	return err
}

func (s kvStore) Delete(ctx context.Context, key string) error {
	err := s.kv.Delete(ctx, substrate.Token(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// Clock is the time a Runner waits on. *binding.Env implements it (with a test clock when the Env has one).
type Clock interface {
	Now() time.Time
	// Until returns a channel that receives once the clock reads t or later.
	Until(t time.Time) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                     { return time.Now() }
func (realClock) Until(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// ExhaustedError is the last failure of a unit of work whose retries ran out.
type ExhaustedError struct {
	Attempts int // attempts made in all (1 + maxRetryCount)
	Err      error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("failed after %d attempts (retries exhausted): %v", e.Attempts, e.Err)
}

func (e *ExhaustedError) Unwrap() error { return e.Err }

// Func is one attempt. rc is nil when there is no retry policy.
type Func func(ctx context.Context, rc *Context) error

// Runner runs units of work under retry policies.
type Runner struct {
	// Store keeps the state between attempts; nil means memory for the duration of each Run.
	Store Store
	// Clock is the time delays are measured on; nil means real time.
	Clock Clock
	// Logger receives a line per failed attempt and per retry scheduled; nil discards them.
	Logger *slog.Logger
}

// storeTimeout bounds each Store call; store calls outlive the Run's context, so that a Run stopped while an
// attempt is in flight still records the attempt.
const storeTimeout = 10 * time.Second

// maxWait bounds one wait, after which the clock is read again (a real timer does not follow a wall clock that
// jumps).
const maxWait = time.Minute

// Run runs invoke under policy p for the unit of work key: the first attempt (or, when the Store holds state for
// key, the attempt that was due next), then retries as the policy says. It returns nil once an attempt succeeds;
// an *ExhaustedError wrapping the last failure once maxRetryCount retries have failed; the error itself when p is
// nil; and ctx's error when ctx ends while it waits for a retry (the state stays in the Store for the next Run).
// invoke is called with ctx; an attempt in flight when ctx ends is the caller's to stop or finish. Failures to
// read or write the Store are logged and the count continues in memory.
func (r *Runner) Run(ctx context.Context, p *appconfig.RetryPolicy, key string, invoke Func) error {
	if p == nil {
		return invoke(ctx, nil)
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := r.Clock
	if clock == nil {
		clock = realClock{}
	}
	store := r.Store
	if store == nil {
		store = NewMemoryStore()
	}
	sctx := context.WithoutCancel(ctx)
	call := func(f func(context.Context) error) error {
		c, cancel := context.WithTimeout(sctx, storeTimeout)
		defer cancel()
		return f(c)
	}
	var st State
	if err := call(func(c context.Context) (err error) { st, _, err = store.Load(c, key); return err }); err != nil {
		log.Warn("retry: reading the retry state failed; counting from the first attempt", "key", key, "error", err)
		st = State{}
	}
	for {
		if st.RetryCount > 0 {
			if err := wait(ctx, clock, st.NextAt); err != nil {
				return err
			}
		}
		rc := &Context{RetryCount: st.RetryCount, MaxRetryCount: p.MaxRetryCount}
		if st.RetryCount > 0 {
			rc.Exception = &Exception{Message: st.LastError}
		}
		err := invoke(ctx, rc)
		if err == nil {
			if st.RetryCount > 0 {
				if err := call(func(c context.Context) error { return store.Delete(c, key) }); err != nil {
					log.Warn("retry: deleting the retry state failed", "key", key, "error", err)
				}
			}
			return nil
		}
		if p.MaxRetryCount != -1 && st.RetryCount >= p.MaxRetryCount {
			if st.RetryCount > 0 {
				if err := call(func(c context.Context) error { return store.Delete(c, key) }); err != nil {
					log.Warn("retry: deleting the retry state failed", "key", key, "error", err)
				}
			}
			log.Error("retry: all retries failed", "key", key, "attempts", st.RetryCount+1, "error", err)
			return &ExhaustedError{Attempts: st.RetryCount + 1, Err: err}
		}
		st.RetryCount++
		st.LastError = err.Error()
		delay := p.Delay(st.RetryCount)
		st.NextAt = clock.Now().Add(delay)
		if err := call(func(c context.Context) error { return store.Save(c, key, st) }); err != nil {
			log.Warn("retry: saving the retry state failed; a restart will count from the first attempt", "key", key, "error", err)
		}
		max := fmt.Sprint(p.MaxRetryCount)
		if p.MaxRetryCount == -1 {
			max = "infinite"
		}
		log.Warn(fmt.Sprintf("Waiting for %s before retrying the function execution. Next attempt: '%d'. Max retry count: '%s'",
			appconfig.FormatTimeSpan(delay), st.RetryCount, max), "key", key, "error", err)
	}
}

// Run is Runner.Run with store and real time.
func Run(ctx context.Context, p *appconfig.RetryPolicy, store Store, key string, invoke Func) error {
	return (&Runner{Store: store}).Run(ctx, p, key, invoke)
}

// wait blocks until clock reads t, or ctx ends.
func wait(ctx context.Context, clock Clock, t time.Time) error {
	for {
		now := clock.Now()
		if !now.Before(t) {
			return nil
		}
		at := t
		if t.Sub(now) > maxWait {
			at = now.Add(maxWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.Until(at):
		}
	}
}
