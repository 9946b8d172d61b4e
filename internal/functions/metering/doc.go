// Package metering measures what a function app's invocations cost, the way Azure's Consumption plan bills them,
// and summarises their durations.
//
// The host reports one Execution per finished invocation. Units turns an execution into Azure's billing unit,
// megabyte-milliseconds: the duration is rounded up to the next millisecond with a 100 ms minimum, and the memory
// (the worker instance's resident memory) is rounded up to the next 128 MB with a 128 MB minimum and a 1,536 MB
// maximum. FunctionUsage.GBSeconds turns the sum into GB-seconds (MB·ms / 1024 / 1000), the unit of Azure's price
// list and free grant.
//
// A FunctionUsage accumulates executions of one function: counts of executions, successes, failures and cold
// starts, the execution units, and Histograms of durations and cold-start waits. A Meter is a concurrency-safe set
// of FunctionUsage keyed by function name; Snapshot reads the totals, and Delta returns what accumulated since the
// previous Delta, for a caller that persists usage incrementally.
//
// A Histogram has fixed log-scale buckets (four per doubling, from 1 µs to about 19 hours; a bucket's width is
// about 19% of its value), so histograms from different processes and periods merge exactly, and a quantile is
// exact to within one bucket. Every type here marshals to JSON with camelCase names; durations are integer
// nanoseconds.
//
// The package uses only the standard library.
package metering
