package runtime

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/substrate"
)

// maxUnpacked bounds what one package may expand to (a guard against zip bombs).
const maxUnpacked = 4 << 30

// completeMarker marks a fully unpacked deployment directory.
const completeMarker = ".lapis-unpacked"

func tokenLower(s string) string { return substrate.Token(strings.ToLower(s)) }

// address asks the trigger's binding type how the function is called by URL, if it is: its path and query on the
// front door, and for a webhook trigger the name of the system key that authorizes calls.
func address(fn *binding.Function) (path, systemKey string, ok bool) {
	t, ok := binding.Lookup(fn.Trigger().Type)
	if !ok {
		return "", "", false
	}
	a, ok := t.(binding.Addressable)
	if !ok {
		return "", "", false
	}
	if wh, ok := t.(binding.Webhook); ok {
		systemKey = binding.SystemKeyName(wh.Extension())
	}
	return a.InvokePath(fn), systemKey, true
}

// unpack makes DataDir/functions/apps/{site}/{dep} hold the deployment's files, fetching the package from the
// substrate if this node has not unpacked it yet.
func (rt *Runtime) unpack(ctx context.Context, site, dep string) (string, error) {
	rt.extractM.Lock()
	defer rt.extractM.Unlock()
	dir := filepath.Join(rt.root, "apps", site, dep)
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("functions: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dir), dep+"-*.zip")
	if err != nil {
		return "", fmt.Errorf("functions: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	pkg, err := rt.store.OpenPackage(ctx, site, dep)
	if err != nil {
		return "", err
	}
	size, err := io.Copy(tmp, pkg)
	pkg.Close()
	if err != nil {
		return "", fmt.Errorf("functions: fetching the package: %w", err)
	}
	staging := dir + ".unpacking"
	_ = os.RemoveAll(staging)
	if err := Unzip(tmp, size, staging); err != nil {
		_ = os.RemoveAll(staging)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(staging, completeMarker), nil, 0o644); err != nil {
		return "", fmt.Errorf("functions: %w", err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(staging, dir); err != nil {
		return "", fmt.Errorf("functions: %w", err)
	}
	return dir, nil
}

// Unzip expands a zip package into dir, refusing entries that would land outside it, links, and packages that
// expand past maxUnpacked. Unix permission bits are kept; the worker named by host.json's
// customHandler.description.defaultExecutablePath is made executable even when the zip (made on Windows, say)
// carries no mode.
func Unzip(r io.ReaderAt, size int64, dir string) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("the package is not a zip archive: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var total int64
	for _, f := range zr.File {
		name := strings.ReplaceAll(f.Name, `\`, "/")
		clean := filepath.Clean(filepath.FromSlash(name))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || strings.Contains(name, ":") {
			return fmt.Errorf("the package entry %q would be written outside the app", f.Name)
		}
		dst := filepath.Join(dir, clean)
		mode := f.Mode()
		switch {
		case mode&os.ModeSymlink != 0:
			return fmt.Errorf("the package entry %q is a symbolic link, which Lapis does not unpack", f.Name)
		case f.FileInfo().IsDir() || strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		perm := mode.Perm() | 0o600
		if mode.Perm() == 0 {
			perm = 0o644
		}
		n, err := writeEntry(f, dst, perm, maxUnpacked-total)
		if err != nil {
			return err
		}
		total += n
	}
	return makeWorkerExecutable(dir)
}

func writeEntry(f *zip.File, dst string, perm os.FileMode, room int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("the package entry %q: %w", f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, room+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("the package entry %q: %w", f.Name, err)
	}
	if n > room {
		return n, errors.New("the package expands to more than 4 GiB")
	}
	return n, nil
}

func makeWorkerExecutable(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if err != nil {
		return nil // no host.json: host.New reports it
	}
	var hj struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if json.Unmarshal(b, &hj) != nil || hj.CustomHandler.Description.DefaultExecutablePath == "" {
		return nil
	}
	p := filepath.Clean(filepath.FromSlash(hj.CustomHandler.Description.DefaultExecutablePath))
	if filepath.IsAbs(p) || strings.HasPrefix(p, "..") {
		return nil
	}
	for _, cand := range []string{filepath.Join(dir, p), filepath.Join(dir, p) + ".exe"} {
		if st, err := os.Stat(cand); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o100 == 0 {
			if err := os.Chmod(cand, st.Mode().Perm()|0o755); err != nil {
				return err
			}
		}
	}
	return nil
}
