//go:build linux

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/doctor"
	"github.com/instruktai/teleclaude/internal/store"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" for database/sql
)

// startSession starts a session as acct and returns it.
func (d *daemon) startSession(t *testing.T, acct account, args ...string) apitype.StartResponse {
	t.Helper()
	r := d.telec(t, acct, append([]string{"sessions", "start", "--json"}, args...)...)
	out := decode[apitype.StartResponse](t, r)
	if out.ID == "" || out.Notice != "Sessions on this system are subject to admin audit." || out.Session.Status != "running" {
		t.Fatalf("start as %s = %+v", acct.name, out)
	}
	return out
}

// transcript reads a session's transcript as acct (exit 0 expected).
func (d *daemon) transcript(t *testing.T, acct account, id string, extra ...string) []apitype.TranscriptEntry {
	t.Helper()
	return decode[[]apitype.TranscriptEntry](t, d.telec(t, acct, append([]string{"sessions", "transcript", id, "--json"}, extra...)...))
}

// waitOutput waits until the session's output contains want, as its owner
// reads it; output reaches the transcript within about a second.
func (d *daemon) waitOutput(t *testing.T, owner account, id, want string) string {
	t.Helper()
	var out string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out = outputOf(d.transcript(t, owner, id))
		if strings.Contains(out, want) {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("session %s output never contained %q; it is:\n%s", id, want, out)
	return ""
}

func outputOf(entries []apitype.TranscriptEntry) string {
	var b strings.Builder
	for _, e := range entries {
		if e.Direction == "out" {
			b.WriteString(e.Content)
		}
	}
	return b.String()
}

// waitStatus waits until the session has status want, as acct sees it.
func (d *daemon) waitStatus(t *testing.T, acct account, id, want string) apitype.Session {
	t.Helper()
	var s apitype.Session
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s = decode[apitype.Session](t, d.telec(t, acct, "sessions", "show", id, "--json"))
		if s.Status == want {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("session %s is %s, never %s", id, s.Status, want)
	return s
}

// panePID asks the owner's tmux server (as root) for the session's process.
func (d *daemon) panePID(t *testing.T, uid int, id string) int {
	t.Helper()
	sock := filepath.Join(d.dir, "run", "users", strconv.Itoa(uid), "tmux.sock")
	out, err := exec.Command("tmux", "-S", sock, "list-panes", "-t", "="+id+":", "-F", "#{pane_pid}").CombinedOutput()
	if err != nil {
		t.Fatalf("tmux list-panes for %s: %v: %s", id, err, out)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return pid
}

// procUIDs returns the real and effective uid of pid and of its children.
func procUIDs(t *testing.T, pid int) map[int][]int {
	t.Helper()
	out := map[int][]int{}
	var walk func(pid int)
	walk = func(pid int) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				r, _ := strconv.Atoi(f[1])
				e, _ := strconv.Atoi(f[2])
				out[pid] = []int{r, e}
			}
		}
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		for _, k := range strings.Fields(string(kids)) {
			n, _ := strconv.Atoi(k)
			walk(n)
		}
	}
	walk(pid)
	return out
}

