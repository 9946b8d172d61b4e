// Command gen copies the Lapis Go SDK's source (sdk/go.mod and the non-test .go files) into
// internal/sdkdist/files, where package sdkdist embeds it. Run it from anywhere in the repository:
//
//	go generate ./internal/sdkdist   (or: go run ./internal/sdkdist/gen)
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lapisdev/lapis/internal/sdkdist"
)

func main() {
	root := flag.String("root", "", "repository root (default: found from the working directory)")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "sdkdist/gen:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	files, err := sdkdist.Snapshot(filepath.Join(root, "sdk"))
	if err != nil {
		return err
	}
	out := filepath.Join(root, "internal", "sdkdist", "files")
	if err := sdkdist.WriteCopy(out, files); err != nil {
		return err
	}
	fmt.Printf("sdkdist: %d files into %s (sha256 %s)\n", len(files), out, sdkdist.Hash(files)[:16])
	return nil
}

// findRoot walks up from the working directory to the one holding sdk/go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "sdk", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no sdk/go.mod above the working directory; pass -root")
		}
		dir = parent
	}
}
