// Package load runs the benchmarks' closed-loop workloads and summarises
// their latencies.
package load
