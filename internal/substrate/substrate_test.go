package substrate

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestTokenRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "Mixed-Case_9", "a.b", "with space", "ü", "*", ">", "=", "=41", "/subscriptions/x"} {
		tok := Token(s)
		if strings.ContainsAny(tok, ". *>\t") {
			t.Errorf("Token(%q) = %q is not a single subject token", s, tok)
		}
		back, err := ParseToken(tok)
		if err != nil || back != s {
			t.Errorf("ParseToken(Token(%q)) = %q, %v", s, back, err)
		}
	}
}

func FuzzToken(f *testing.F) {
	f.Add("resource group (1)")
	f.Add("=zz")
	f.Fuzz(func(t *testing.T, s string) {
		tok := Token(s)
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; !isPlain(c) && c != '=' && !isHex(c) {
				t.Fatalf("Token(%q) = %q has byte %q", s, tok, c)
			}
		}
		if back, err := ParseToken(tok); err != nil || back != s {
			t.Fatalf("round trip of %q: %q, %v", s, back, err)
		}
		_, _ = ParseToken(s) // arbitrary input must not panic
	})
}

func TestEventSubject(t *testing.T) {
	got := EventSubject("resources", "/subscriptions/S1/resourceGroups/My.RG")
	if got != "lapis.events.resources.subscriptions.s1.resourcegroups.my=2Erg" {
		t.Fatalf("EventSubject = %q", got)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestEmbeddedKeepsStateAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, mode := range []SyncMode{SyncAlways, SyncInterval} {
		s, err := Open(ctx, Config{DataDir: dir, Sync: mode, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Embedded() || s.Check(ctx) != nil {
			t.Fatalf("embedded substrate not healthy")
		}
		kv, err := s.KeyValue(ctx, "test", KVSpec{Name: "things"})
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stream(ctx, "test", StreamSpec{Name: "work", Subjects: []string{"jobs.>"}})
		if err != nil {
			t.Fatal(err)
		}
		if st.CachedInfo().Config.Name != "LAPIS_TEST_WORK" || st.CachedInfo().Config.Subjects[0] != "lapis.test.jobs.>" {
			t.Fatalf("stream config = %+v", st.CachedInfo().Config)
		}
		if mode == SyncAlways {
			// First run: write, then close.
			if _, err := kv.Put(ctx, Token("a key"), []byte("v1")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Publish(ctx, &nats.Msg{Subject: Subject("test", "jobs", "one job"), Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if err := s.PublishEvent(ctx, "test", "/subscriptions/s", []byte(`{}`), "ev-1"); err != nil {
				t.Fatal(err)
			}
			// The same event id again is deduplicated.
			if err := s.PublishEvent(ctx, "test", "/subscriptions/s", []byte(`{}`), "ev-1"); err != nil {
				t.Fatal(err)
			}
		} else {
			// Second run: everything is still there.
			e, err := kv.Get(ctx, Token("a key"))
			if err != nil || string(e.Value()) != "v1" {
				t.Fatalf("kv after restart: %v", err)
			}
			info, err := st.Info(ctx)
			if err != nil || info.State.Msgs != 1 {
				t.Fatalf("stream after restart: %+v %v", info, err)
			}
			c, err := s.EventsConsumer(ctx, jetstream.ConsumerConfig{Durable: "t", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				t.Fatal(err)
			}
			ci, err := c.Info(ctx)
			if err != nil || ci.NumPending != 1 {
				t.Fatalf("events after restart: pending %d, want 1 (dedup): %v", ci.NumPending, err)
			}
			u, err := s.Usage(ctx)
			if err != nil || u.Streams < 3 || u.Messages < 3 {
				t.Fatalf("usage = %+v, %v", u, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenExternalFailsClearly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{URL: "nats://127.0.0.1:1", Logger: quiet()})
	if err == nil || !strings.Contains(err.Error(), "nats://127.0.0.1:1") {
		t.Fatalf("Open with an unreachable URL = %v", err)
	}
}

func TestParseSyncMode(t *testing.T) {
	if m, err := ParseSyncMode("ALWAYS"); err != nil || m != SyncAlways {
		t.Fatal(m, err)
	}
	if _, err := ParseSyncMode("sometimes"); err == nil {
		t.Fatal("accepted an unknown mode")
	}
}
