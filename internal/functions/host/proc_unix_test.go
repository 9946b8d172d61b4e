//go:build unix

package host_test

import (
	"errors"
	"syscall"
)

func killProcess(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// processExists reports whether process pid exists (a reaped worker does not).
func processExists(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
