package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// What the CPU did while a flood ran, read from /proc (Linux; elsewhere all
// zero, and the recording section leaves the CPU rows out). On a machine of
// few cores, what recording costs besides tmux is taken from tmux, whose
// one thread sets the flood's pace: these say how much that was.

// tick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go runs on.
const tick = 10 * time.Millisecond

// procCPU is the CPU time (user and system) pid has used; 0 if unknown.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, d := parseStat(string(b))
	return d
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

// namedCPU is the CPU time used by the processes named name (all of a
// PostgreSQL server's are named postgres), by pid: a process that starts
// or ends between two readings counts only what it used while both saw it.
func namedCPU(name string) map[int]time.Duration {
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

// cpuSince is what the processes in before used until after.
func cpuSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, a := range after {
		if b, ok := before[pid]; ok {
			d += a - b
		}
	}
	return d
}

// machineBusy is the CPU time all CPUs together have spent on anything
// but idling and waiting for I/O (/proc/stat's first line).
func machineBusy() time.Duration {
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

// floodCPU is what the CPU did during one flood.
type floodCPU struct {
	wall   time.Duration // the flood's time
	busy   time.Duration // all CPUs' busy time meanwhile
	tmux   time.Duration // the tmux server's
	daemon time.Duration // the daemon's (zero for bare tmux)
	server time.Duration // the PostgreSQL server's (zero for SQLite and bare tmux)
}

// cpuRows adds the CPU rows of the recording section: the medians of
// what each flood used, through the daemon and bare.
func (b *bench) cpuRows(engine string, rec, bare []floodCPU) {
	med := func(fs []floodCPU, f func(floodCPU) time.Duration) time.Duration {
		ds := make([]time.Duration, len(fs))
		for i := range fs {
			ds[i] = f(fs[i])
		}
		return median(ds)
	}
	if med(rec, func(c floodCPU) time.Duration { return c.busy }) == 0 {
		return // no /proc
	}
	cpus := time.Duration(runtime.NumCPU())
	// CPU times come in ticks of 10 ms: no decimals.
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
	share := func(fs []floodCPU) string {
		busy, wall := med(fs, func(c floodCPU) time.Duration { return c.busy }), med(fs, func(c floodCPU) time.Duration { return c.wall })
		return fmt.Sprintf("%s of %d CPUs × %s (%.0f%%)", ms(busy), cpus, ms(wall.Round(time.Millisecond)), 100*float64(busy)/float64(cpus*wall))
	}
	b.row(fmt.Sprintf("  CPU while it ran, %s: the tmux server (median)", engine), ms(med(rec, func(c floodCPU) time.Duration { return c.tmux })),
		"bare tmux: "+ms(med(bare, func(c floodCPU) time.Duration { return c.tmux })), "")
	b.row(fmt.Sprintf("  CPU while it ran, %s: the daemon (median)", engine), ms(med(rec, func(c floodCPU) time.Duration { return c.daemon })), "", "")
	if engine == "postgresql" {
		b.row("  CPU while it ran, postgresql: the server's processes (median)", ms(med(rec, func(c floodCPU) time.Duration { return c.server })), "", "")
	}
	b.row(fmt.Sprintf("  CPU while it ran, %s: the whole machine busy (median)", engine), share(rec), "bare tmux: "+share(bare), "")
}
