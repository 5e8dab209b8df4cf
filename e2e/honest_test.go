//go:build linux

package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
)

// lockedConfig is the standard config with a project nobody but root may
// enter, and one that does not exist.
var lockedConfig = strings.Replace(stdConfig, "projects:\n", "projects:\n  - {name: locked, path: PROJECTS/locked}\n  - {name: gone, path: PROJECTS/gone}\n", 1)

// A start in a project its owner cannot enter fails with the cause, and
// leaves no session, row, file or tmux session behind.
func TestStartInClosedProjectFails(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{config: lockedConfig})
	locked := filepath.Join(d.dir, "projects", "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	max, ada := lookup(t, uMember), lookup(t, uAdmin)
	r := d.telec(t, max, "sessions", "start", "--project", "locked")
	want := "tce-member cannot enter " + locked + ": permission denied\n  fix: ask an admin to open"
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "started") {
		t.Errorf("start in a closed project: exit %d, stdout %q, stderr %q; want exit 1 with %q", r.code, r.stdout, r.stderr, want)
	}
	d.assertNothingLeft(t, ada)
	// The owner's tmux server has no session left over either.
	if out := d.tmuxSessions(t, max.uid); out != "" {
		t.Errorf("tmux sessions left: %q", out)
	}
	// And a start where the owner may go still works with the same host.
	d.startSession(t, max, "--project", "demo")
}

func (d *daemon) tmuxSessions(t *testing.T, uid int) string {
	t.Helper()
	sock := filepath.Join(d.dir, "run", "users", strconv.Itoa(uid), "tmux.sock")
	r := run(t, nil, nil, "/usr/bin/tmux", "-S", sock, "list-sessions", "-F", "#{session_name}")
	if r.code != 0 {
		return "" // no server: no sessions
	}
	return strings.TrimSpace(r.stdout)
}

// telec gives up on a daemon that accepts connections but never answers
// (a crash-looping daemon behind a listening socket unit) within seconds,
// and says what a user can do.
func TestTelecGivesUpOnSilentDaemon(t *testing.T) {
	requireRoot(t)
	dir, _ := os.MkdirTemp(shared, "u-")
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "teleclaude.sock")
	ln, err := net.Listen("unix", sock) // the kernel accepts; nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.Chmod(sock, 0o666)
	max := lookup(t, uMember)
	began := time.Now()
	r := run(t, &max, []string{"TELECLAUDE_SOCKET=" + sock, "TELECLAUDE_SYSTEM_MODE=1"}, telecBin, "whoami")
	took := time.Since(began)
	if took > 10*time.Second {
		t.Errorf("telec waited %s for a daemon that never answers; want a few seconds", took.Round(time.Second))
	}
	if r.code != 3 || !strings.Contains(r.stderr, "did not answer") || !strings.Contains(r.stderr, "try again") || !strings.Contains(r.stderr, "admin") {
		t.Errorf("silent daemon: exit %d, stderr %q; want 3, what happened and what a user can do", r.code, r.stderr)
	}
	r = run(t, &max, []string{"TELECLAUDE_SOCKET=" + sock}, telecBin, "--json", "sessions", "list")
	var doc map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["code"] != "unreachable" || doc["fix"] == "" {
		t.Errorf("silent daemon with --json: %q (%v)", r.stdout, err)
	}
}

// A person not in people: is told what to do, in words for them.
func TestPublicCallerGetsAFix(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	pub := lookup(t, uPublic)
	r := d.telec(t, pub, "sessions", "start", "--project", "demo")
	if r.code != 1 || !strings.Contains(r.stderr, "fix: ask an admin to add you to people:") || strings.Contains(r.stderr, "/v1/") {
		t.Errorf("public start: exit %d, stderr %q; want a fix for the person, no HTTP route", r.code, r.stderr)
	}
	r = d.telec(t, pub, "--json", "sessions", "list")
	var doc apitype.Error
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Code != "forbidden" || !strings.Contains(doc.Fix, "people:") {
		t.Errorf("public list --json: %q (%v)", r.stdout, err)
	}
}