func ids(ss []apitype.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(v ...string) []string { slices.Sort(v); return v }

// refused runs telec as acct and expects the given exit code and message.
func (d *daemon) refused(t *testing.T, acct account, code int, want string, args ...string) {
	t.Helper()
	r := d.telec(t, acct, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Errorf("telec %v as %s: exit %d, stderr %q; want exit %d with %q", args, acct.name, r.code, r.stderr, code, want)
	}
}

// TestSessionsAsOwners is the access rules end to end (docs/DESIGN.md, "Request path"): three people and an
// unmapped user against one daemon, running as the service user with no
// more privilege than switching users.
func TestSessionsAsOwners(t *testing.T) {
	requireRoot(t)
	engines(t, func(t *testing.T, dsn string) {
		d := startDaemon(t, daemonOpts{dsn: dsn})
		ada, max, mo, pub := lookup(t, uAdmin), lookup(t, uMember), lookup(t, uMember2), lookup(t, uPublic)

		s1 := d.startSession(t, max, "--project", "demo", "--title", "max's")
		s2 := d.startSession(t, mo, "--project", "other")
		s3 := d.startSession(t, ada, "--project", "demo", "--agent", "shell")

		// Each session runs as its owner, never as the service user.
		for _, c := range []struct {
			acct account
			id   string
		}{{max, s1.ID}, {mo, s2.ID}, {ada, s3.ID}} {
			pid := d.panePID(t, c.acct.uid, c.id)
			uids := procUIDs(t, pid)
			if len(uids) == 0 {
				t.Fatalf("no processes for session %s", c.id)
			}
			for p, u := range uids {
				if u[0] != c.acct.uid || u[1] != c.acct.uid {
					t.Errorf("session %s: process %d runs as uid %v, want %d (%s)", c.id, p, u, c.acct.uid, c.acct.name)
				}
			}
			// And so does the tmux server holding it.
			srv, _ := exec.Command("tmux", "-S", filepath.Join(d.dir, "run", "users", strconv.Itoa(c.acct.uid), "tmux.sock"), "display-message", "-p", "#{pid}").Output()
			spid, _ := strconv.Atoi(strings.TrimSpace(string(srv)))
			if u := procUIDs(t, spid)[spid]; u == nil || u[0] != c.acct.uid {
				t.Errorf("tmux server %d of %s runs as %v", spid, c.acct.name, u)
			}
		}

		// Output the program writes reaches the transcript; input reaches
		// the program.
		d.waitOutput(t, max, s1.ID, "started-"+s1.ID)
		if r := d.telec(t, max, "sessions", "send", s1.ID, "hello from max ✓"); r.code != 0 {
			t.Fatalf("send as owner: %d %s", r.code, r.stderr)
		}
		d.waitOutput(t, max, s1.ID, "hello from max ✓\n")
		entries := d.transcript(t, max, s1.ID)
		in := slices.IndexFunc(entries, func(e apitype.TranscriptEntry) bool { return e.Direction == "in" })
		if in < 0 || entries[in].Content != "hello from max ✓\n" {
			t.Errorf("transcript lacks the input entry: %+v", entries)
		}
		for i := 1; i < len(entries); i++ {
			if entries[i].Seq != entries[i-1].Seq+1 || entries[i].At.Before(entries[i-1].At) {
				t.Errorf("transcript out of order at %d: %+v then %+v", i, entries[i-1], entries[i])
			}
		}

		// list
		if got := ids(decode[[]apitype.Session](t, d.telec(t, max, "sessions", "list", "--json"))); !slices.Equal(got, []string{s1.ID}) {
			t.Errorf("max lists %v, want only %s", got, s1.ID)
		}
		if got := ids(decode[[]apitype.Session](t, d.telec(t, mo, "sessions", "list", "--json"))); !slices.Equal(got, []string{s2.ID}) {
			t.Errorf("mo lists %v, want only %s", got, s2.ID)
		}
		all := decode[[]apitype.Session](t, d.telec(t, ada, "sessions", "list", "--json"))
		if got := ids(all); !slices.Equal(got, sorted(s1.ID, s2.ID, s3.ID)) {
			t.Errorf("ada lists %v, want all three", got)
		}
		human := d.telec(t, ada, "sessions", "list").stdout
		if !strings.Contains(human, "[max]") || !strings.Contains(human, "[mo]") || strings.Contains(human, "[ada]") ||
			strings.Index(human, "demo") > strings.Index(human, "other") {
			t.Errorf("ada's list is not grouped by project with owner badges on others' sessions:\n%s", human)
		}
		d.refused(t, pub, 1, "needs role newcomer", "sessions", "list")

		// show
		// Someone else's session is answered as one that does not exist.
		hidden := `no session "` + s1.ID + `"`
		d.refused(t, mo, 1, hidden, "sessions", "show", s1.ID)
		if s := decode[apitype.Session](t, d.telec(t, ada, "sessions", "show", s1.ID, "--json")); s.OwnerPerson == nil || *s.OwnerPerson != "max" || *s.OwnerUID != int64(max.uid) {
			t.Errorf("ada shows %+v, want max's session", s)
		}

		// transcript
		d.refused(t, mo, 1, hidden, "sessions", "transcript", s1.ID)
		d.refused(t, mo, 1, hidden, "sessions", "transcript", s1.ID, "--as-admin")
		d.refused(t, ada, 1, "--as-admin", "sessions", "transcript", s1.ID)
		if out := outputOf(d.transcript(t, ada, s1.ID, "--as-admin")); !strings.Contains(out, "hello from max") {
			t.Errorf("ada --as-admin read %q", out)
		}
		d.transcript(t, ada, s3.ID)               // her own: no flag needed, no audit
		d.transcript(t, ada, s3.ID, "--as-admin") // her own with the flag: still no audit

		// send
		d.refused(t, mo, 1, hidden, "sessions", "send", s1.ID, "intrusion")
		d.refused(t, ada, 1, "only its owner", "sessions", "send", s1.ID, "intrusion")
		if strings.Contains(outputOf(d.transcript(t, max, s1.ID)), "intrusion") {
			t.Error("someone else's input reached max's session")
		}

		// end
		d.refused(t, mo, 1, hidden, "sessions", "end", s1.ID)
		if s := decode[apitype.Session](t, d.telec(t, ada, "sessions", "end", s2.ID, "--json")); s.Status != "ended" || s.EndedAt == nil {
			t.Errorf("ada ending mo's session: %+v", s)
		}
		if s := decode[apitype.Session](t, d.telec(t, max, "sessions", "end", s1.ID, "--json")); s.Status != "ended" {
			t.Errorf("max ending his own: %+v", s)
		}
		d.refused(t, max, 1, "already ended", "sessions", "end", s1.ID)
		// Lists follow the changes at once (they are cached between changes).
		for _, s := range decode[[]apitype.Session](t, d.telec(t, ada, "sessions", "list", "--json")) {
			if want := map[string]string{s1.ID: "ended", s2.ID: "ended", s3.ID: "running"}[s.ID]; s.Status != want {
				t.Errorf("listed %s as %s, want %s", s.ID, s.Status, want)
			}
		}

		// Exactly the audited actions left records, with actor and target.
		recs := decode[[]apitype.AuditRecord](t, d.telec(t, ada, "audit", "--json"))
		type rec struct{ actor, action, target, owner string }
		var got []rec
		for _, r := range recs {
			if r.ActorPerson == nil || r.TargetSessionID == nil || r.TargetOwnerPerson == nil || r.ActorUID != int64(ada.uid) || r.ActorPID <= 0 {
				t.Errorf("incomplete audit record: %+v", r)
				continue
			}
			got = append(got, rec{*r.ActorPerson, r.Action, *r.TargetSessionID, *r.TargetOwnerPerson})
		}
		want := []rec{{"ada", "transcript.read", s1.ID, "max"}, {"ada", "session.end", s2.ID, "mo"}}
		if !slices.Equal(got, want) {
			t.Errorf("audit log = %+v, want exactly %+v", got, want)
		}
		// Each owner sees the records about their own sessions.
		mine := decode[[]apitype.AuditRecord](t, d.telec(t, max, "audit", "--mine", "--json"))
		if len(mine) != 1 || mine[0].Action != "transcript.read" || *mine[0].ActorPerson != "ada" || *mine[0].TargetSessionID != s1.ID {
			t.Errorf("max's audit --mine = %+v, want ada's read of %s", mine, s1.ID)
		}
		if human := d.telec(t, max, "audit", "--mine").stdout; !strings.Contains(human, "ada") || !strings.Contains(human, "transcript.read") {
			t.Errorf("max's audit --mine (human):\n%s", human)
		}
		if mine := decode[[]apitype.AuditRecord](t, d.telec(t, mo, "audit", "--mine", "--json")); len(mine) != 1 || mine[0].Action != "session.end" {
			t.Errorf("mo's audit --mine = %+v, want ada's end of %s", mine, s2.ID)
		}
		d.refused(t, max, 1, "needs role admin", "audit")

		// The unmapped user sees nothing and cannot start.
		d.refused(t, pub, 1, "needs role newcomer", "sessions", "start", "--project", "demo")
		d.refused(t, pub, 1, "needs role newcomer", "sessions", "show", s3.ID)
		d.refused(t, pub, 1, "needs role newcomer", "audit", "--mine")
		if got := ids(decode[[]apitype.Session](t, d.telec(t, ada, "sessions", "list", "--json"))); len(got) != 3 {
			t.Errorf("after the refusals ada lists %v, want the same three sessions", got)
		}
	})
}

// TestSessionSecrets: an agent's API key comes from the secrets file into
// the session's environment, and never onto a command line.
func TestSessionSecrets(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max := lookup(t, uMember)
	s := d.startSession(t, max, "--project", "demo", "--agent", "keyed")
	d.waitOutput(t, max, s.ID, "key="+testSecret)
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), testSecret) {
			t.Errorf("%s shows the secret: %q", p, b)
		}
	}
	// It went from the daemon to the host to the launcher over sockets:
	// no file in the run directory holds it, but the output log of this
	// agent, which prints it.
	filepath.WalkDir(filepath.Join(d.dir, "run"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && filepath.Base(p) != s.ID+".out" {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), testSecret) {
				t.Errorf("%s holds the secret", p)
			}
		}
		return nil
	})
}

