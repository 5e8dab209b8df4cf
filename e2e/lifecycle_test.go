//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

// engines runs f once on SQLite and once on a fresh PostgreSQL database.
func engines(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "") })
	t.Run("postgresql", func(t *testing.T) { f(t, pgtest.DSN(t)) })
}

func TestSecondDaemonRefused(t *testing.T) {
	requireRoot(t)
	engines(t, func(t *testing.T, dsn string) {
		first := startDaemon(t, daemonOpts{dsn: dsn})
		// Same database, its own socket: only the lock can stop it.
		second := startDaemon(t, daemonOpts{dsn: dsn, dataDir: filepath.Join(first.dir, "data"), noWait: true})
		if code := second.exited(t, 15*time.Second); code != 1 {
			t.Errorf("second daemon exit code = %d, want 1", code)
		}
		want := "teleclaude serve pid " + strconv.Itoa(first.cmd.Process.Pid)
		if !strings.Contains(second.stderr.String(), want) {
			t.Errorf("second daemon's error does not name the holder (%q):\n%s", want, second.stderr)
		}
		// The first is unharmed.
		if r := first.telec(t, lookup(t, uMember), "status"); r.code != 0 {
			t.Errorf("first daemon after the second's attempt: %d %s", r.code, r.stderr)
		}
	})
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.exited(t, 20*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0\n%s", code, d.stderr)
	}
	if _, err := os.Lstat(d.socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind after a clean stop: %v", err)
	}
	// And the database is free again: a new daemon on it starts.
	startDaemon(t, daemonOpts{dataDir: filepath.Join(d.dir, "data")})
}

func TestBadStarts(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name     string
		o        daemonOpts
		wantCode int
		want     []string
	}{
		{"config not yaml", daemonOpts{config: "people: [\n  - {name: a\n"}, 2, []string{"config.yml:1:"}},
		{"unknown key", daemonOpts{config: stdConfig + "colour: blue\n"}, 2, []string{fmt.Sprintf(`config.yml:%d: unknown key "colour"`, strings.Count(stdConfig, "\n")+1)}},
		{"unknown role", daemonOpts{config: strings.Replace(stdConfig, "role: member", "role: boss", 1)}, 2, []string{`config.yml:4:`, `role "boss"`}},
		{"socket path too long", daemonOpts{extraEnv: []string{"TELECLAUDE_SOCKET=/tmp/" + strings.Repeat("s", 120)}}, 1, []string{"Unix sockets allow at most"}},
		{"socket dir missing", daemonOpts{extraEnv: []string{"TELECLAUDE_SOCKET=/nonexistent-dir-tce/x/t.sock"}}, 1, []string{"/nonexistent-dir-tce/x"}},
		{"database unreachable", daemonOpts{dsn: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=3"}, 1, []string{"database", "127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.noWait = true
			d := startDaemon(t, tt.o)
			if code := d.exited(t, 30*time.Second); code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\n%s", code, tt.wantCode, d.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(d.stderr.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, d.stderr)
				}
			}
		})
	}
}

func TestTelecUnreachable(t *testing.T) {
	requireRoot(t)
	member := lookup(t, uMember)
	dir, _ := os.MkdirTemp(shared, "u-")
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	r := run(t, &member, []string{"TELECLAUDE_SOCKET=" + filepath.Join(dir, "none.sock")}, telecBin, "status")
	if r.code != 3 || !strings.Contains(r.stderr, "not running") || !strings.Contains(r.stderr, "teleclaude serve") {
		t.Errorf("no socket: %d %q", r.code, r.stderr)
	}
	// A stale socket: a daemon killed without cleaning up.
	d := startDaemon(t, daemonOpts{})
	d.cmd.Process.Kill()
	d.exited(t, 10*time.Second)
	r = d.telec(t, member, "status")
	if r.code != 3 || !strings.Contains(r.stderr, "no longer running") {
		t.Errorf("stale socket: %d %q", r.code, r.stderr)
	}
	// And a new daemon replaces the stale socket.
	again := startDaemon(t, daemonOpts{dataDir: filepath.Join(d.dir, "data"), socket: d.socket})
	if r := again.telec(t, member, "status"); r.code != 0 {
		t.Errorf("status after replacing the stale socket: %d %s", r.code, r.stderr)
	}
}

// TestSingleUser runs the daemon as an ordinary user with no config at all:
// that user is admin, and nobody else can reach the socket.
func TestSingleUser(t *testing.T) {
	requireRoot(t)
	owner, other := lookup(t, uMember), lookup(t, uAdmin)
	home, _ := os.MkdirTemp(shared, "home-")
	t.Cleanup(func() { os.RemoveAll(home) })
	os.Chown(home, owner.uid, owner.gid)
	env := []string{"TELECLAUDE_SYSTEM_MODE=0", "HOME=" + home, "XDG_RUNTIME_DIR="}
	runDir := "/tmp/teleclaude-" + strconv.Itoa(owner.uid)
	os.RemoveAll(runDir)
	t.Cleanup(func() { os.RemoveAll(runDir) })

	cmd := startAs(t, owner, env, teleBin, "serve")
	sock := filepath.Join(runDir, "teleclaude.sock")
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	st, _ := os.Stat(runDir)
	if st.Mode().Perm() != 0o700 || int(st.Sys().(*syscall.Stat_t).Uid) != owner.uid {
		t.Errorf("run dir %s mode %v, want 0700 owned by %s", runDir, st.Mode(), owner.name)
	}
	if _, err := os.Stat(filepath.Join(home, ".teleclaude", "teleclaude.db")); err != nil {
		t.Errorf("single-user database not in ~/.teleclaude: %v", err)
	}
	r := run(t, &owner, env, telecBin, "whoami", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"role": "admin"`) || !strings.Contains(r.stdout, `"person": "tce-member"`) {
		t.Errorf("owner whoami = %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, &other, []string{"TELECLAUDE_SOCKET=" + sock}, telecBin, "whoami")
	if r.code != 3 || !regexp.MustCompile(`permission denied`).MatchString(r.stderr) {
		t.Errorf("another user reached a single-user daemon: %d %s %s", r.code, r.stdout, r.stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("single-user daemon exit: %v", err)
	}
}