// Completion of session ids offers the caller's own sessions only.
func TestCompleteOwnSessionIDs(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, mo, ada := lookup(t, uMember), lookup(t, uMember2), lookup(t, uAdmin)
	mine := d.startSession(t, max, "--project", "demo").ID
	theirs := d.startSession(t, mo, "--project", "demo").ID
	adas := d.startSession(t, ada, "--project", "other").ID
	for _, tc := range []struct {
		acct           account
		want, unwanted []string
	}{
		{max, []string{mine}, []string{theirs, adas}},
		{mo, []string{theirs}, []string{mine, adas}},
		// An admin sees every session, but completes their own.
		{ada, []string{adas}, []string{mine, theirs}},
	} {
		r := d.telec(t, tc.acct, "__complete", "sessions", "show", "")
		for _, id := range tc.want {
			if !strings.Contains(r.stdout, id) {
				t.Errorf("completion as %s lacks %s:\n%s", tc.acct.name, id, r.stdout)
			}
		}
		for _, id := range tc.unwanted {
			if strings.Contains(r.stdout, id) {
				t.Errorf("completion as %s offers someone else's %s:\n%s", tc.acct.name, id, r.stdout)
			}
		}
	}
	r := d.telec(t, max, "__complete", "sessions", "start", "--project", "")
	if !strings.Contains(r.stdout, "demo") || !strings.Contains(r.stdout, "other") {
		t.Errorf("project completion:\n%s", r.stdout)
	}
	r = d.telec(t, max, "__complete", "sessions", "start", "--agent", "")
	if !strings.Contains(r.stdout, "echo") || !strings.Contains(r.stdout, "shell") {
		t.Errorf("agent completion:\n%s", r.stdout)
	}
}

// A login from before the user was added to the socket's group is told to
// pick the group up (newgrp), not to be added again.
func TestStaleLoginAdvice(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max := lookup(t, uMember)
	stale := max
	cred := *max.cred
	cred.Groups = nil // as a login that began before usermod -aG
	stale.cred = &cred
	r := d.telec(t, stale, "whoami")
	if r.code != 3 || !strings.Contains(r.stderr, "newgrp "+sockGroup) || strings.Contains(r.stderr, "usermod") {
		t.Errorf("stale login: exit %d, stderr %q; want newgrp advice and no usermod", r.code, r.stderr)
	}
	// Someone really not in the group is told to ask for it.
	r = d.telec(t, lookup(t, uOutside), "whoami")
	if r.code != 3 || !strings.Contains(r.stderr, "usermod -aG "+sockGroup+" "+uOutside) {
		t.Errorf("outsider: exit %d, stderr %q", r.code, r.stderr)
	}
}

// After a reboot (hosts, tmux servers and the run directory gone), the
// first answer the daemon gives already shows its sessions lost, never
// running: their status is settled before it serves.
func TestRebootSettlesStatusBeforeServing(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, ada := lookup(t, uMember), lookup(t, uAdmin)
	a := d.startSession(t, max, "--project", "demo").ID
	b := d.startSession(t, ada, "--project", "other").ID
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.exited(t, 20*time.Second)
	d.killTmuxServers()
	// The machine comes back with an empty /run: a new run directory.
	again := startDaemon(t, daemonOpts{dataDir: filepath.Join(d.dir, "data")})
	ss := decode[[]apitype.Session](t, again.telec(t, ada, "sessions", "list", "--json"))
	if len(ss) != 2 {
		t.Fatalf("after the reboot: %+v, want sessions %s and %s", ss, a, b)
	}
	for _, s := range ss {
		if s.Status != "lost" || s.EndedAt == nil {
			t.Errorf("session %s is %s right after the reboot; want lost", s.ID, s.Status)
		}
	}
}