// TestSessionRefusals: the owner rules, with nothing left behind.
func TestSessionRefusals(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, sys, svc, ada := lookup(t, uMember), lookup(t, uSys), lookup(t, svcUser), lookup(t, uAdmin)
	d.refused(t, max, 2, `unknown project "elsewhere": sessions start only in configured projects: demo, other`, "sessions", "start", "--project", "elsewhere")
	d.refused(t, max, 2, "no project given", "sessions", "start")
	d.refused(t, sys, 1, "below sessions.min_uid (1000)", "sessions", "start", "--project", "demo")
	d.refused(t, svc, 1, "the service user", "sessions", "start", "--project", "demo")
	d.refused(t, max, 2, "unknown agent", "sessions", "start", "--project", "demo", "--agent", "vim")
	d.assertNothingLeft(t, ada)
}

// assertNothingLeft: no session rows, launch specs or logs remain.
func (d *daemon) assertNothingLeft(t *testing.T, admin account) {
	t.Helper()
	if ss := decode[[]apitype.Session](t, d.telec(t, admin, "sessions", "list", "--json")); len(ss) != 0 {
		t.Errorf("refused starts left sessions: %+v", ss)
	}
	for _, pat := range []string{"*.out", "*.exit"} {
		if left, _ := filepath.Glob(filepath.Join(d.dir, "run", "users", "*", pat)); len(left) > 0 {
			t.Errorf("refused starts left files: %v", left)
		}
	}
}

// TestSessionsWithoutSwitching: a daemon that may not switch users, with
// no systemd to do it, refuses to start sessions and says why.
func TestSessionsWithoutSwitching(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{noCaps: true})
	max := lookup(t, uMember)
	d.refused(t, max, 1, "cannot start programs as other users", "sessions", "start", "--project", "demo")
	st := decode[apitype.Status](t, d.telec(t, max, "status", "--json"))
	if st.Sessions.Available || !strings.Contains(st.Sessions.Problem, "CAP_SETUID") {
		t.Errorf("status.sessions = %+v, want unavailable with the reason", st.Sessions)
	}
	d.assertNothingLeft(t, lookup(t, uAdmin))
}

