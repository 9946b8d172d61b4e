//go:build !unix

package platform

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates dir/lapis.lock exclusively. Unlike the Unix lock it is not
// released by a crash: remove the file by hand after one.
func lockDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, "lapis.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if os.IsExist(err) {
		return nil, fmt.Errorf("%w: %s is in use by a running lapis (remove %s if none runs)", ErrLocked, dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close(); os.Remove(path) }, nil
}
