// Command startup measures how fast `lapis start` is ready and how much
// memory it holds when idle.
//
// It builds the lapis binary (or takes -bin), then starts it -n times on an
// empty data directory and -n times on a data directory that already holds
// resources (a restart), measuring from exec until the "Ready" line on
// stdout, the resident memory after -idle seconds, and the time from SIGTERM
// to exit. It prints medians and spreads; run it on a quiet machine and
// compare the two cases within one run.
//
//	go run ./bench/startup -n 9
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 9, "starts per case")
	idle := flag.Duration("idle", 2*time.Second, "how long to idle before reading RSS")
	bin := flag.String("bin", "", "lapis binary (default: build ./cmd/lapis)")
	seed := flag.Int("resources", 200, "resources created before the restart case")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "lapis-bench-startup")
	check(err)
	defer os.RemoveAll(tmp)
	if *bin == "" {
		*bin = filepath.Join(tmp, "lapis")
		build := exec.Command("go", "build", "-trimpath", "-o", *bin, "./cmd/lapis")
		build.Stderr = os.Stderr
		check(build.Run())
	}
	env := append(os.Environ(), "XDG_CONFIG_HOME="+tmp)

	var fresh, restart []sample
	for i := 0; i < *n; i++ {
		fresh = append(fresh, run(*bin, filepath.Join(tmp, fmt.Sprintf("fresh%d", i)), env, *idle, nil))
	}
	warm := filepath.Join(tmp, "warm")
	run(*bin, warm, env, 0, func(mgmt string) { populate(*bin, warm, env, *seed) })
	for i := 0; i < *n; i++ {
		restart = append(restart, run(*bin, warm, env, *idle, nil))
	}

	fmt.Printf("lapis start: %d starts per case, idle %s before RSS (GOMAXPROCS host: %d cores)\n", *n, *idle, numCPU())
	report("empty data dir", fresh)
	report(fmt.Sprintf("restart, %d resources", *seed+1), restart)
	fr, rr := median(fresh, readyOf), median(restart, readyOf)
	fmt.Printf("ratio restart/empty ready time: %.2f\n", float64(rr)/float64(fr))
	fmt.Printf("goal: ready < 200ms, idle RSS < 60 MB\n")
}

type sample struct {
	ready, stop time.Duration
	rssKB       int
}

func readyOf(s sample) time.Duration { return s.ready }

var mgmtRe = regexp.MustCompile(`management\s+(http://\S+)`)

// run starts lapis once, waits for ready, optionally calls f, idles, reads
// RSS and stops it.
func run(bin, dir string, env []string, idle time.Duration, f func(mgmt string)) sample {
	cmd := exec.Command(bin, "start", "--data-dir", dir, "--management-port", "0", "--blob-port", "0", "--queue-port", "0", "--functions-port", "0", "--eventgrid-port", "0", "--cosmos-port", "0", "--log-level", "warn")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = os.Stderr
	start := time.Now()
	check(cmd.Start())
	sc := bufio.NewScanner(out)
	var mgmt string
	for sc.Scan() {
		line := sc.Text()
		if m := mgmtRe.FindStringSubmatch(line); m != nil {
			mgmt = m[1]
		}
		if strings.HasPrefix(line, "Ready in") {
			break
		}
	}
	s := sample{ready: time.Since(start)}
	go func() {
		for sc.Scan() {
		}
	}()
	if f != nil {
		f(mgmt)
	}
	time.Sleep(idle)
	s.rssKB = rssKB(cmd.Process.Pid)
	t := time.Now()
	check(cmd.Process.Signal(syscall.SIGTERM))
	check(cmd.Wait())
	s.stop = time.Since(t)
	return s
}

// populate creates groups and storage accounts through the CLI.
func populate(bin, dir string, env []string, n int) {
	lapis := func(args ...string) {
		c := exec.Command(bin, args...)
		c.Env = append(env, "LAPIS_DATA_DIR="+dir)
		c.Stderr = os.Stderr
		check(c.Run())
	}
	lapis("group", "create", "-n", "bench-rg", "-l", "eastus", "-o", "none")
	for i := 0; i < n; i++ {
		lapis("storage", "account", "create", "-n", fmt.Sprintf("bench%06d", i), "-g", "bench-rg", "-o", "none")
	}
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	return 0
}

func median(s []sample, f func(sample) time.Duration) time.Duration {
	v := make([]time.Duration, len(s))
	for i := range s {
		v[i] = f(s[i])
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func report(name string, s []sample) {
	ready := make([]time.Duration, len(s))
	stop := make([]time.Duration, len(s))
	rss := make([]int, len(s))
	for i := range s {
		ready[i], stop[i], rss[i] = s[i].ready, s[i].stop, s[i].rssKB
	}
	slices.Sort(ready)
	slices.Sort(stop)
	slices.Sort(rss)
	fmt.Printf("%-24s exec→ready median %6.1f ms (min %5.1f, max %5.1f) | idle RSS median %5.1f MB (min %5.1f, max %5.1f) | SIGTERM→exit median %5.1f ms\n",
		name, ms(ready[len(ready)/2]), ms(ready[0]), ms(ready[len(ready)-1]),
		float64(rss[len(rss)/2])/1024, float64(rss[0])/1024, float64(rss[len(rss)-1])/1024, ms(stop[len(stop)/2]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "startup bench:", err)
		os.Exit(1)
	}
}