// TestSessionBadInput: clear errors, nothing half-created, nothing lost.
func TestSessionBadInput(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, mo, ada := lookup(t, uMember), lookup(t, uMember2), lookup(t, uAdmin)
	s := d.startSession(t, max, "--project", "demo")
	d.waitOutput(t, max, s.ID, "started-")

	for _, cmd := range [][]string{{"show"}, {"transcript"}, {"send", "x"}, {"end"}, {"attach"}} {
		args := append([]string{"sessions", cmd[0], "nosuch0000"}, cmd[1:]...)
		d.refused(t, max, 1, `no session "nosuch0000"`, args...)
	}
	d.refused(t, max, 2, "ids are short", "sessions", "show", strings.Repeat("x", 200))
	d.refused(t, mo, 1, `no session "`+s.ID+`"`, "sessions", "attach", s.ID)

	big := strings.Repeat("y", 70<<10)
	r := run(t, &max, []string{"TELECLAUDE_SOCKET=" + d.socket}, "/bin/sh", "-c", fmt.Sprintf("head -c %d /dev/zero | tr '\\0' y | %s sessions send %s -", len(big), telecBin, s.ID))
	if r.code != 2 || !strings.Contains(r.stderr, "at most 65536") {
		t.Errorf("70 KiB input: exit %d, %q", r.code, r.stderr)
	}
	r = run(t, &max, []string{"TELECLAUDE_SOCKET=" + d.socket}, "/bin/sh", "-c", fmt.Sprintf("head -c %d /dev/zero | tr '\\0' y | %s sessions send %s -", 2<<20, telecBin, s.ID))
	if r.code != 2 || !strings.Contains(r.stderr, "over") {
		t.Errorf("2 MiB input: exit %d, %q", r.code, r.stderr)
	}
	for _, bad := range []string{"a\x1b[31mred", "bell\x07", "nul\x01", "c1\u009b"} {
		d.refused(t, max, 2, "control character", "sessions", "send", s.ID, bad)
	}
	d.refused(t, max, 2, "control character", "sessions", "start", "--project", "demo", "--title", "evil\x1b]0;x\x07")
	if strings.Contains(outputOf(d.transcript(t, max, s.ID)), "red") {
		t.Error("refused input reached the session")
	}

	// An agent that exits at once: its output and exit status are kept.
	q := d.startSession(t, max, "--project", "demo", "--agent", "quick")
	done := d.waitStatus(t, max, q.ID, "exited")
	if done.ExitCode == nil || *done.ExitCode != 3 || done.EndedAt == nil {
		t.Errorf("quick agent: %+v, want exited with code 3", done)
	}
	d.waitOutput(t, max, q.ID, "bye")
	for _, s := range decode[[]apitype.Session](t, d.telec(t, max, "sessions", "list", "--json")) {
		if s.ID == q.ID && s.Status != "exited" {
			t.Errorf("list shows the exited session as %s", s.Status)
		}
	}
	d.refused(t, max, 1, "is exited", "sessions", "send", q.ID, "late")
	// One that dies of a signal at once: 128+15, as a shell reports it.
	k := d.startSession(t, max, "--project", "demo", "--agent", "doomed")
	if got := d.waitStatus(t, max, k.ID, "exited"); got.ExitCode == nil || *got.ExitCode != 143 {
		t.Errorf("agent killed by SIGTERM: exit %v, want 143", got.ExitCode)
	}

	// Recorded, their exit status and output log leave the owner's
	// directory (busy runs once left dozens of *.exit files there).
	udir := filepath.Join(d.dir, "run", "users", strconv.Itoa(max.uid))
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left = nil
		for _, id := range []string{q.ID, k.ID} {
			for _, ext := range []string{".exit", ".out"} {
				if _, err := os.Lstat(filepath.Join(udir, id+ext)); err == nil {
					left = append(left, id+ext)
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("files of finished sessions left in %s: %v", udir, left)
	}

	// An agent that cannot start at all: refused, nothing created.
	d.refused(t, max, 1, `agent ghost cannot start: command "tce-no-such-agent" not found in PATH`, "sessions", "start", "--project", "demo", "--agent", "ghost")

	// A project directory that vanished.
	os.Rename(filepath.Join(d.dir, "projects", "other"), filepath.Join(d.dir, "projects", "other.moved"))
	d.refused(t, max, 1, "project other: its directory", "sessions", "start", "--project", "other")

	ss := decode[[]apitype.Session](t, d.telec(t, ada, "sessions", "list", "--json"))
	if got := ids(ss); !slices.Equal(got, sorted(s.ID, q.ID, k.ID)) {
		t.Errorf("sessions after the bad starts: %v, want only %s, %s and %s", got, s.ID, q.ID, k.ID)
	}
}

// TestTmuxMissing: without tmux the daemon serves everything else, and
// starting a session says what to install.
func TestTmuxMissing(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{config: strings.Replace(stdConfig, "sessions: {default_agent: echo}", "sessions: {default_agent: echo, tmux: /nonexistent/tmux}", 1)})
	max := lookup(t, uMember)
	d.refused(t, max, 1, "tmux is not installed", "sessions", "start", "--project", "demo")
	if r := d.telec(t, max, "whoami"); r.code != 0 {
		t.Errorf("whoami without tmux: %d %s", r.code, r.stderr)
	}
	d.assertNothingLeft(t, lookup(t, uAdmin))
}

// TestTranscriptSurvivesKill9: a session keeps writing while the daemon is
// killed and restarted; the transcript ends up with every line exactly
// once, in order, and the acknowledged start is still there.
func TestTranscriptSurvivesKill9(t *testing.T) {
	requireRoot(t)
	engines(t, func(t *testing.T, dsn string) {
		cfg := strings.Replace(stdConfig, "agents:\n", "agents:\n  counter: {command: [\"/bin/sh\", \"-c\", \"i=0; while [ $i -lt 4000 ]; do i=$((i+1)); echo line-$i; [ $((i % 100)) -eq 0 ] && sleep 0.05; done; echo all-done; exec sleep 600\"]}\n", 1)
		d := startDaemon(t, daemonOpts{dsn: dsn, config: cfg})
		max := lookup(t, uMember)
		s := d.startSession(t, max, "--project", "demo", "--agent", "counter")
		d.waitOutput(t, max, s.ID, "line-100\n")
		d.cmd.Process.Kill() // SIGKILL, mid-stream
		d.exited(t, 10*time.Second)
		if dsn != "" {
			// PostgreSQL releases the dead daemon's lock when its backend
			// notices the closed connection; systemd would simply retry.
			waitBackendGone(t, dsn, d.cmd.Process.Pid)
		}

		again := startDaemon(t, daemonOpts{dsn: dsn, config: cfg, dataDir: filepath.Join(d.dir, "data"), socket: d.socket, runDir: filepath.Join(d.dir, "run")})
		out := again.waitOutput(t, max, s.ID, "all-done")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var n int
		for _, l := range lines {
			if !strings.HasPrefix(l, "line-") {
				continue
			}
			n++
			if l != "line-"+strconv.Itoa(n) {
				t.Fatalf("line %d of the transcript is %q: lost or repeated output across kill -9", n, l)
			}
		}
		if n != 4000 {
			t.Errorf("transcript has %d lines, want 4000", n)
		}
		if st := decode[apitype.Session](t, again.telec(t, max, "sessions", "show", s.ID, "--json")); st.Status != "running" {
			t.Errorf("after the restart the session is %s, want running (its tmux server lived on)", st.Status)
		}
	})
}

// TestDocs: shared docs by role. Members and admins add docs; each reader
// gets only what their role may read.
func TestDocs(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, pub, ada := lookup(t, uMember), lookup(t, uPublic), lookup(t, uAdmin)
	dir, _ := os.MkdirTemp(shared, "docs-")
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	if r := d.telec(t, max, "docs", "put", "welcome", write("w.md", "---\nrole: public\n---\n# Welcome\n")); r.code != 0 {
		t.Fatalf("member put: %d %s", r.code, r.stderr)
	}
	d.telec(t, ada, "docs", "put", "ops", write("o.md", "---\nrole: admin\n---\nkeys are in the safe\n"))
	d.telec(t, max, "docs", "put", "team", write("t.md", "no front matter: members\n"))
	d.refused(t, pub, 1, "needs role member", "docs", "put", "spam", write("s.md", "x"))
	d.refused(t, max, 2, "unknown role", "docs", "put", "bad", write("b.md", "---\nrole: wizard\n---\n"))
	d.refused(t, max, 2, "doc name", "docs", "put", "../../etc/x", write("p.md", "x"))

	names := func(acct account) []string {
		var out []string
		for _, doc := range decode[[]apitype.Doc](t, d.telec(t, acct, "docs", "list", "--json")) {
			out = append(out, doc.Name)
		}
		return out
	}
	if got := names(pub); !slices.Equal(got, []string{"welcome"}) {
		t.Errorf("public lists %v, want [welcome]", got)
	}
	if got := names(max); !slices.Equal(got, []string{"team", "welcome"}) {
		t.Errorf("member lists %v, want [team welcome]", got)
	}
	if got := names(ada); !slices.Equal(got, []string{"ops", "team", "welcome"}) {
		t.Errorf("admin lists %v", got)
	}
	if r := d.telec(t, pub, "docs", "show", "welcome"); r.code != 0 || r.stdout != "---\nrole: public\n---\n# Welcome\n" {
		t.Errorf("public show welcome: %d %q %s", r.code, r.stdout, r.stderr)
	}
	d.refused(t, max, 1, `no doc "ops"`, "docs", "show", "ops")
	// Nested names, as upstream's snippets are kept (migrate --from-install
	// copies them with their folders).
	if r := d.telec(t, max, "docs", "put", "runbooks/deploy/steps", write("n.md", "nested\n")); r.code != 0 {
		t.Fatalf("member put nested: %d %s", r.code, r.stderr)
	}
	if r := d.telec(t, max, "docs", "show", "runbooks/deploy/steps"); r.code != 0 || r.stdout != "nested\n" {
		t.Errorf("show nested: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if got := names(max); !slices.Contains(got, "runbooks/deploy/steps") {
		t.Errorf("member lists %v, want the nested doc in it", got)
	}
	// On disk a doc is the daemon's alone: a member cannot cat an admin's.
	st, err := os.Stat(filepath.Join(d.dir, "shared", "ops.md"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("doc on disk: %v %v, want 0600 in the shared directory", st, err)
	}
	if r := run(t, &max, nil, "/bin/cat", filepath.Join(d.dir, "shared", "ops.md")); r.code == 0 {
		t.Errorf("a member read an admin doc from the file system: %q", r.stdout)
	}
}

// TestAttachTarget: attach hands the owner their own tmux server and
// session; the owner's tmux reaches it, nobody else's does.
func TestAttachTarget(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, mo := lookup(t, uMember), lookup(t, uMember2)
	s := d.startSession(t, max, "--project", "demo")
	at := decode[apitype.Attach](t, d.telec(t, max, "sessions", "attach", s.ID, "--json"))
	if r := run(t, &max, nil, "/usr/bin/tmux", "-S", at.Socket, "has-session", "-t", at.Target); r.code != 0 {
		t.Errorf("the owner's tmux cannot reach the session: %d %s", r.code, r.stderr)
	}
	if r := run(t, &mo, nil, "/usr/bin/tmux", "-S", at.Socket, "has-session", "-t", at.Target); r.code == 0 || !strings.Contains(r.stderr, "ermission denied") {
		t.Errorf("another user reached max's tmux server: %d %s", r.code, r.stderr)
	}
	// Without a terminal, attach says what to do instead.
	d.refused(t, max, 1, "attach needs a terminal", "sessions", "attach", s.ID)
}

// TestTranscriptPaging: a transcript longer than a page comes out whole
// and in order, and an admin's read of it is audited page by page.
func TestTranscriptPaging(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max, ada := lookup(t, uMember), lookup(t, uAdmin)
	s := d.startSession(t, max, "--project", "demo", "--agent", "shell")
	// 2,500 entries, written beside the daemon as a long session would.
	st, err := store.Open(context.Background(), store.Config{Engine: store.SQLite, Path: filepath.Join(d.dir, "data", "teleclaude.db")}, store.WithoutLock())
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.TranscriptEntry
	for i := 0; i < 2500; i++ {
		batch = append(batch, store.TranscriptEntry{Direction: "out", Content: fmt.Sprintf("entry %d\n", i)})
	}
	if _, err := st.AppendTranscript(context.Background(), s.ID, batch...); err != nil {
		t.Fatal(err)
	}
	st.Close()
	entries := d.transcript(t, max, s.ID)
	if len(entries) < 2500 {
		t.Fatalf("transcript has %d entries, want at least 2500", len(entries))
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	human := d.telec(t, max, "sessions", "transcript", s.ID).stdout
	if !strings.Contains(human, "entry 0\n") || !strings.Contains(human, "entry 2499\n") {
		t.Errorf("the human transcript is not whole (%d bytes)", len(human))
	}
	d.transcript(t, ada, s.ID, "--as-admin")
	recs := decode[[]apitype.AuditRecord](t, d.telec(t, ada, "audit", "--session", s.ID, "--json"))
	if len(recs) != 3 {
		t.Errorf("an admin's read of 3 pages left %d audit records, want 3", len(recs))
	}
}

// TestOutputLogSwap: the owner may write in their run directory (tmux
// needs it), so they could swap their session's output log for a link to
// a file only the daemon may read. The daemon must not read it.
func TestOutputLogSwap(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max := lookup(t, uMember)
	s := d.startSession(t, max, "--project", "demo")
	d.waitOutput(t, max, s.ID, "started-")
	d.cmd.Process.Kill()
	d.exited(t, 10*time.Second)

	logPath := filepath.Join(d.dir, "run", "users", strconv.Itoa(max.uid), s.ID+".out")
	secrets := filepath.Join(d.dir, "etc", "secrets.yml")
	if r := run(t, &max, nil, "/bin/sh", "-c", "rm -f "+logPath+" && ln -s "+secrets+" "+logPath); r.code != 0 {
		t.Fatalf("the owner could not replace the log: %s", r.stderr)
	}
	again := startDaemon(t, daemonOpts{dataDir: filepath.Join(d.dir, "data"), socket: d.socket, runDir: filepath.Join(d.dir, "run")})
	leaked := func() bool {
		out := outputOf(again.transcript(t, max, s.ID))
		return strings.Contains(out, "TCE_TEST_KEY") || strings.Contains(out, testSecret)
	}
	refusedLog := func() bool { return strings.Contains(again.stderr.String(), "symbolic link; not reading it") }
	waitFor(t, func() bool { return refusedLog() || leaked() })
	if leaked() {
		t.Fatal("the daemon copied its secrets file into the owner's transcript")
	}
	if !refusedLog() {
		t.Errorf("the daemon did not say why it skipped the log:\n%s", again.stderr)
	}
}

// waitBackendGone waits until no PostgreSQL backend serves daemon pid
// (its connections are named after it).
func waitBackendGone(t *testing.T, dsn string, pid int) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, func() bool {
		var n int
		err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1", fmt.Sprintf("teleclaude serve pid %d %%", pid)).Scan(&n)
		return err == nil && n == 0
	})
}

// TestStartFromPreferences: a person's default project and agent (their
// preferences, here from the environment) fill in what start leaves out.
func TestStartFromPreferences(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	max := lookup(t, uMember)
	env := []string{"TELECLAUDE_SOCKET=" + d.socket, "TELECLAUDE_DEFAULT_PROJECT=other", "TELECLAUDE_DEFAULT_AGENT=quick"}
	out := decode[apitype.StartResponse](t, run(t, &max, env, telecBin, "sessions", "start", "--json"))
	if out.Session.Project != "other" || out.Session.Agent != "quick" {
		t.Errorf("started %s/%s, want the preferred other/quick", out.Session.Project, out.Session.Agent)
	}
	// Flags win over preferences.
	out = decode[apitype.StartResponse](t, run(t, &max, env, telecBin, "sessions", "start", "--project", "demo", "--agent", "echo", "--json"))
	if out.Session.Project != "demo" || out.Session.Agent != "echo" {
		t.Errorf("started %s/%s, want demo/echo from the flags", out.Session.Project, out.Session.Agent)
	}
	r := run(t, &max, []string{"TELECLAUDE_SOCKET=" + d.socket, "TELECLAUDE_DEFAULT_PROJECT=gone"}, telecBin, "sessions", "start")
	if r.code != 2 || !strings.Contains(r.stderr, "from your preferences: default_project") {
		t.Errorf("a preferred project that does not exist: %d %q", r.code, r.stderr)
	}
}

// TestMaxRunning: one person's running sessions are bounded.
func TestMaxRunning(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{config: strings.Replace(stdConfig, "sessions: {default_agent: echo}", "sessions: {default_agent: echo, max_running: 2}", 1)})
	max, mo := lookup(t, uMember), lookup(t, uMember2)
	a := d.startSession(t, max, "--project", "demo")
	d.startSession(t, max, "--project", "demo")
	d.refused(t, max, 1, "you have 2 sessions running", "sessions", "start", "--project", "demo")
	d.startSession(t, mo, "--project", "demo") // the limit is per person
	d.telec(t, max, "sessions", "end", a.ID)
	d.startSession(t, max, "--project", "demo")
}

// TestInheritedFilesStayWithTheDaemon: a file the daemon was handed open
// (here root's /etc/shadow) does not reach a user's session host, whose
// /proc the user may read.
func TestInheritedFilesStayWithTheDaemon(t *testing.T) {
	requireRoot(t)
	secret, err := os.Open("/etc/shadow")
	if err != nil {
		t.Skipf("no /etc/shadow to hand over: %v", err)
	}
	defer secret.Close()
	d := startDaemon(t, daemonOpts{extraFiles: []*os.File{secret}})
	max := lookup(t, uMember)
	d.startSession(t, max, "--project", "demo")
	out, _ := exec.Command("pgrep", "-u", strconv.Itoa(max.uid), "-f", "session-host --dir "+d.dir).Output()
	pids := strings.Fields(string(out))
	if len(pids) == 0 {
		t.Fatal("no session host of max's found")
	}
	for _, pid := range pids {
		fds, _ := filepath.Glob("/proc/" + pid + "/fd/*")
		for _, fd := range fds {
			if target, _ := os.Readlink(fd); target == "/etc/shadow" {
				t.Errorf("max's session host (pid %s) holds /etc/shadow open as %s", pid, fd)
			}
		}
	}
}

// TestMaxRunningRace starts 20 sessions of one person at once against a
// limit of 5, on both engines: exactly 5 start, the others are told why.
func TestMaxRunningRace(t *testing.T) {
	requireRoot(t)
	engines(t, func(t *testing.T, dsn string) {
		d := startDaemon(t, daemonOpts{dsn: dsn, config: strings.Replace(stdConfig, "sessions: {default_agent: echo}", "sessions: {default_agent: echo, max_running: 5}", 1)})
		max := lookup(t, uMember)
		results := make([]result, 20)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(telecBin, "sessions", "start", "--project", "demo", "--json")
				cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "TELECLAUDE_SOCKET=" + d.socket}
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: max.cred}
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				results[i] = result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
				if err != nil && cmd.ProcessState == nil {
					results[i].code = -1
				}
			}()
		}
		wg.Wait()
		started, refused := 0, 0
		for _, r := range results {
			switch {
			case r.code == 0:
				started++
			case r.code == 1 && strings.Contains(r.stderr, "sessions running, the most this machine allows"):
				refused++
			default:
				t.Errorf("start: exit %d, stderr %q", r.code, r.stderr)
			}
		}
		if started != 5 || refused != 15 {
			t.Errorf("20 concurrent starts against max_running 5: %d started, %d refused; want 5 and 15", started, refused)
		}
		running := 0
		for _, s := range decode[[]apitype.Session](t, d.telec(t, max, "sessions", "list", "--json")) {
			if s.Status == "running" || s.Status == "starting" {
				running++
			}
		}
		if running != 5 {
			t.Errorf("%d sessions running after the race, want 5", running)
		}
	})
}

