package sessionhost

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/instruktai/teleclaude/internal/acl"
	"github.com/instruktai/teleclaude/internal/testenv"
	"github.com/instruktai/teleclaude/internal/tmux"
)

func self(t *testing.T) (Owner, string) {
	t.Helper()
	o, err := LookupOwner(os.Getuid())
	if err != nil {
		t.Fatal(err)
	}
	return o, o.Username
}

// runDir is a short directory (Unix socket paths are limited) that other
// users may traverse, as the daemon's run directory is.
func runDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sh-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func killServer(t *testing.T, srv *tmux.Server) {
	t.Cleanup(func() { srv.KillServer(context.Background()) })
}

// TestOwnUser is single-user mode: the daemon's own user, no switching, no
// ACL, no access list.
func TestOwnUser(t *testing.T) {
	bin := testenv.Tool(t, "tmux")
	o, name := self(t)
	run := runDir(t)
	h, err := New(Config{RunDir: run, Tmux: bin, Kind: Direct, DaemonUID: o.UID, DaemonUser: name})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := h.Ensure(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	killServer(t, srv)
	pid, err := srv.PID(ctx)
	if err != nil || pid <= 0 {
		t.Fatalf("PID = %d, %v", pid, err)
	}
	// A second Ensure finds the running server.
	again, err := h.Ensure(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := again.PID(ctx); p2 != pid {
		t.Errorf("second Ensure started another server (pid %d, first %d)", p2, pid)
	}
	conf, _ := os.ReadFile(filepath.Join(h.Dir(o.UID), "tmux.conf"))
	if strings.Contains(string(conf), "server-access") || !strings.Contains(string(conf), "remain-on-exit on") {
		t.Errorf("own-user tmux.conf:\n%s", conf)
	}
	st, _ := os.Stat(h.Dir(o.UID))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("user dir mode %v, want 0700", st.Mode())
	}
}

// TestOtherUser has root start a server for an unprivileged account and
// checks who runs it, who may reach its socket, and who may not.
func TestOtherUser(t *testing.T) {
	bin := testenv.Tool(t, "tmux")
	testenv.Root(t, "switching users")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody account")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	o, err := LookupOwner(uid)
	if err != nil {
		t.Fatal(err)
	}
	run := runDir(t)
	h, err := New(Config{RunDir: run, Tmux: bin, Kind: Direct, DaemonUID: 0, DaemonUser: "root"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := h.Ensure(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	killServer(t, srv)
	pid, _ := srv.PID(ctx)
	if got := procUID(t, pid); got != uid {
		t.Errorf("tmux server runs as uid %d, want %d (nobody)", got, uid)
	}
	dir := h.Dir(uid)
	got, err := acl.Get(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != 1 || got.Users[0] != (acl.Grant{UID: uid, Perm: acl.RWX}) {
		t.Errorf("user dir ACL = %+v, want the owner only", got)
	}
	// With an ACL, the group bits of the mode show the ACL's mask; the
	// owning group's own entry is empty (acl.Get refuses anything else).
	st, _ := os.Stat(dir)
	if st.Mode().Perm()&0o707 != 0o700 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("user dir %v owned by %d, want rwx for the daemon only, besides the ACL", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "tmux.conf"))
	if !strings.Contains(string(conf), "server-access -a root") {
		t.Errorf("tmux.conf does not admit the daemon:\n%s", conf)
	}
	// A third account can neither enter the directory nor use the socket.
	cmd := exec.Command(bin, "-S", srv.Socket, "list-sessions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4242, Gid: 4242}}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("uid 4242 reached the socket: %v: %s", err, out)
	}
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no Uid line for pid %d", pid)
	return -1
}

func TestCannotSwitch(t *testing.T) {
	bin := testenv.Tool(t, "tmux")
	if os.Getuid() == 0 {
		t.Skip("root may switch")
	}
	o, name := self(t)
	h, _ := New(Config{RunDir: runDir(t), Tmux: bin, Kind: Direct, DaemonUID: o.UID, DaemonUser: name})
	other := o
	other.UID = o.UID + 1
	if _, err := h.Ensure(context.Background(), other); !errors.Is(err, ErrCannotSwitch) {
		t.Errorf("Ensure(other uid) as an unprivileged daemon = %v, want ErrCannotSwitch", err)
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"relative tmux", Config{RunDir: "/run/teleclaude", Tmux: "tmux", Kind: Direct, DaemonUser: "teleclaude"}, "not an absolute path"},
		{"odd daemon user", Config{RunDir: "/run/teleclaude", Tmux: "/usr/bin/tmux", Kind: Direct, DaemonUser: "a b"}, "access list"},
		{"systemd elsewhere", Config{RunDir: "/tmp/x", Tmux: "/usr/bin/tmux", Kind: Systemd, DaemonUser: "teleclaude"}, "/run/teleclaude"},
		{"unknown kind", Config{RunDir: "/tmp/x", Tmux: "/usr/bin/tmux", Kind: "docker", DaemonUser: "teleclaude"}, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPasswdShell(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\nal:x:1001:1001::/home/al:/usr/bin/zsh\nbroken\n"), 0o644)
	if got := passwdShell(p, 1001); got != "/usr/bin/zsh" {
		t.Errorf("passwdShell(1001) = %q", got)
	}
	if got := passwdShell(p, 7); got != "" {
		t.Errorf("passwdShell(7) = %q, want none", got)
	}
}
