package metering

import (
	"sync"
	"time"
)

// Execution is one finished invocation.
type Execution struct {
	App          string    `json:"app"`
	Function     string    `json:"function"`
	InvocationID string    `json:"invocationId"`
	Start        time.Time `json:"start"` // when the invocation arrived at the host
	// Duration is the execution time, from the moment the invocation had a worker instance until it finished; a
	// cold start's wait is not included (it is ColdStart).
	Duration  time.Duration `json:"durationNs"`
	Succeeded bool          `json:"succeeded"`
	// MemoryBytes is the worker instance's resident memory when the invocation finished; 0 when unknown (Units
	// then bills the minimum).
	MemoryBytes int64 `json:"memoryBytes"`
	// ColdStart is how long the invocation waited for an instance to start because none was running; 0 when warm.
	ColdStart time.Duration `json:"coldStartNs"`
	// Trigger is the function's trigger type, e.g. "httpTrigger" or "queueTrigger".
	Trigger string `json:"trigger"`
}

const (
	mb          = 1 << 20
	minDuration = 100  // ms
	memoryStep  = 128  // MB
	maxMemoryMB = 1536 // MB
	msPerSecond = 1000 // for GBSeconds
	mbPerGB     = 1024 // for GBSeconds
)

// Units is what Azure's Consumption meter bills for an execution, in MB·ms: d rounded up to the next millisecond
// with a 100 ms minimum, times memoryBytes rounded up to the next 128 MB with a 128 MB minimum and a 1,536 MB
// maximum.
func Units(d time.Duration, memoryBytes int64) int64 {
	ms := int64(minDuration)
	if d > 0 {
		whole := int64(d / time.Millisecond)
		if d%time.Millisecond != 0 {
			whole++
		}
		ms = max(ms, whole)
	}
	mem := int64(memoryStep)
	if memoryBytes > 0 {
		steps := memoryBytes / (memoryStep * mb)
		if memoryBytes%(memoryStep*mb) != 0 {
			steps++
		}
		mem = min(max(steps*memoryStep, memoryStep), maxMemoryMB)
	}
	return ms * mem
}

// FunctionUsage is the accumulated usage of one function.
type FunctionUsage struct {
	Executions int64 `json:"executions"`
	Successes  int64 `json:"successes"`
	Failures   int64 `json:"failures"`
	ColdStarts int64 `json:"coldStarts"`
	// Duration has every execution's Duration; ColdStartDuration has the ColdStart of those that had one.
	Duration          Histogram `json:"duration"`
	ColdStartDuration Histogram `json:"coldStartDuration"`
	// ExecutionUnits is the sum of Units over the executions, in MB·ms.
	ExecutionUnits int64 `json:"executionUnits"`
}

// GBSeconds is ExecutionUnits in GB-seconds, the unit of Azure's Consumption price list.
func (u FunctionUsage) GBSeconds() float64 {
	return float64(u.ExecutionUnits) / mbPerGB / msPerSecond
}

// Add counts one execution.
func (u *FunctionUsage) Add(e Execution) {
	u.Executions++
	if e.Succeeded {
		u.Successes++
	} else {
		u.Failures++
	}
	u.Duration.Add(e.Duration)
	if e.ColdStart > 0 {
		u.ColdStarts++
		u.ColdStartDuration.Add(e.ColdStart)
	}
	u.ExecutionUnits += Units(e.Duration, e.MemoryBytes)
}

// Merge adds o's counts to u.
func (u *FunctionUsage) Merge(o FunctionUsage) {
	u.Executions += o.Executions
	u.Successes += o.Successes
	u.Failures += o.Failures
	u.ColdStarts += o.ColdStarts
	u.Duration.Merge(o.Duration)
	u.ColdStartDuration.Merge(o.ColdStartDuration)
	u.ExecutionUnits += o.ExecutionUnits
}

func (u FunctionUsage) clone() FunctionUsage {
	u.Duration = u.Duration.clone()
	u.ColdStartDuration = u.ColdStartDuration.clone()
	return u
}

// Meter accumulates executions by function name. It is safe for concurrent use; its zero value is ready.
type Meter struct {
	mu    sync.Mutex
	total map[string]*FunctionUsage
	delta map[string]*FunctionUsage
}

// Add counts e under e.Function. It has the signature of host.Options.Meter.
func (m *Meter) Add(e Execution) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.total == nil {
		m.total = map[string]*FunctionUsage{}
	}
	if m.delta == nil {
		m.delta = map[string]*FunctionUsage{}
	}
	for _, set := range []map[string]*FunctionUsage{m.total, m.delta} {
		u := set[e.Function]
		if u == nil {
			u = &FunctionUsage{}
			set[e.Function] = u
		}
		u.Add(e)
	}
}

// Snapshot returns the usage since the Meter was made, by function name.
func (m *Meter) Snapshot() map[string]FunctionUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copyOut(m.total)
}

// Delta returns the usage accumulated since the previous Delta (or since the Meter was made), by function name,
// and starts a new period.
func (m *Meter) Delta() map[string]FunctionUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]FunctionUsage, len(m.delta))
	for k, u := range m.delta {
		out[k] = *u // the period's usage is handed over whole; nothing else refers to it
	}
	m.delta = nil
	return out
}

func copyOut(in map[string]*FunctionUsage) map[string]FunctionUsage {
	out := make(map[string]FunctionUsage, len(in))
	for k, u := range in {
		out[k] = u.clone()
	}
	return out
}