// TestRecycledUID: an account is deleted and its uid given to a new
// account mapped to someone else. The newcomer sees nothing of the old
// owner's sessions, transcripts or audit records, and doctor warns.
func TestRecycledUID(t *testing.T) {
	requireRoot(t)
	const oldName, newName = "tce-rita", "tce-rex"
	useradd := func(name string, extra ...string) {
		args := append([]string{"-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "-U", "-G", sockGroup}, extra...)
		if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
		// -f: the session host the daemon started for it may still run
		// (the harness stops it after).
		t.Cleanup(func() { exec.Command("userdel", "-f", name).Run() })
	}
	useradd(oldName)
	rita := lookup(t, oldName)
	cfg := strings.Replace(stdConfig, "projects:", "  - {name: rita, role: member, os_username: tce-rita}\nprojects:", 1)
	d := startDaemon(t, daemonOpts{config: cfg})
	s := d.startSession(t, rita, "--project", "demo")
	d.waitOutput(t, rita, s.ID, "started-")
	d.telec(t, rita, "sessions", "send", s.ID, "rita's secret")
	d.waitOutput(t, rita, s.ID, "rita's secret")
	d.telec(t, rita, "sessions", "end", s.ID)
	ada := lookup(t, uAdmin)
	d.transcript(t, ada, s.ID, "--as-admin") // an audit record about rita's session

	// Rita leaves (-f: her session host may still run; the harness stops
	// it); her uid goes to rex, another person.
	if out, err := exec.Command("userdel", "-f", oldName).CombinedOutput(); err != nil {
		t.Fatalf("userdel: %v: %s", err, out)
	}
	useradd(newName, "-u", strconv.Itoa(rita.uid))
	rex := lookup(t, newName)
	d.writeConfig(t, strings.Replace(stdConfig, "projects:", "  - {name: rex, role: member, os_username: tce-rex}\nprojects:", 1))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(d.stderr.String(), "reloaded ") })
	if w := decode[apitype.Whoami](t, d.telec(t, rex, "whoami", "--json")); w.Person == nil || *w.Person != "rex" || w.UID != rita.uid {
		t.Fatalf("rex is %+v", w)
	}

	if ss := decode[[]apitype.Session](t, d.telec(t, rex, "sessions", "list", "--json")); len(ss) != 0 {
		t.Errorf("rex, on rita's old uid, lists %d sessions: %v", len(ss), ids(ss))
	}
	hidden := `no session "` + s.ID + `"`
	d.refused(t, rex, 1, hidden, "sessions", "show", s.ID)
	d.refused(t, rex, 1, hidden, "sessions", "transcript", s.ID)
	d.refused(t, rex, 1, hidden, "sessions", "end", s.ID)
	if recs := decode[[]apitype.AuditRecord](t, d.telec(t, rex, "audit", "--mine", "--json")); len(recs) != 0 {
		t.Errorf("rex sees %d audit records about rita's sessions", len(recs))
	}
	// Rex's own sessions are his.
	mine := d.startSession(t, rex, "--project", "demo")
	if ss := decode[[]apitype.Session](t, d.telec(t, rex, "sessions", "list", "--json")); len(ss) != 1 || ss[0].ID != mine.ID {
		t.Errorf("rex lists %v, want only %s", ids(ss), mine.ID)
	}

	rep, _ := d.doctor(t, nil)
	c := rep.check(t, "session owners")
	if c.Status != doctor.Warn || !strings.Contains(c.Detail, "1 session") {
		t.Errorf("doctor's session owners check: %+v; want a warning about rita's session", c)
	}
}

