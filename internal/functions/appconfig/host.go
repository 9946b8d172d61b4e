package appconfig

import (
	"encoding/json"
	"strings"
	"time"
)

// HostFile is the name of the app's host configuration file.
const HostFile = "host.json"

// Defaults written once.
const (
	DefaultRoutePrefix        = "api"
	DefaultQueueBatchSize     = 16
	DefaultMaxDequeueCount    = 5
	DefaultMaxPollingInterval = time.Minute
	MinMaxPollingInterval     = 100 * time.Millisecond
	MaxVisibilityTimeout      = 7 * 24 * time.Hour
	MinFunctionTimeout        = time.Second
)

// HostConfig is a parsed host.json (schema version 2.0).
type HostConfig struct {
	Version string // always "2.0" once validated

	// CustomHandler is the customHandler section; nil when absent (a Go SDK app may have none).
	CustomHandler *CustomHandler

	// ExtensionBundle is recorded but has no effect in Lapis: every binding type is built in.
	ExtensionBundle *ExtensionBundle

	HTTP   HTTPOptions
	Queues QueueOptions

	// FunctionTimeout is 0 when host.json does not set it (the host applies the plan's default), Infinite for
	// "-1", else the parsed TimeSpan (at least MinFunctionTimeout). Per-plan maxima are the host's business.
	FunctionTimeout time.Duration

	Logging     Logging
	Concurrency Concurrency

	// Retry is the app-wide retry policy (host.json "retry"); a function's own policy overrides it.
	Retry *RetryPolicy

	// Functions, when non-nil, lists the only functions the host loads (host.json "functions").
	Functions []string

	// WatchDirectories and WatchFiles are extra paths whose change restarts the host in local development.
	WatchDirectories []string
	WatchFiles       []string

	// Extensions holds every section of "extensions" as raw JSON, keyed by the name as written ("http", "queues",
	// "serviceBus", ...), so binding types can read their own settings. Look a section up with Extension.
	Extensions map[string]json.RawMessage

	// Raw is the whole file with comments and trailing commas removed.
	Raw json.RawMessage
}

