package runtime

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnzip checks that no package, however malformed, writes outside the target directory or panics.
func FuzzUnzip(f *testing.F) {
	for _, names := range [][]string{{"host.json", "hello/function.json"}, {"../evil"}, {"a/../../b"}, {"/abs"}, {`..\win`}, {"c:/x"}, {"dir/"}} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, _ := zw.Create(n)
			w.Write([]byte(`{"version":"2.0"}`))
		}
		zw.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "app")
		_ = Unzip(bytes.NewReader(data), int64(len(data)), dir)
		_ = filepath.Walk(parent, func(p string, info os.FileInfo, err error) error {
			if err == nil && p != parent && p != dir && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
				t.Fatalf("wrote %s outside %s", p, dir)
			}
			return nil
		})
	})
}

// FuzzAppName checks that any Host header yields a lower-case label or nothing.
func FuzzAppName(f *testing.F) {
	for _, s := range []string{"myapp.localhost:7071", "127.0.0.1:7071", "[::1]:7071", "localhost", "a.b.c", ".x", "X.Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		n := appName(host)
		if n != strings.ToLower(n) || strings.Contains(n, ".") {
			t.Fatalf("appName(%q) = %q", host, n)
		}
	})
}

func TestAppName(t *testing.T) {
	for in, want := range map[string]string{"MyApp.localhost:7071": "myapp", "myapp.localhost": "myapp", "127.0.0.1:7071": "",
		"localhost:7071": "", "[::1]:7071": "", "a.b.example.com": "a"} {
		if got := appName(in); got != want {
			t.Errorf("appName(%q) = %q, want %q", in, got, want)
		}
	}
}