// TestRecycledUIDSamePerson: the uid of a deleted account goes to a new
// account, and the admin points the old person entry at it (a person named
// for a role, say). uid and person are both the old owner's again; the
// account the sessions were started from is not, and the new account sees
// nothing of them; doctor counts them.
func TestRecycledUIDSamePerson(t *testing.T) {
	requireRoot(t)
	const oldName, newName = "tce-rita", "tce-rex"
	useradd := func(name string, extra ...string) {
		args := append([]string{"-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "-U", "-G", sockGroup}, extra...)
		if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", "-f", name).Run() })
	}
	useradd(oldName)
	rita := lookup(t, oldName)
	d := startDaemon(t, daemonOpts{config: strings.Replace(stdConfig, "projects:", "  - {name: intern, role: member, os_username: tce-rita}\nprojects:", 1)})
	s := d.startSession(t, rita, "--project", "demo")
	d.telec(t, rita, "sessions", "send", s.ID, "rita's secret")
	d.waitOutput(t, rita, s.ID, "rita's secret")
	d.transcript(t, lookup(t, uAdmin), s.ID, "--as-admin")
	d.telec(t, rita, "sessions", "end", s.ID)

	if out, err := exec.Command("userdel", "-f", oldName).CombinedOutput(); err != nil {
		t.Fatalf("userdel: %v: %s", err, out)
	}
	useradd(newName, "-u", strconv.Itoa(rita.uid))
	rex := lookup(t, newName)
	d.writeConfig(t, strings.Replace(stdConfig, "projects:", "  - {name: intern, role: member, os_username: tce-rex}\nprojects:", 1))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(d.stderr.String(), "reloaded ") })
	if w := decode[apitype.Whoami](t, d.telec(t, rex, "whoami", "--json")); w.Person == nil || *w.Person != "intern" || w.UID != rita.uid {
		t.Fatalf("rex is %+v; want person intern on rita's old uid", w)
	}
	if ss := decode[[]apitype.Session](t, d.telec(t, rex, "sessions", "list", "--json")); len(ss) != 0 {
		t.Errorf("rex, on rita's old uid and person, lists %d sessions: %v", len(ss), ids(ss))
	}
	hidden := `no session "` + s.ID + `"`
	d.refused(t, rex, 1, hidden, "sessions", "show", s.ID)
	d.refused(t, rex, 1, hidden, "sessions", "transcript", s.ID)
	if recs := decode[[]apitype.AuditRecord](t, d.telec(t, rex, "audit", "--mine", "--json")); len(recs) != 0 {
		t.Errorf("rex sees %d audit records about rita's sessions", len(recs))
	}
	mine := d.startSession(t, rex, "--project", "demo")
	if ss := decode[[]apitype.Session](t, d.telec(t, rex, "sessions", "list", "--json")); len(ss) != 1 || ss[0].ID != mine.ID {
		t.Errorf("rex lists %v, want only %s", ids(ss), mine.ID)
	}
	rep, _ := d.doctor(t, nil)
	if c := rep.check(t, "session owners"); c.Status != doctor.Warn || !strings.Contains(c.Detail, "1 session") {
		t.Errorf("doctor's session owners check: %+v; want a warning about rita's session", c)
	}
}

