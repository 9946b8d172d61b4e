package sdkdist

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

//go:generate go run ./gen

// ModulePath is the SDK's module path.
const ModulePath = "github.com/lapisdev/lapis/sdk"

// Version is the version apps require; the replace directive makes it meaningless but go.mod needs one.
const Version = "v0.0.0"

// EnvDir names the environment variable that overrides the parent directory of installed copies.
const EnvDir = "LAPIS_SDK_DIR"

//go:embed files
var embedded embed.FS

// Files returns the SDK's files by their path in the SDK module (go.mod, fn/app.go, ...).
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(embedded, "files", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimSuffix(strings.TrimPrefix(p, "files/"), ".txt")] = b
		return nil
	})
	return out, err
}

// Snapshot reads the files of the SDK module at sdkDir that the copy carries: go.mod, go.sum if any, and every
// .go file that is not a test, outside testdata and directories starting with "." or "_". Keys are slash paths
// relative to sdkDir.
func Snapshot(sdkDir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(sdkDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != sdkDir && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(sdkDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		keep := rel == "go.mod" || rel == "go.sum" ||
			(strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_"))
		if !keep {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := out["go.mod"]; !ok {
		return nil, fmt.Errorf("sdkdist: %s has no go.mod", sdkDir)
	}
	return out, nil
}

// Hash is a SHA-256 over the files' paths and contents, in path order.
func Hash(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultBase is the parent of installed copies: $LAPIS_SDK_DIR if set, else <user cache dir>/lapis/sdk.
func DefaultBase() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("sdkdist: no user cache directory (set %s): %w", EnvDir, err)
	}
	return filepath.Join(c, "lapis", "sdk"), nil
}

// Install writes the embedded SDK into <base>/<sha256 of its contents> and returns that absolute directory, the
// target of an app's replace directive. An empty base means DefaultBase. A complete copy already there is reused;
// an incomplete or altered one is replaced. Concurrent installs are safe: each writes a temporary directory and
// renames it into place.
func Install(base string) (string, error) {
	files, err := Files()
	if err != nil {
		return "", fmt.Errorf("sdkdist: %w", err)
	}
	if base == "" {
		if base, err = DefaultBase(); err != nil {
			return "", err
		}
	}
	if base, err = filepath.Abs(base); err != nil {
		return "", fmt.Errorf("sdkdist: %w", err)
	}
	dir := filepath.Join(base, Hash(files)[:16])
	if matches(dir, files) {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("sdkdist: %w", err)
	}
	tmp, err := os.MkdirTemp(base, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("sdkdist: %w", err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("sdkdist: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", fmt.Errorf("sdkdist: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if matches(dir, files) { // another install won the race
			return dir, nil
		}
		// An altered copy is in the way: replace it.
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return "", fmt.Errorf("sdkdist: %w", errors.Join(err, rmErr))
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", fmt.Errorf("sdkdist: %w", err)
		}
	}
	return dir, nil
}

// matches reports whether dir holds exactly files (extra files such as editor droppings are ignored).
func matches(dir string, files map[string][]byte) bool {
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}

// WriteCopy replaces the files/ directory at out with files (the generator's job): NAME becomes NAME.txt.
func WriteCopy(out string, files map[string][]byte) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(out, filepath.FromSlash(path.Clean(name))+".txt")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
