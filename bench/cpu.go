package main

import (
	"fmt"
	"runtime"
	"time"
)

// What the CPU did while a flood ran (internal/cputime: Linux; elsewhere
// all zero, and the recording section leaves the CPU rows out). On a
// machine of few cores, what recording costs besides tmux is taken from
// tmux, whose one thread sets the flood's pace: these say how much that
// was.

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
