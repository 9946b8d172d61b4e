package cli

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// writeTestApp makes a custom-handler app with files that must and must
// not be deployed, and returns its directory.
func writeTestApp(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"host.json":                 `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}}}`,
		"hello/function.json":       `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},{"type":"http","direction":"out","name":"res"}]}`,
		"handler":                   "#!/bin/sh\necho hi\n",
		"data/words.txt":            "a b c\n",
		".gitignore":                "handler\n",
		".funcignore":               "# comments and blank lines\n\n*.log\n/secret/\ndocs/*.md\n!keep.md\n",
		".git/config":               "[core]\n",
		".vscode/settings.json":     "{}",
		".lapis/server.json":        "{}",
		"__pycache__/x.pyc":         "x",
		"lib/__pycache__/y.pyc":     "y",
		"local.settings.json":       `{"Values":{"SECRET":"1"}}`,
		"lib/local.settings.json":   "{}",
		"lib/util.py":               "pass\n",
		"app.log":                   "log",
		"lib/deep.log":              "log",
		"secret/s.txt":              "s",
		"lib/secret/kept.txt":       "kept: /secret/ is anchored at the root",
		"docs/readme.md":            "#",
		"docs/guide.txt":            "kept",
		"lib/docs/nested.md":        "kept: docs/*.md is anchored at the root",
		"hello/local.settings.json": "{}",
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if name == "handler" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	if runtime.GOOS != "windows" {
		if err := os.Symlink(filepath.Join(root, "data", "words.txt"), filepath.Join(root, "words-link.txt")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, "data"), filepath.Join(root, "data-link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling")); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func readZip(t *testing.T, b []byte) map[string]*zip.File {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*zip.File{}
	for _, f := range zr.File {
		out[f.Name] = f
	}
	return out
}

func zipContent(t *testing.T, f *zip.File) string {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteAppZip(t *testing.T) {
	root := writeTestApp(t)
	// The archive inside the app directory is left out of itself.
	self := filepath.Join(root, "out.zip")
	zf, err := os.Create(self)
	if err != nil {
		t.Fatal(err)
	}
	names, err := writeAppZip(zf, root, zipOptions{exclude: self, executables: []string{"lib/util.py"}, extra: map[string][]byte{"extra/generated.json": []byte("{}"), "data/words.txt": []byte("replaced")}})
	if err != nil {
		t.Fatal(err)
	}
	zf.Close()
	// The directory in walk order, then the extra entries in name order.
	want := []string{".funcignore", ".gitignore", "docs/guide.txt", "handler", "hello/function.json", "host.json",
		"lib/docs/nested.md", "lib/secret/kept.txt", "lib/util.py"}
	if runtime.GOOS != "windows" {
		want = append(want, "words-link.txt")
	}
	want = append(want, "data/words.txt", "extra/generated.json")
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("entries\n%q\nwant\n%q", names, want)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	files := readZip(t, b)
	if len(files) != len(want) {
		t.Fatalf("zip has %d entries, want %d", len(files), len(want))
	}
	modes := map[string]os.FileMode{"handler": 0o755, "host.json": 0o644, "lib/util.py": 0o755, "extra/generated.json": 0o644}
	if runtime.GOOS == "windows" {
		delete(modes, "handler") // no mode bits to keep
	}
	for name, mode := range modes {
		f := files[name]
		if f == nil {
			t.Fatalf("no %s", name)
		}
		if got := f.Mode().Perm(); got != mode {
			t.Errorf("%s: mode %v, want %v", name, got, mode)
		}
		if f.ExternalAttrs>>16 == 0 || f.CreatorVersion>>8 != 3 {
			t.Errorf("%s: no Unix mode in the external attributes (%x, creator %x)", name, f.ExternalAttrs, f.CreatorVersion)
		}
	}
	if got := zipContent(t, files["data/words.txt"]); got != "replaced" {
		t.Errorf("an extra entry did not replace the file: %q", got)
	}
	if got := zipContent(t, files["handler"]); got != "#!/bin/sh\necho hi\n" {
		t.Errorf("handler = %q", got)
	}
	if runtime.GOOS != "windows" {
		if got := zipContent(t, files["words-link.txt"]); got != "a b c\n" {
			t.Errorf("link to a file = %q", got)
		}
	}
}

func TestFuncignore(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".funcignore")
	os.WriteFile(p, []byte("*.ts\nbuild/\n/top.txt\na/b/*.c\n[\n"), 0o600)
	ig, err := readFuncignore(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  bool
		want bool
	}{
		{"x.ts", false, true}, {"deep/y.ts", false, true}, {"build", true, true}, {"src/build", true, true}, {"build", false, false},
		{"top.txt", false, true}, {"sub/top.txt", false, false}, {"a/b/x.c", false, true}, {"z/a/b/x.c", false, false}, {"x.go", false, false},
	} {
		if got := ig.match(tc.name, tc.dir); got != tc.want {
			t.Errorf("match(%q, dir=%v) = %v, want %v", tc.name, tc.dir, got, tc.want)
		}
	}
	if ig, err := readFuncignore(filepath.Join(t.TempDir(), "none")); err != nil || ig != nil {
		t.Fatalf("missing .funcignore: %v %v", ig, err)
	}
}

// publishFake is a management API with one function app to publish to; it
// keeps the last zip uploaded.
func publishFake(t *testing.T, serverOS, serverArch string) (*fakeARM, *[]byte) {
	f := newFakeARM(t)
	id := "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/app1"
	f.json("GET", "/subscriptions/"+testSub+"/providers/Microsoft.Web/sites", map[string]any{"value": []any{
		map[string]any{"id": id, "name": "app1", "kind": "functionapp,linux"},
		map[string]any{"id": "/subscriptions/" + testSub + "/resourceGroups/rg2/providers/Microsoft.Web/sites/twin", "name": "twin", "kind": "functionapp"},
		map[string]any{"id": "/subscriptions/" + testSub + "/resourceGroups/rg3/providers/Microsoft.Web/sites/twin", "name": "twin", "kind": "functionapp"},
	}})
	f.json("GET", sitePth, map[string]any{"id": id, "name": "app1"})
	if serverOS != "" {
		f.json("GET", "/version", map[string]any{"version": "test", "os": serverOS, "arch": serverArch})
	}
	uploaded := new([]byte)
	f.on("POST", sitePth+"/extensions/zipdeploy", func(w http.ResponseWriter, _ *http.Request, body []byte) {
		*uploaded = body
		writeTestJSON(w, 200, map[string]any{"properties": map[string]any{"id": "d1", "status": 4, "complete": true}})
	})
	f.json("GET", sitePth+"/functions", map[string]any{"value": []any{map[string]any{"id": id + "/functions/hello", "name": "app1/hello",
		"properties": map[string]any{"name": "hello", "invoke_url_template": "http://app1.localhost:7071/api/hello",
			"config": map[string]any{"bindings": []any{map[string]any{"type": "httpTrigger", "direction": "in"}, map[string]any{"type": "http", "direction": "out"}}}}}}})
	return f, uploaded
}

func TestFuncPublishCustomHandler(t *testing.T) {
	root := writeTestApp(t)
	f, uploaded := publishFake(t, "", "")
	code, out, errOut := f.run(t, "func", "azure", "functionapp", "publish", "app1", "--dir", root)
	if code != 0 {
		t.Fatalf("publish: %d\n%s\n%s", code, out, errOut)
	}
	want := "Getting site publishing info...\nCreating archive for current directory...\nDeployment completed successfully.\n" +
		"Functions in app1:\n    hello - [httpTrigger]\n        Invoke url: http://app1.localhost:7071/api/hello\n"
	if out != want {
		t.Fatalf("stdout\n%s\nwant\n%s", out, want)
	}
	if !strings.HasPrefix(errOut, "Uploaded ") {
		t.Fatalf("stderr %q", errOut)
	}
	files := readZip(t, *uploaded)
	if files["host.json"] == nil || files["hello/function.json"] == nil || files["local.settings.json"] != nil || files[".git/config"] != nil {
		t.Fatalf("uploaded zip has %v", slices.Sorted(maps.Keys(files)))
	}
	if runtime.GOOS != "windows" && files["handler"].Mode().Perm() != 0o755 {
		t.Fatalf("handler mode %v", files["handler"].Mode())
	}

	// --list-included-files needs no server.
	code, out, _ = run(t, "func", "publish", "app1", "--dir", root, "--list-included-files")
	if code != 0 || !strings.Contains(out, "hello/function.json\n") || strings.Contains(out, "local.settings.json") {
		t.Fatalf("--list-included-files: %d %q", code, out)
	}

	// Finding the group: none or several apps of the name.
	if code, _, errOut := f.run(t, "func", "publish", "nope", "--dir", root); code != 3 || !strings.Contains(errOut, `Can't find app with name "nope"`) {
		t.Fatalf("unknown app: %d %s", code, errOut)
	}
	if code, _, errOut := f.run(t, "func", "publish", "twin", "--dir", root); code != 2 || !strings.Contains(errOut, "several resource groups (rg2, rg3)") {
		t.Fatalf("ambiguous app: %d %s", code, errOut)
	}
	if code, _, errOut := f.run(t, "func", "publish", "app1", "--dir", t.TempDir()); code != 1 || !strings.Contains(errOut, "is not a function app") {
		t.Fatalf("empty dir: %d %s", code, errOut)
	}
}

func TestFuncPublishGoApp(t *testing.T) {
	offline(t)
	dir := filepath.Join(t.TempDir(), "goapp")
	if code, out, errOut := run(t, "func", "init", dir); code != 0 {
		t.Fatalf("init: %d\n%s%s", code, out, errOut)
	}
	// Build for another architecture than this one, as the server says.
	arch, machine := "arm64", elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		arch, machine = "amd64", elf.EM_X86_64
	}
	f, uploaded := publishFake(t, "linux", arch)
	code, out, errOut := f.run(t, "func", "publish", "app1", "-g", "rg1", "--dir", dir)
	if code != 0 {
		t.Fatalf("publish: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "for linux/"+arch+": go build -o app .") || !strings.Contains(out, "Deployment completed successfully.") {
		t.Fatalf("stdout:\n%s", out)
	}
	files := readZip(t, *uploaded)
	exe := files["app"]
	if exe == nil || files["host.json"] == nil || files["main.go"] == nil || files["local.settings.json"] != nil {
		t.Fatalf("uploaded zip has %v", slices.Sorted(maps.Keys(files)))
	}
	if exe.Mode().Perm() != 0o755 {
		t.Fatalf("app mode %v", exe.Mode())
	}
	bin := zipContent(t, exe)
	ef, err := elf.NewFile(strings.NewReader(bin))
	if err != nil {
		t.Fatalf("the deployed app is not an ELF binary: %v", err)
	}
	if ef.Machine != machine {
		t.Fatalf("built for %v, want %v", ef.Machine, machine)
	}

	// --no-build deploys what is there; a server without /version gets this machine's build.
	f2, uploaded2 := publishFake(t, "", "")
	if code, out, errOut := f2.run(t, "func", "publish", "app1", "-g", "rg1", "--dir", dir, "--no-build"); code != 0 || strings.Contains(out, "go build") {
		t.Fatalf("--no-build: %d\n%s\n%s", code, out, errOut)
	}
	if got := zipContent(t, readZip(t, *uploaded2)["app"]); got != bin {
		t.Fatal("--no-build rebuilt the app")
	}
	os.Remove(filepath.Join(dir, "app"))
	if code, _, errOut := f2.run(t, "func", "publish", "app1", "-g", "rg1", "--dir", dir, "--no-build"); code != 1 || !strings.Contains(errOut, "executable app is missing") {
		t.Fatalf("--no-build without a build: %d %s", code, errOut)
	}
	if code, out, errOut := f2.run(t, "func", "publish", "app1", "-g", "rg1", "--dir", dir); code != 0 || !strings.Contains(out, "for "+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Fatalf("no /version: %d\n%s\n%s", code, out, errOut)
	}
}
