package cputime

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// TestParseStat: the name may hold spaces and parentheses; the times are
// the 14th and 15th fields, in ticks. The line is the shape the kernel
// writes (proc(5)), with a name a program may give itself.
func TestParseStat(t *testing.T) {
	line := "4242 (tmux: server (x)) S 1 4242 4242 0 -1 4194624 9360 0 0 0 35 32 0 0 20 0 1 0 123 0 0\n"
	name, d := parseStat(line)
	if name != "tmux: server (x)" || d != 670*time.Millisecond {
		t.Errorf("parseStat: %q, %v; want %q, 670ms", name, d, "tmux: server (x)")
	}
	for _, bad := range []string{"", "4242 tmux S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 a b"} {
		if name, d := parseStat(bad); name != "" || d != 0 {
			t.Errorf("parseStat(%q) = %q, %v; want nothing", bad, name, d)
		}
	}
}

// TestThisProcess: this process's CPU grows while it works, Named finds
// it by its name, and the machine's busy time grows with it.
func TestThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc: Linux")
	}
	self := os.Getpid()
	before, busy := Named(comm(t)), Busy()
	if _, ok := before[self]; !ok {
		t.Fatalf("Named(%q) does not list this process (%d): %v", comm(t), self, before)
	}
	p0 := Process(self)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
	}
	if got := Process(self) - p0; got < 500*time.Millisecond {
		t.Errorf("a second of work counted %v", got)
	}
	if got := Since(before, Named(comm(t))); got < 500*time.Millisecond {
		t.Errorf("Since counted %v for a second of work", got)
	}
	if got := Busy() - busy; got < 500*time.Millisecond {
		t.Errorf("the machine's busy time grew by %v during a second of work", got)
	}
	if Process(-1) != 0 {
		t.Error("a process that does not exist used CPU")
	}
}

// comm is this process's name as the kernel keeps it.
func comm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:len(b)-1])
}
