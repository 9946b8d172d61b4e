package runtime_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLogStreamShowsInvocations(t *testing.T) {
	s, _ := start(t, t.TempDir())
	createGroup(t, s, "rg")
	createSite(t, s, "rg", "chatty", nil)
	if code, dep := s.deploy(t, "rg", "chatty", buildApp(t, "v7", nil)); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.info.Management+s.site("rg", "chatty")+"/logstream?api-version="+apiVersion, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("logstream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.Contains(lines.Text(), "Welcome") {
		t.Fatalf("first line: %q", lines.Text())
	}
	if code, _ := s.call(t, "chatty", "GET", "/api/hello", nil); code != 200 {
		t.Fatalf("hello: %d", code)
	}
	want := map[string]bool{"Executing 'Functions.hello'": false, "answered from version v7": false, "Executed 'Functions.hello' (Succeeded": false}
	for missing := len(want); missing > 0 && lines.Scan(); {
		for w, seen := range want {
			if !seen && strings.Contains(lines.Text(), w) {
				want[w] = true
				missing--
			}
		}
	}
	for w, seen := range want {
		if !seen {
			t.Errorf("log stream lacks %q", w)
		}
	}
}