// Extension returns the raw "extensions.<name>" section, matching the name case-insensitively.
func (h *HostConfig) Extension(name string) (json.RawMessage, bool) {
	for k, v := range h.Extensions {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// CustomHandler is host.json "customHandler".
type CustomHandler struct {
	Description HandlerDescription

	// EnableForwardingHTTPRequest is the legacy flag that forwards the original HTTP request to the worker for
	// functions that are exactly an HTTP trigger plus an http output. EnableProxyingHTTPRequest is its newer,
	// streaming form. A host treats either as "forward raw HTTP".
	EnableForwardingHTTPRequest bool
	EnableProxyingHTTPRequest   bool
}

// ForwardHTTP reports whether HTTP-only functions are forwarded as raw HTTP.
func (c *CustomHandler) ForwardHTTP() bool {
	return c != nil && (c.EnableForwardingHTTPRequest || c.EnableProxyingHTTPRequest)
}

// HandlerDescription is customHandler.description. %NAME% references in its strings are resolved when Load is
// given a Lookup.
type HandlerDescription struct {
	DefaultExecutablePath string   // required: the worker executable, relative to the app root or on PATH
	DefaultWorkerPath     string   // optional script passed to the executable (e.g. "handler.py")
	WorkingDirectory      string   // optional, relative to the app root
	Arguments             []string // arguments to the executable
	WorkerArguments       []string // arguments after DefaultWorkerPath
}

// ExtensionBundle is host.json "extensionBundle".
type ExtensionBundle struct {
	ID      string
	Version string
}

// HTTPOptions is host.json "extensions.http".
type HTTPOptions struct {
	// RoutePrefix is the prefix of every HTTP trigger route, without leading or trailing '/'. Default "api"; ""
	// when host.json sets it to "".
	RoutePrefix string
	// MaxConcurrentRequests and MaxOutstandingRequests are -1 (unbounded) unless set.
	MaxConcurrentRequests   int
	MaxOutstandingRequests  int
	DynamicThrottlesEnabled bool
	CustomHeaders           map[string]string
}

// QueueOptions is host.json "extensions.queues" with Azure's defaults filled in.
type QueueOptions struct {
	BatchSize int // 1–32, default 16
	// NewBatchThreshold is -1 when unset: the queue trigger then uses NewBatchThresholdFor.
	NewBatchThreshold  int
	MaxPollingInterval time.Duration // default 1 minute, at least 100 ms
	VisibilityTimeout  time.Duration // default 0
	MaxDequeueCount    int           // default 5, at least 1
	MessageEncoding    string        // "base64" (default) or "none"
}

// NewBatchThresholdFor returns the effective newBatchThreshold on a machine with cpus processors: the configured
// value, or Azure's default of cpus × batchSize / 2.
func (q QueueOptions) NewBatchThresholdFor(cpus int) int {
	if q.NewBatchThreshold >= 0 {
		return q.NewBatchThreshold
	}
	return max(cpus, 1) * q.BatchSize / 2
}

// Logging is host.json "logging". Only the parts Lapis uses are parsed; Raw has the rest.
type Logging struct {
	LogLevel        map[string]string // category → Trace|Debug|Information|Warning|Error|Critical|None
	FileLoggingMode string            // never|always|debugOnly; "" when unset
	Raw             json.RawMessage
}

// Concurrency is host.json "concurrency".
type Concurrency struct {
	DynamicConcurrencyEnabled  bool
	SnapshotPersistenceEnabled bool // default true
}

// RetryStrategy names a retry policy's back-off.
type RetryStrategy string

const (
	FixedDelay         RetryStrategy = "fixedDelay"
	ExponentialBackoff RetryStrategy = "exponentialBackoff"
)

// RetryPolicy is a "retry" section, in host.json or function.json.
type RetryPolicy struct {
	Strategy      RetryStrategy
	MaxRetryCount int           // -1 means retry forever
	DelayInterval time.Duration // fixedDelay
	// MinimumInterval and MaximumInterval bound exponentialBackoff.
	MinimumInterval time.Duration
	MaximumInterval time.Duration
}

// Delay returns the wait before retry number attempt (1-based), following the WebJobs SDK: fixedDelay waits
// DelayInterval; exponentialBackoff waits MinimumInterval × 2^(attempt−1), capped at MaximumInterval.
func (p *RetryPolicy) Delay(attempt int) time.Duration {
	if p.Strategy == FixedDelay {
		return p.DelayInterval
	}
	d := p.MinimumInterval
	for i := 1; i < attempt && d < p.MaximumInterval; i++ {
		d *= 2
		if d <= 0 { // overflow
			return p.MaximumInterval
		}
	}
	return min(d, p.MaximumInterval)
}

var logLevels = []string{"Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"}

// DefaultHostConfig returns the configuration Azure uses when an app has no host.json.
func DefaultHostConfig() *HostConfig {
	return &HostConfig{
		Version: "2.0",
		HTTP: HTTPOptions{
			RoutePrefix:            DefaultRoutePrefix,
			MaxConcurrentRequests:  -1,
			MaxOutstandingRequests: -1,
		},
		Queues: QueueOptions{
			BatchSize:          DefaultQueueBatchSize,
			NewBatchThreshold:  -1,
			MaxPollingInterval: DefaultMaxPollingInterval,
			MaxDequeueCount:    DefaultMaxDequeueCount,
			MessageEncoding:    "base64",
		},
		Concurrency: Concurrency{SnapshotPersistenceEnabled: true},
		Extensions:  map[string]json.RawMessage{},
		Raw:         json.RawMessage(`{"version":"2.0"}`),
	}
}

// ParseHost parses and validates the contents of host.json. lookup, if not nil, resolves %NAME% references in
// customHandler.description. All problems are reported, joined; each is a *FieldError.
func ParseHost(data []byte, lookup Lookup) (*HostConfig, error) {
	c := &collector{file: HostFile}
	h := parseHost(c, data, lookup)
	if err := c.err(); err != nil {
		return nil, err
	}
	return h, nil
}

func parseHost(c *collector, data []byte, lookup Lookup) *HostConfig {
	h := DefaultHostConfig()
	clean := cleanJSON(data)
	root, err := parseObject(clean)
	if err != nil {
		if err == errNotObject {
			c.add("", "must hold a JSON object")
		} else {
			c.add("", "%s", syntaxError(clean, err))
		}
		return nil
	}
	h.Raw = clean

	if v, ok := root.get("version"); !ok {
		c.add("version", `is missing; only "2.0" is allowed`)
	} else if s, ok := c.str("version", v); ok {
		if s != "2.0" {
			c.add("version", `%q is not supported; only "2.0" is allowed (Functions runtime 2.x and later)`, s)
		}
	}

	if v, ok := root.get("customHandler"); ok {
		h.CustomHandler = parseCustomHandler(c, v, lookup)
	}
	if v, ok := root.get("extensionBundle"); ok {
		if obj, ok := c.object("extensionBundle", v); ok {
			h.ExtensionBundle = &ExtensionBundle{}
			if v, ok := obj.get("id"); ok {
				h.ExtensionBundle.ID, _ = c.str("extensionBundle.id", v)
			}
			if v, ok := obj.get("version"); ok {
				h.ExtensionBundle.Version, _ = c.str("extensionBundle.version", v)
			}
		}
	}
	if v, ok := root.get("extensions"); ok {
		if obj, ok := c.object("extensions", v); ok {
			for _, m := range obj {
				h.Extensions[m.Key] = m.Value
			}
			if v, ok := obj.get("http"); ok {
				parseHTTP(c, v, &h.HTTP)
			}
			if v, ok := obj.get("queues"); ok {
				parseQueues(c, v, &h.Queues)
			}
		}
	}
	if v, ok := root.get("functionTimeout"); ok {
		if d, ok := c.timeSpan("functionTimeout", v, true); ok {
			if d != Infinite && d < MinFunctionTimeout {
				c.add("functionTimeout", "%s is too short; allowed: at least 00:00:01, or -1 for no limit", FormatTimeSpan(d))
			} else {
				h.FunctionTimeout = d
			}
		}
	}
	if v, ok := root.get("logging"); ok {
		parseLogging(c, v, &h.Logging)
	}
	if v, ok := root.get("concurrency"); ok {
		if obj, ok := c.object("concurrency", v); ok {
			if v, ok := obj.get("dynamicConcurrencyEnabled"); ok {
				h.Concurrency.DynamicConcurrencyEnabled, _ = c.boolean("concurrency.dynamicConcurrencyEnabled", v)
			}
			if v, ok := obj.get("snapshotPersistenceEnabled"); ok {
				h.Concurrency.SnapshotPersistenceEnabled, _ = c.boolean("concurrency.snapshotPersistenceEnabled", v)
			}
		}
	}
	if v, ok := root.get("retry"); ok {
		h.Retry = parseRetry(c, "retry", v)
	}
	if v, ok := root.get("functions"); ok {
		if list, ok := c.strings("functions", v); ok {
			h.Functions = list
		}
	}
	if v, ok := root.get("watchDirectories"); ok {
		h.WatchDirectories, _ = c.strings("watchDirectories", v)
	}
	if v, ok := root.get("watchFiles"); ok {
		h.WatchFiles, _ = c.strings("watchFiles", v)
	}
	// Runtime 1.x put these at the top level; 2.0 moved them under "extensions".
	for _, old := range []string{"http", "queues"} {
		if _, ok := root.get(old); ok {
			c.add(old, "is a Functions 1.x setting; in version 2.0 it belongs under extensions.%s", old)
		}
	}
	return h
}

func parseCustomHandler(c *collector, raw json.RawMessage, lookup Lookup) *CustomHandler {
	obj, ok := c.object("customHandler", raw)
	if !ok {
		return nil
	}
	ch := &CustomHandler{}
	const p = "customHandler.description"
	if v, ok := obj.get("description"); !ok {
		c.add(p, "is missing; it must name the worker in defaultExecutablePath")
	} else if d, ok := c.object(p, v); ok {
		str := func(key string) string {
			v, ok := d.get(key)
			if !ok {
				return ""
			}
			s, _ := c.str(joinPath(p, key), v)
			return c.resolveString(joinPath(p, key), s, lookup)
		}
		list := func(key string) []string {
			v, ok := d.get(key)
			if !ok {
				return nil
			}
			l, _ := c.strings(joinPath(p, key), v)
			for i := range l {
				l[i] = c.resolveString(indexPath(joinPath(p, key), i), l[i], lookup)
			}
			return l
		}
		ch.Description = HandlerDescription{
			DefaultExecutablePath: str("defaultExecutablePath"),
			DefaultWorkerPath:     str("defaultWorkerPath"),
			WorkingDirectory:      str("workingDirectory"),
			Arguments:             list("arguments"),
			WorkerArguments:       list("workerArguments"),
		}
		if _, present := d.get("defaultExecutablePath"); !present {
			c.add(p+".defaultExecutablePath", "is missing; it names the worker executable (e.g. \"handler\")")
		} else if strings.TrimSpace(ch.Description.DefaultExecutablePath) == "" {
			c.add(p+".defaultExecutablePath", "must not be empty; it names the worker executable (e.g. \"handler\")")
		}
	}
	if v, ok := obj.get("enableForwardingHttpRequest"); ok {
		ch.EnableForwardingHTTPRequest, _ = c.boolean("customHandler.enableForwardingHttpRequest", v)
	}
	if v, ok := obj.get("enableProxyingHttpRequest"); ok {
		ch.EnableProxyingHTTPRequest, _ = c.boolean("customHandler.enableProxyingHttpRequest", v)
	}
	return ch
}

func parseHTTP(c *collector, raw json.RawMessage, o *HTTPOptions) {
	const p = "extensions.http"
	obj, ok := c.object(p, raw)
	if !ok {
		return
	}
	if v, ok := obj.get("routePrefix"); ok {
		if s, ok := c.str(p+".routePrefix", v); ok {
			s = strings.Trim(strings.TrimSpace(s), "/")
			if strings.ContainsAny(s, "{}?#%") {
				c.add(p+".routePrefix", "%q must be a literal path (no '{', '}', '?', '#' or '%%')", s)
			} else {
				o.RoutePrefix = s
			}
		}
	}
	limit := func(key string, dst *int) {
		if v, ok := obj.get(key); ok {
			if n, ok := c.integer(p+"."+key, v); ok {
				if n < 1 && n != -1 {
					c.add(p+"."+key, "%d is not allowed; use a positive number, or -1 for unbounded", n)
				} else {
					*dst = n
				}
			}
		}
	}
	limit("maxConcurrentRequests", &o.MaxConcurrentRequests)
	limit("maxOutstandingRequests", &o.MaxOutstandingRequests)
	if v, ok := obj.get("dynamicThrottlesEnabled"); ok {
		o.DynamicThrottlesEnabled, _ = c.boolean(p+".dynamicThrottlesEnabled", v)
	}
	if v, ok := obj.get("customHeaders"); ok {
		if h, ok := c.object(p+".customHeaders", v); ok {
			o.CustomHeaders = map[string]string{}
			for _, m := range h {
				if s, ok := c.str(p+".customHeaders."+m.Key, m.Value); ok {
					o.CustomHeaders[m.Key] = s
				}
			}
		}
	}
}

func parseQueues(c *collector, raw json.RawMessage, q *QueueOptions) {
	const p = "extensions.queues"
	obj, ok := c.object(p, raw)
	if !ok {
		return
	}
	if v, ok := obj.get("batchSize"); ok {
		if n, ok := c.intRange(p+".batchSize", v, 1, 32); ok {
			q.BatchSize = n
		}
	}
	if v, ok := obj.get("newBatchThreshold"); ok {
		if n, ok := c.integer(p+".newBatchThreshold", v); ok {
			if n < 0 {
				c.add(p+".newBatchThreshold", "%d is out of range; allowed: 0 or more", n)
			} else {
				q.NewBatchThreshold = n
			}
		}
	}
	if v, ok := obj.get("maxPollingInterval"); ok {
		if d, ok := c.timeSpan(p+".maxPollingInterval", v, false); ok {
			if d < MinMaxPollingInterval {
				c.add(p+".maxPollingInterval", "%s is too short; allowed: at least 00:00:00.1", FormatTimeSpan(d))
			} else {
				q.MaxPollingInterval = d
			}
		}
	}
	if v, ok := obj.get("visibilityTimeout"); ok {
		if d, ok := c.timeSpan(p+".visibilityTimeout", v, false); ok {
			if d > MaxVisibilityTimeout {
				c.add(p+".visibilityTimeout", "%s is too long; allowed: up to 7.00:00:00", FormatTimeSpan(d))
			} else {
				q.VisibilityTimeout = d
			}
		}
	}
	if v, ok := obj.get("maxDequeueCount"); ok {
		if n, ok := c.integer(p+".maxDequeueCount", v); ok {
			if n < 1 {
				c.add(p+".maxDequeueCount", "%d is out of range; allowed: 1 or more", n)
			} else {
				q.MaxDequeueCount = n
			}
		}
	}
	if v, ok := obj.get("messageEncoding"); ok {
		if s, ok := c.str(p+".messageEncoding", v); ok {
			if enc, ok := c.oneOf(p+".messageEncoding", s, "base64", "none"); ok {
				q.MessageEncoding = enc
			}
		}
	}
}

func parseLogging(c *collector, raw json.RawMessage, l *Logging) {
	obj, ok := c.object("logging", raw)
	if !ok {
		return
	}
	l.Raw = raw
	if v, ok := obj.get("logLevel"); ok {
		if levels, ok := c.object("logging.logLevel", v); ok {
			l.LogLevel = map[string]string{}
			for _, m := range levels {
				path := "logging.logLevel." + m.Key
				if s, ok := c.str(path, m.Value); ok {
					if lvl, ok := c.oneOf(path, s, logLevels...); ok {
						l.LogLevel[m.Key] = lvl
					}
				}
			}
		}
	}
	if v, ok := obj.get("fileLoggingMode"); ok {
		if s, ok := c.str("logging.fileLoggingMode", v); ok {
			l.FileLoggingMode, _ = c.oneOf("logging.fileLoggingMode", s, "never", "always", "debugOnly")
		}
	}
}

// parseRetry reads a retry policy at path (host.json "retry" or function.json "retry").
func parseRetry(c *collector, path string, raw json.RawMessage) *RetryPolicy {
	obj, ok := c.object(path, raw)
	if !ok {
		return nil
	}
	r := &RetryPolicy{}
	good := true
	if v, ok := obj.get("strategy"); !ok {
		c.add(path+".strategy", "is missing; allowed: fixedDelay, exponentialBackoff")
		good = false
	} else if s, ok := c.str(path+".strategy", v); !ok {
		good = false
	} else if st, ok := c.oneOf(path+".strategy", s, string(FixedDelay), string(ExponentialBackoff)); ok {
		r.Strategy = RetryStrategy(st)
	} else {
		good = false
	}
	if v, ok := obj.get("maxRetryCount"); !ok {
		c.add(path+".maxRetryCount", "is missing; allowed: 0 or more, or -1 to retry forever")
		good = false
	} else if n, ok := c.integer(path+".maxRetryCount", v); !ok {
		good = false
	} else if n < -1 {
		c.add(path+".maxRetryCount", "%d is out of range; allowed: 0 or more, or -1 to retry forever", n)
		good = false
	} else {
		r.MaxRetryCount = n
	}
	interval := func(key string, required bool) (time.Duration, bool) {
		v, ok := obj.get(key)
		if !ok {
			if required {
				c.add(path+"."+key, "is missing; %s needs %s (hh:mm:ss)", r.Strategy, key)
				return 0, false
			}
			return 0, true
		}
		return c.timeSpan(path+"."+key, v, false)
	}
	var ok1, ok2 bool
	switch r.Strategy {
	case FixedDelay:
		r.DelayInterval, ok1 = interval("delayInterval", true)
		good = good && ok1
	case ExponentialBackoff:
		r.MinimumInterval, ok1 = interval("minimumInterval", true)
		r.MaximumInterval, ok2 = interval("maximumInterval", true)
		good = good && ok1 && ok2
		if ok1 && ok2 && r.MinimumInterval > r.MaximumInterval {
			c.add(path+".maximumInterval", "%s is shorter than minimumInterval %s", FormatTimeSpan(r.MaximumInterval), FormatTimeSpan(r.MinimumInterval))
			good = false
		}
	}
	if !good {
		return nil
	}
	return r
}
