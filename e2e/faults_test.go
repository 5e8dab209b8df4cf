//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/pgtest"
)

// TestConcurrentStarts: fifty starts at once, from two people, on both
// engines. Each one either starts or is refused in words (no socket text,
// no "internal error", no "database is locked"), and no session is left
// starting.
func TestConcurrentStarts(t *testing.T) {
	requireRoot(t)
	engines(t, func(t *testing.T, dsn string) {
		cfg := strings.Replace(stdConfig, "sessions: {default_agent: echo}", "sessions: {default_agent: echo, max_running: 100}", 1)
		d := startDaemon(t, daemonOpts{dsn: dsn, config: cfg})
		people := []account{lookup(t, uMember), lookup(t, uMember2)}
		const n = 50
		results := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = d.telec(t, people[i%2], "sessions", "start", "--project", "demo", "--json")
			}()
		}
		wg.Wait()
		started := 0
		for i, r := range results {
			if r.code == 0 {
				started++
				continue
			}
			bad := []string{"internal error", "database is locked", "unix", "i/o timeout", "connection reset", "EOF"}
			for _, b := range bad {
				if strings.Contains(r.stderr, b) {
					t.Errorf("start %d refused with %q: %s", i, b, r.stderr)
				}
			}
		}
		t.Logf("%d of %d concurrent starts started", started, n)
		admin := lookup(t, uAdmin)
		for _, s := range decode[[]apitype.Session](t, d.telec(t, admin, "sessions", "list", "--json")) {
			if s.Status == "starting" {
				t.Errorf("session %s left starting", s.ID)
			}
		}
	})
}

// health asks the daemon's /health, as root, and returns its status code
// and body.
func (d *daemon) health(t *testing.T) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.socket)
		},
	}}
	resp, err := hc.Get("http://teleclaude/health")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestPostgresRestartKeepsTheLock: the PostgreSQL server restarts under a
// running daemon. The daemon takes its instance lock again, /health is ok
// again, a second daemon on the same database is still refused, and no
// session is marked lost.
func TestPostgresRestartKeepsTheLock(t *testing.T) {
	requireRoot(t)
	c := pgtest.StartCluster(t)
	d := startDaemon(t, daemonOpts{dsn: c.DSN()})
	max := lookup(t, uMember)
	s := d.startSession(t, max, "--project", "demo")
	d.waitOutput(t, max, s.ID, "started-")

	c.Stop()
	time.Sleep(time.Second)
	c.Start()
	waitFor(t, func() bool { code, _ := d.health(t); return code == http.StatusOK })

	second := startDaemon(t, daemonOpts{dsn: c.DSN(), noWait: true, socket: filepath.Join(d.dir, "second.sock")})
	if code := second.exited(t, 30*time.Second); code != 1 {
		t.Errorf("second daemon exit code = %d, want 1 (refused)", code)
	}
	if want := "teleclaude serve pid " + strconv.Itoa(d.cmd.Process.Pid); !strings.Contains(second.stderr.String(), want) {
		t.Errorf("second daemon's refusal does not name the first (%q):\n%s", want, second.stderr)
	}
	// The session runs on, and is written to and recorded as before.
	if st := decode[apitype.Session](t, d.telec(t, max, "sessions", "show", s.ID, "--json")); st.Status != "running" {
		t.Errorf("after the restart the session is %s, want running", st.Status)
	}
	if r := d.telec(t, max, "sessions", "send", s.ID, "after-restart"); r.code != 0 {
		t.Fatalf("send after the restart: %d %s", r.code, r.stderr)
	}
	d.waitOutput(t, max, s.ID, "after-restart\n")
	d.startSession(t, max, "--project", "demo")
}

