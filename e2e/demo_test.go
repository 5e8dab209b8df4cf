//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoStopsWhatItStarted: `make run` (scripts/demo.sh) starts a daemon,
// and through it a session host and a tmux server; when the demo ends, none
// of them is left running, and its run directory is gone.
func TestDemoStopsWhatItStarted(t *testing.T) {
	requireRoot(t)
	tool(t, "tmux")
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	tmp, home := t.TempDir(), t.TempDir()
	cmd := exec.Command("sh", "scripts/demo.sh", shared)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	// mktemp makes the demo's run directory in TMPDIR: every process it
	// starts names it in its command line.
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + home, "TMPDIR=" + tmp, "SHELL=/bin/sh"}
	out, err := cmd.CombinedOutput()
	// The command as typed names $PWD; its output names the directory.
	if err != nil || !strings.Contains(string(out), "hello from a TeleClaude session in "+home) {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), tmp) {
			left = append(left, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if len(left) > 0 {
		t.Errorf("the demo left these running:\n%s", strings.Join(left, "\n"))
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("the demo left %d entries in its temporary directory", len(entries))
	}
}
