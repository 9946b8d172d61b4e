package host

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// portOwner reports whether the TCP listener on port belongs to process pid or one of its descendants. known is
// false when /proc cannot tell (no listener seen, or no access): callers then trust the answer they got. The
// port a worker gets is found free and handed over by number, so another process can take it first; a readiness
// probe answered by that process must not count.
func portOwner(pid, port int) (owned, known bool) {
	listeners := listenerInodes(port)
	if len(listeners) == 0 {
		return false, false
	}
	mine := map[string]bool{}
	seen := map[int]bool{}
	readable := false
	var walk func(p int)
	walk = func(p int) {
		if seen[p] || len(seen) > 256 {
			return
		}
		seen[p] = true
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p))
		if err == nil {
			readable = true
			for _, e := range entries {
				if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p, e.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
					mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
				}
			}
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, t.Name()))
			if err != nil {
				continue
			}
			for _, c := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(c); err == nil {
					walk(n)
				}
			}
		}
	}
	walk(pid)
	if !readable {
		return false, false
	}
	for _, inode := range listeners {
		if mine[inode] {
			return true, true
		}
	}
	return false, true
}

// listenerInodes returns the socket inodes of the TCP listeners on port, from /proc/net/tcp and tcp6.
func listenerInodes(port int) []string {
	suffix := fmt.Sprintf(":%04X", port)
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], suffix) {
				continue
			}
			out = append(out, fields[9])
		}
		fh.Close()
	}
	return out
}