// TestHostKill9Readopted: a session host killed with SIGKILL leaves its
// tmux server and the programs in it running; the daemon starts a new
// host, which reports them, so they stay running and their output after
// the kill is recorded.
func TestHostKill9Readopted(t *testing.T) {
	requireRoot(t)
	cfg := strings.Replace(stdConfig, "agents:\n", "agents:\n  ticker: {command: [\"/bin/sh\", \"-c\", \"i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done\"]}\n", 1)
	d := startDaemon(t, daemonOpts{config: cfg})
	max := lookup(t, uMember)
	a := d.startSession(t, max, "--project", "demo", "--agent", "ticker")
	b := d.startSession(t, max, "--project", "demo", "--agent", "ticker")
	d.waitOutput(t, max, a.ID, "tick-2\n")
	d.waitOutput(t, max, b.ID, "tick-2\n")

	pattern := "session-host --dir " + filepath.Join(d.dir, "run", "users", strconv.Itoa(max.uid)) + " "
	pids := func() []string {
		out, _ := exec.Command("pgrep", "-f", pattern).Output()
		return strings.Fields(string(out))
	}
	old := pids()
	if len(old) != 1 {
		t.Fatalf("session hosts of %s: %v, want one", max.name, old)
	}
	if out, err := exec.Command("kill", "-KILL", old[0]).CombinedOutput(); err != nil {
		t.Fatalf("kill -9 %s: %v %s", old[0], err, out)
	}
	killedAt := len(strings.Split(outputOf(d.transcript(t, max, a.ID)), "\n"))
	// A new host answers within a few of the recorder's status rounds.
	waitFor(t, func() bool { p := pids(); return len(p) == 1 && p[0] != old[0] })
	time.Sleep(3 * time.Second)
	for _, id := range []string{a.ID, b.ID} {
		if st := decode[apitype.Session](t, d.telec(t, max, "sessions", "show", id, "--json")); st.Status != "running" {
			t.Errorf("session %s after its host was killed: %s, want running", id, st.Status)
		}
	}
	// Output written after the kill reaches the transcript.
	want := fmt.Sprintf("tick-%d\n", killedAt+15)
	d.waitOutput(t, max, a.ID, want)
	d.waitOutput(t, max, b.ID, want)
	// And the new host takes input and ends sessions.
	if r := d.telec(t, max, "sessions", "end", a.ID); r.code != 0 {
		t.Errorf("end after the host was replaced: %d %s", r.code, r.stderr)
	}
}

// smallDisk mounts a tmpfs of size bytes for the service user and returns
// it; it is unmounted when t ends.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir, err := os.MkdirTemp(shared, "disk-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	svc := lookup(t, svcUser)
	if err := os.Chown(dir, svc.uid, svc.gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fill writes into dir until its file system is full, and returns the
// file that frees it again.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fill")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	return p
}

// TestSendOnFullDisk: with the database's disk full, a send cannot be
// recorded, so it is refused and not typed into the program; once there is
// room again, sends are recorded and delivered as before.
func TestSendOnFullDisk(t *testing.T) {
	requireRoot(t)
	disk := smallDisk(t, "4m")
	d := startDaemon(t, daemonOpts{dataDir: disk})
	max := lookup(t, uMember)
	s := d.startSession(t, max, "--project", "demo")
	d.waitOutput(t, max, s.ID, "started-")

	filler := fill(t, disk)
	if code, body := d.health(t); code != http.StatusServiceUnavailable || !strings.Contains(body, "full") {
		t.Errorf("/health with the database's disk full: %d %s, want 503 saying the disk is full", code, body)
	}
	r := d.telec(t, max, "sessions", "send", s.ID, "typed-while-full")
	if r.code == 0 {
		t.Logf("the send on a full disk was accepted; it must then be recorded")
	} else if !strings.Contains(r.stderr, "not sent") {
		t.Errorf("a send that could not be recorded: %d %q, want a refusal saying it was not sent", r.code, r.stderr)
	}
	time.Sleep(time.Second) // time for the program to echo it, were it typed
	os.Remove(filler)
	if r := d.telec(t, max, "sessions", "send", s.ID, "typed-after"); r.code != 0 {
		t.Fatalf("send once there is room again: %d %s", r.code, r.stderr)
	}
	out := d.waitOutput(t, max, s.ID, "typed-after\n")
	var inputs []string
	for _, e := range d.transcript(t, max, s.ID) {
		if e.Direction == "in" {
			inputs = append(inputs, e.Content)
		}
	}
	recorded := slices.Contains(inputs, "typed-while-full\n")
	delivered := strings.Contains(out, "typed-while-full")
	if delivered != recorded || recorded != (r.code == 0) {
		t.Errorf("send on a full disk: exit %d, recorded %v, delivered %v; want all or nothing\ninputs: %q\noutput: %s", r.code, recorded, delivered, inputs, out)
	}
}

