package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFanoutExample runs examples/fanout/setup.sh against a running Lapis
// with the real binary, uploads an image and a file with the EICAR test
// signature, and checks that each reached the three functions: a
// thumbnail, a scan verdict and the metadata, through a system topic and
// three AzureFunction subscriptions.
func TestFanoutExample(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not on PATH")
	}
	s, _ := startFunctionsLapis(t)

	// The example, copied so that its build does not write into the
	// repository, with its SDK replace made absolute.
	src, _ := filepath.Abs(filepath.Join("..", "..", "examples", "fanout"))
	sdk, _ := filepath.Abs(filepath.Join("..", "..", "sdk"))
	dir := t.TempDir()
	for _, f := range []string{"main.go", "go.mod", "host.json", "setup.sh"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "go.mod" {
			b = bytes.Replace(b, []byte("=> ../../sdk"), []byte("=> "+sdk), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	setup := exec.Command("bash", filepath.Join(dir, "setup.sh"))
	setup.Env = append(os.Environ(), "LAPIS="+lapisBin, "LAPIS_DATA_DIR="+s.dataDir, "XDG_CONFIG_HOME="+t.TempDir(),
		"GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off")
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	subs := ok(t, s, "eventgrid", "system-topic", "event-subscription", "list", "-g", "fanout-rg",
		"--system-topic-name", "fanoutstore-events", "--query", "[].provisioningState", "-o", "tsv")
	if subs != "Succeeded\nSucceeded\nSucceeded\n" {
		t.Fatalf("subscriptions: %q", subs)
	}

	// A 200x100 PNG and a text file with the EICAR signature.
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for x := range 200 {
		img.Set(x, x/2, color.RGBA{R: 255, A: 255})
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	os.WriteFile(filepath.Join(files, "cat.png"), pic.Bytes(), 0o644)
	os.WriteFile(filepath.Join(files, "eicar.txt"), []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`+"\n"), 0o644)
	for _, f := range []string{"cat.png", "eicar.txt"} {
		ok(t, s, "storage", "blob", "upload", "--account-name", "fanoutstore", "-c", "uploads", "-n", f, "-f", filepath.Join(files, f), "-o", "none")
	}

	// Three outputs for the image, two for the text (no thumbnail).
	names := func(container string) []string {
		out := ok(t, s, "storage", "blob", "list", "--account-name", "fanoutstore", "-c", container, "--query", "[].name", "-o", "tsv")
		return strings.Fields(out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(names("thumbnails")) < 1 || len(names("scans")) < 2 || len(names("metadata")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("outputs after 60 s: thumbnails %v scans %v metadata %v\nserver log:\n%s",
				names("thumbnails"), names("scans"), names("metadata"), s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	read := func(container, name string) []byte {
		out := filepath.Join(t.TempDir(), "blob")
		ok(t, s, "storage", "blob", "download", "--account-name", "fanoutstore", "-c", container, "-n", name, "-f", out, "-o", "none")
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	thumb, err := png.Decode(bytes.NewReader(read("thumbnails", names("thumbnails")[0])))
	if err != nil || thumb.Bounds().Dx() != 64 || thumb.Bounds().Dy() != 32 {
		t.Fatalf("thumbnail: %v %v", thumb.Bounds(), err)
	}
	infected := map[string]bool{}
	for _, n := range names("scans") {
		var v struct {
			Blob     string
			Infected bool
			SHA256   string
		}
		if err := json.Unmarshal(read("scans", n), &v); err != nil || len(v.SHA256) != 64 {
			t.Fatalf("scan %s: %+v %v", n, v, err)
		}
		infected[filepath.Base(v.Blob)] = v.Infected
	}
	if !infected["eicar.txt"] || infected["cat.png"] {
		t.Fatalf("verdicts %v", infected)
	}
	kinds := map[string]string{}
	for _, n := range names("metadata") {
		var m map[string]any
		if err := json.Unmarshal(read("metadata", n), &m); err != nil {
			t.Fatal(err)
		}
		kinds[m["name"].(string)] = m["sniffedContentType"].(string)
		if m["name"] == "cat.png" {
			if im, _ := m["image"].(map[string]any); im["width"] != 200.0 || im["height"] != 100.0 {
				t.Fatalf("image metadata %v", m)
			}
		}
	}
	if kinds["cat.png"] != "image/png" || !strings.HasPrefix(kinds["eicar.txt"], "text/plain") {
		t.Fatalf("metadata kinds %v", kinds)
	}
}
