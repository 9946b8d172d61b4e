//go:build !unix

package host_test

import "os"

func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// processExists is not checked here.
func processExists(pid int) bool { return false }