// emptyDir removes everything in dir, as rm -rf dir/* (or a tmp cleaner)
// would; the directory itself stays, as /run/teleclaude would for a
// service user that may not make it again.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunDirRemoved: the run directory is emptied under a running daemon.
// It notices within seconds, makes its socket again and says so; under
// systemd it exits non-zero instead, so that the unit restarts.
func TestRunDirRemoved(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	member := lookup(t, uMember)
	emptyDir(t, filepath.Join(d.dir, "run"))
	deadline := time.Now().Add(10 * time.Second)
	for d.telec(t, member, "status").code != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the socket is not back 10s after the run directory was removed:\n%s", d.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(d.stderr.String(), "made it again") {
		t.Errorf("the daemon did not log that it made its socket again:\n%s", d.stderr)
	}
	// Sessions start again, their directories made anew.
	d.startSession(t, member, "--project", "demo")

	sd := startDaemon(t, daemonOpts{extraEnv: []string{"INVOCATION_ID=0123456789abcdef0123456789abcdef"}})
	emptyDir(t, filepath.Join(sd.dir, "run"))
	if code := sd.exited(t, 10*time.Second); code == 0 {
		t.Errorf("under systemd the daemon exited 0 after its socket was removed, want non-zero so that the unit restarts")
	}
	if !strings.Contains(sd.stderr.String(), "socket was removed") {
		t.Errorf("the daemon did not say why it exited:\n%s", sd.stderr)
	}
}

// TestRunDirRemovedSessionsKept: the run directory is emptied under two
// running sessions. Their host and tmux server run on with their sockets
// gone; the new host the daemon starts retires the old one and has the
// tmux server make its socket again: the sessions stay running, their
// output after the removal is recorded, and no second tmux server (nor an
// orphaned host) is left.
func TestRunDirRemovedSessionsKept(t *testing.T) {
	requireRoot(t)
	cfg := strings.Replace(stdConfig, "agents:\n", "agents:\n  ticker: {command: [\"/bin/sh\", \"-c\", \"i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done\"]}\n", 1)
	d := startDaemon(t, daemonOpts{config: cfg})
	max := lookup(t, uMember)
	a := d.startSession(t, max, "--project", "demo", "--agent", "ticker")
	b := d.startSession(t, max, "--project", "demo", "--agent", "ticker")
	d.waitOutput(t, max, a.ID, "tick-2\n")
	d.waitOutput(t, max, b.ID, "tick-2\n")

	udir := filepath.Join(d.dir, "run", "users", strconv.Itoa(max.uid))
	pids := func(pattern string) []string {
		out, _ := exec.Command("pgrep", "-u", strconv.Itoa(max.uid), "-f", pattern).Output()
		return strings.Fields(string(out))
	}
	hostPat, tmuxPat := "session-host --dir "+udir+" ", "tmux -S "+filepath.Join(udir, "tmux.sock")+" "
	oldHost, oldTmux := pids(hostPat), pids(tmuxPat)
	if len(oldHost) != 1 || len(oldTmux) != 1 {
		t.Fatalf("hosts %v and tmux servers %v of %s, want one each", oldHost, oldTmux, max.name)
	}
	// rm -rf may take the tmux socket before the host's, and a status
	// check (every second) may come in between: the host, still reachable,
	// must not answer that its sessions are gone (it once said "no
	// sessions", and the daemon recorded both lost).
	if err := os.Remove(filepath.Join(udir, "tmux.sock")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	emptyDir(t, filepath.Join(d.dir, "run"))
	// The daemon's socket is back within seconds (TestRunDirRemoved).
	waitFor(t, func() bool { return d.telec(t, max, "status").code == 0 })
	removedAt := len(strings.Split(outputOf(d.transcript(t, max, a.ID)), "\n"))
	waitFor(t, func() bool { p := pids(hostPat); return len(p) == 1 && p[0] != oldHost[0] })
	time.Sleep(3 * time.Second)
	for _, id := range []string{a.ID, b.ID} {
		if st := decode[apitype.Session](t, d.telec(t, max, "sessions", "show", id, "--json")); st.Status != "running" {
			t.Errorf("session %s after the run directory was removed: %s, want running", id, st.Status)
		}
	}
	want := fmt.Sprintf("tick-%d\n", removedAt+15)
	d.waitOutput(t, max, a.ID, want)
	d.waitOutput(t, max, b.ID, want)
	if p := pids(tmuxPat); len(p) != 1 || p[0] != oldTmux[0] {
		t.Errorf("tmux servers of %s after the removal: %v, want the old one, %v, alone", max.name, p, oldTmux)
	}
	if p := pids(hostPat); len(p) != 1 {
		t.Errorf("hosts of %s after the removal: %v, want one", max.name, p)
	}
	// The sessions answer the new host: ending one works.
	if r := d.telec(t, max, "sessions", "end", a.ID); r.code != 0 {
		t.Errorf("end after the run directory was removed: %d %s", r.code, r.stderr)
	}
}
