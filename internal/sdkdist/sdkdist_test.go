package sdkdist_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lapisdev/lapis/internal/sdkdist"
)

// TestEmbeddedCopyIsCurrent fails when internal/sdkdist/files differs from sdk/: run go generate ./internal/sdkdist.
func TestEmbeddedCopyIsCurrent(t *testing.T) {
	want, err := sdkdist.Snapshot(filepath.Join("..", "..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := sdkdist.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if b, ok := got[name]; !ok {
			t.Errorf("%s: missing from the embedded copy", name)
		} else if !bytes.Equal(b, want[name]) {
			t.Errorf("%s: the embedded copy differs from sdk/", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: in the embedded copy but no longer in sdk/", name)
		}
	}
	if t.Failed() {
		t.Log("the embedded SDK is stale: run go generate ./internal/sdkdist")
	}
}

func TestInstall(t *testing.T) {
	base := t.TempDir()
	dir, err := sdkdist.Install(base)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != base {
		t.Fatalf("installed in %s, want under %s", dir, base)
	}
	for _, f := range []string{"go.mod", filepath.Join("fn", "app.go")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	// Reused as is; an altered copy is repaired.
	if again, err := sdkdist.Install(base); err != nil || again != dir {
		t.Fatalf("second install: %s, %v", again, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fn", "app.go"), []byte("package fn\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again, err := sdkdist.Install(base); err != nil || again != dir {
		t.Fatalf("repair: %s, %v", again, err)
	}
	files, _ := sdkdist.Files()
	if b, _ := os.ReadFile(filepath.Join(dir, "fn", "app.go")); !bytes.Equal(b, files["fn/app.go"]) {
		t.Fatal("altered copy not repaired")
	}
	t.Setenv(sdkdist.EnvDir, base)
	if d, err := sdkdist.Install(""); err != nil || d != dir {
		t.Fatalf("with %s: %s, %v", sdkdist.EnvDir, d, err)
	}
}
