// Package cputime reads how much CPU processes and the machine have used,
// from /proc (Linux). Elsewhere, and for a process that cannot be read,
// the answers are zero or empty: the benchmarks that use it leave their
// CPU figures out then.
package cputime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go runs on.
const tick = 10 * time.Millisecond

// Process is the CPU time (user and system) pid has used; 0 if unknown.
func Process(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, d := parseStat(string(b))
	return d
}

// Named is the CPU time used so far by each process named name (all of a
// PostgreSQL server's are named postgres), by pid.
func Named(name string) map[int]time.Duration {
	out := map[int]time.Duration{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if n, d := parseStat(string(b)); n == name {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out[pid] = d
		}
	}
	return out
}

// Since is what the processes of before used until after, two readings of
// Named: a process that started or ended between them counts only what it
// used while both saw it.
func Since(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, a := range after {
		if b, ok := before[pid]; ok {
			d += a - b
		}
	}
	return d
}

// Busy is the CPU time all CPUs together have spent on anything but
// idling and waiting for I/O (/proc/stat's first line).
func Busy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var t int64
	for i, x := range f[1:] {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0
		}
		if i != 3 && i != 4 { // idle, iowait
			t += v
		}
	}
	return time.Duration(t) * tick
}

// parseStat reads a /proc/PID/stat line: the command name, and utime plus
// stime (its 14th and 15th fields; the name, in parentheses, may hold
// spaces and parentheses of its own).
func parseStat(s string) (string, time.Duration) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return "", 0
	}
	u, uerr := strconv.ParseInt(f[11], 10, 64)
	k, kerr := strconv.ParseInt(f[12], 10, 64)
	if uerr != nil || kerr != nil {
		return "", 0
	}
	return s[open+1 : end], time.Duration(u+k) * tick
}
