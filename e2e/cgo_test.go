//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCgoBuildRunsSessionsAsOwners: a daemon built the usual Go way where a
// C compiler is present (cgo on) serves in system mode with CAP_SETUID and
// CAP_SETGID as ambient capabilities, runs a session as another user, and
// neither that user's session host nor the session's program holds any
// capability.
func TestCgoBuildRunsSessionsAsOwners(t *testing.T) {
	requireRoot(t)
	tool(t, "gcc")
	dir := filepath.Join(shared, "cgo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/teleclaude")
	build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with cgo: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "teleclaude")
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err != nil || !strings.Contains(string(out), "CGO_ENABLED=1") {
		t.Fatalf("not a cgo build (%v):\n%s", err, out)
	}

	d := startDaemon(t, daemonOpts{bin: bin})
	if log := d.stderr.String(); !strings.Contains(log, "built with cgo") {
		t.Errorf("the daemon did not say that it kept its capabilities:\n%s", log)
	}
	max := lookup(t, uMember)
	s := d.startSession(t, max, "--project", "demo", "--agent", "echo")
	d.waitOutput(t, max, s.ID, "started-"+s.ID)

	out, _ := exec.Command("pgrep", "-u", strconv.Itoa(max.uid), "-f", "session-host --dir "+d.dir).Output()
	hosts := strings.Fields(string(out))
	if len(hosts) != 1 {
		t.Fatalf("session hosts of %s: %q, want one", max.name, hosts)
	}
	host, _ := strconv.Atoi(hosts[0])
	pane := d.panePID(t, max.uid, s.ID)
	for pid, what := range map[int]string{host: "session host", pane: "session program"} {
		uids := procUIDs(t, pid)[pid]
		if len(uids) != 2 || uids[0] != max.uid || uids[1] != max.uid {
			t.Errorf("%s (pid %d) runs as %v, want uid %d", what, pid, uids, max.uid)
		}
		if caps := capabilities(t, pid); caps != "CapInh=0 CapPrm=0 CapEff=0 CapAmb=0" {
			t.Errorf("%s (pid %d) holds capabilities: %s", what, pid, caps)
		}
	}
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pane)); err == nil && strings.Contains(string(env), "TELECLAUDE_HOST_CAPS_SHED") {
		t.Errorf("the host's marker reached the session's environment")
	}
	d.telec(t, max, "sessions", "end", s.ID)
}

// capabilities reads a process's capability sets from /proc, as numbers.
func capabilities(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var sets []string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":\t")
		if k == "CapInh" || k == "CapPrm" || k == "CapEff" || k == "CapAmb" {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			sets = append(sets, fmt.Sprintf("%s=%x", k, n))
		}
	}
	return strings.Join(sets, " ")
}
