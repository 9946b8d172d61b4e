package blobbinding

import "testing"

func TestURLPath(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:10000/acct/uploads/cat%20one.png":             "uploads/cat one.png",
		"http://localhost:10000/acct/uploads/a/b.txt":                   "uploads/a/b.txt",
		"https://acct.blob.core.windows.net/uploads/dir/x.bin":          "uploads/dir/x.bin",
		"https://acct.blob.core.windows.net/uploads/dir/x.bin?sv=1&s=2": "uploads/dir/x.bin",
	} {
		got, err := urlPath(in)
		if err != nil || got != want {
			t.Errorf("urlPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := urlPath("http://127.0.0.1:10000/acct"); err == nil {
		t.Error("a URL with no container was accepted")
	}
}