// TestAgentsAreForWhomTheConfigSays: an agent with keys is for members and
// admins unless the config says otherwise; roles and people widen or narrow
// it, and a refusal says who the agent is for.
func TestAgentsAreForWhomTheConfigSays(t *testing.T) {
	requireRoot(t)
	cfg := strings.Replace(stdConfig, "projects:", "  - {name: pat, role: contributor, os_username: tce-public}\nprojects:", 1)
	cfg = strings.Replace(cfg, "agents:\n", "agents:\n  patkey: {command: [\"/bin/sh\", \"-c\", \"exec cat\"], secrets_env: [TCE_TEST_KEY], people: [pat]}\n  adminonly: {command: [\"/bin/sh\"], roles: [admin]}\n", 1)
	d := startDaemon(t, daemonOpts{config: cfg})
	pat, max := lookup(t, uPublic), lookup(t, uMember)
	d.refused(t, pat, 1, "agent keyed is for members and admins", "sessions", "start", "--project", "demo", "--agent", "keyed")
	d.startSession(t, pat, "--project", "demo", "--agent", "patkey")
	d.startSession(t, pat, "--project", "demo", "--agent", "echo") // no keys: anyone who may start sessions
	d.startSession(t, max, "--project", "demo", "--agent", "keyed")
	d.refused(t, max, 1, "agent patkey is for people pat", "sessions", "start", "--project", "demo", "--agent", "patkey")
	d.refused(t, max, 1, "agent adminonly is for roles admin", "sessions", "start", "--project", "demo", "--agent", "adminonly")
}
