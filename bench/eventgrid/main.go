// Command eventgrid measures Event Grid delivery: events published to one
// topic and pushed to 10 webhook subscriptions on loopback (deliveries/s,
// publish-to-delivery p50/p99), then the same with one of the 10 endpoints
// down, to show that a dead subscriber does not slow the others.
//
//	go run ./bench/eventgrid -n 4000 -subs 10
//
// The platform runs in this process with its own data directory; the
// webhooks are net/http servers on loopback that answer the validation
// handshake as a real handler would. Each event carries its publish time;
// latency is measured from just before the publish request to the moment a
// webhook reads the event.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lapisdev/lapis/bench/internal/load"
	"github.com/lapisdev/lapis/internal/platform"
)

func main() {
	n := flag.Int("n", 4000, "events to publish per round")
	subs := flag.Int("subs", 10, "webhook subscriptions")
	batch := flag.Int("batch", 50, "events per publish request")
	conc := flag.Int("c", 4, "concurrent publishers")
	rate := flag.Int("rate", 20000, "deliveries/s the paced rounds aim at (events/s times subscriptions)")
	verbose := flag.Bool("v", false, "log the platform")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (platform and webhooks) here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "eventgrid bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *subs, *batch, *conc, *rate, *verbose); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "eventgrid bench:", err)
		os.Exit(1)
	}
}

// sink is a webhook: it answers the handshake and records each event's
// latency.
type sink struct {
	srv  *http.Server
	addr string
	got  atomic.Int64
	mu   sync.Mutex
	lat  []time.Duration
}

func newSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: "http://" + ln.Addr().String() + "/hook"}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	now := time.Now()
	var evs []struct {
		Data struct {
			Sent int64 `json:"sent"`
		} `json:"data"`
		EventType string `json:"eventType"`
		Data2     struct {
			ValidationCode string `json:"validationCode"`
		} `json:"-"`
	}
	if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
		var v []struct {
			Data struct {
				ValidationCode string `json:"validationCode"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &v)
		_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": v[0].Data.ValidationCode})
		return
	}
	_ = json.Unmarshal(b, &evs)
	s.mu.Lock()
	for _, ev := range evs {
		s.lat = append(s.lat, now.Sub(time.Unix(0, ev.Data.Sent)))
	}
	s.mu.Unlock()
	s.got.Add(int64(len(evs)))
}

func (s *sink) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.lat
	s.lat = nil
	return out
}

type client struct {
	mgmt, token, sub string
}

func (c *client) call(method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	api := "2025-02-15"
	if !strings.Contains(path, "/providers/") {
		api = "2021-04-01"
	}
	req, _ := http.NewRequest(method, c.mgmt+"/subscriptions/"+c.sub+path+"?api-version="+api, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return out, nil
}

func run(n, nsubs, batch, conc, rate int, verbose bool) error {
	dir, err := os.MkdirTemp("", "lapis-bench-eventgrid-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := platform.Defaults()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Ports = platform.Ports{Functions: -1}
	cfg.Logger = slog.New(slog.DiscardHandler)
	if verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { cancel(); srv.Wait() }()
	info := srv.Info()
	token, err := platform.ReadAdminKey(cfg.DataDir)
	if err != nil {
		return err
	}
	c := &client{mgmt: info.Management, token: token, sub: info.Subscription}
	if _, err := c.call("PUT", "/resourcegroups/bench", map[string]any{"location": "eastus"}); err != nil {
		return err
	}
	topicPath := "/resourceGroups/bench/providers/Microsoft.EventGrid/topics/bench-topic"
	topic, err := c.call("PUT", topicPath, map[string]any{"location": "eastus"})
	if err != nil {
		return err
	}
	endpoint := topic["properties"].(map[string]any)["endpoint"].(string)
	keys, err := c.call("POST", topicPath+"/listKeys", nil)
	if err != nil {
		return err
	}
	key := keys["key1"].(string)
	// Publish path-style on 127.0.0.1, so no name resolution is measured.
	egURL := strings.Replace(endpoint, "bench-topic.localhost", "127.0.0.1", 1)
	egURL = strings.Replace(egURL, "/api/events", "/bench-topic/api/events", 1)

	sinks := make([]*sink, nsubs)
	for i := range sinks {
		if sinks[i], err = newSink(); err != nil {
			return err
		}
		defer sinks[i].srv.Close()
		if _, err := c.call("PUT", fmt.Sprintf("%s/providers/Microsoft.EventGrid/eventSubscriptions/hook-%d", topicPath, i),
			map[string]any{"properties": map[string]any{"destination": map[string]any{"endpointType": "WebHook",
				"properties": map[string]any{"endpointUrl": sinks[i].addr}}}}); err != nil {
			return err
		}
	}
	pub := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}}
	publish := func(first, batch int) error {
		var b bytes.Buffer
		b.WriteByte('[')
		sent := time.Now().UnixNano()
		for j := range batch {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"e-%d-%d","eventType":"Bench.Event","subject":"bench/%d","eventTime":"2026-11-24T00:00:00Z","dataVersion":"1","data":{"sent":%d}}`,
				sent, first+j, first+j, sent)
		}
		b.WriteByte(']')
		req, _ := http.NewRequest("POST", egURL, &b)
		req.Header.Set("aeg-sas-key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := pub.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("publish: %d", resp.StatusCode)
		}
		return nil
	}

	fmt.Printf("Event Grid delivery: 1 topic -> %d webhook subscriptions on loopback, %d events per round (%d per publish, %d publishers), GOMAXPROCS=%d\n",
		nsubs, n, batch, conc, runtime.GOMAXPROCS(0))
	round := func(name string, live []*sink, paced bool) error {
		var before []int64
		for _, s := range live {
			before = append(before, s.got.Load())
			s.take()
		}
		var failed atomic.Int64
		start := time.Now()
		want := int64(n / batch * batch)
		if paced {
			// Small publishes on a fixed beat, at rate/len(sinks) events/s.
			per := 10
			interval := time.Duration(float64(time.Second) * float64(per) / (float64(rate) / float64(nsubs)))
			var wg sync.WaitGroup
			for i := 0; i < n/per; i++ {
				time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := publish(i*per, per); err != nil {
						failed.Add(1)
					}
				}()
			}
			wg.Wait()
			want = int64(n / per * per)
		} else {
			load.Run(n/batch, conc, func(i int) {
				if err := publish(i*batch, batch); err != nil {
					failed.Add(1)
				}
			})
		}
		pubDone := time.Since(start)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			done := true
			for i, s := range live {
				if s.got.Load()-before[i] < want {
					done = false
				}
			}
			if done || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		var lat []time.Duration
		var total int64
		for i, s := range live {
			lat = append(lat, s.take()...)
			total += s.got.Load() - before[i]
		}
		slices.Sort(lat)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("%-26s %7d deliveries in %6.2fs = %8.0f deliveries/s (publish took %.2fs, %d failed)  latency p50 %6.2f ms  p99 %7.2f ms  heap %d MB\n",
			name, total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), pubDone.Seconds(), failed.Load(),
			load.Pct(lat, 50), load.Pct(lat, 99), ms.HeapAlloc>>20)
		return nil
	}
	// Warm up: connections, consumers.
	if err := round("warm-up", sinks, false); err != nil {
		return err
	}
	if err := round("saturated, 10 up", sinks, false); err != nil {
		return err
	}
	if err := round(fmt.Sprintf("paced %dk/s, 10 up", rate/1000), sinks, true); err != nil {
		return err
	}
	// One subscriber down: its server stops, so its deliveries fail and go
	// to the retry stream.
	_ = sinks[0].srv.Close()
	if err := round(fmt.Sprintf("saturated, %d up 1 down", nsubs-1), sinks[1:], false); err != nil {
		return err
	}
	if err := round(fmt.Sprintf("paced, %d up 1 down", nsubs-1), sinks[1:], true); err != nil {
		return err
	}
	return nil
}
