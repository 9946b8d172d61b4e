//go:build !linux

package host

// residentMemory is not measured outside Linux: metering then bills the minimum.
func residentMemory(pid int) int64 { return 0 }
