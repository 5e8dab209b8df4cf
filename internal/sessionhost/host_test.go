package sessionhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/acl"
	"github.com/instruktai/teleclaude/internal/testenv"
	"github.com/instruktai/teleclaude/internal/tmux"
)

// The test binary is also the program that runs as a host and as a
// session's launcher, as `teleclaude` is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "session-host":
			o := HostOptions{Dir: flagValue("--dir"), Tmux: flagValue("--tmux"), Self: os.Args[0]}
			if err := RunHost(context.Background(), o); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		case "session-exec":
			err := Exec(flagValue("--host"), flagValue("--session"))
			fmt.Fprintf(os.Stderr, "cannot start: %v\n", err)
			os.Exit(127)
		case "refuse-capabilities":
			fmt.Println(refuseCapabilities())
			os.Exit(0)
		case "shed-capabilities":
			err := shedCapabilities()
			status, _ := os.ReadFile("/proc/self/status")
			var caps []string
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "Cap") && !strings.HasPrefix(line, "CapBnd") {
					caps = append(caps, strings.ReplaceAll(line, "\t", ""))
				}
			}
			fmt.Println(err, strings.Join(caps, " "), os.Getenv(shedEnv) == "")
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func flagValue(name string) string {
	for i, a := range os.Args[:len(os.Args)-1] {
		if a == name {
			return os.Args[i+1]
		}
	}
	return ""
}

// shared is a short directory (socket paths are limited) that other users
// may traverse, as a run directory is, holding a copy of this binary they
// may run.
func shared(t *testing.T) (dir, self string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sh-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	self = filepath.Join(dir, "teleclaude")
	if err := os.WriteFile(self, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, self
}

// newHost returns a Host in a fresh run directory, and stops every host
// and tmux server it started when the test ends.
func newHost(t *testing.T, daemonUID int) (*Host, string) {
	t.Helper()
	dir, self := shared(t)
	run := filepath.Join(dir, "run")
	os.Mkdir(run, 0o755)
	h, err := New(Config{RunDir: run, Tmux: testenv.Tool(t, "tmux"), Kind: Direct, DaemonUID: daemonUID, Self: self})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		socks, _ := filepath.Glob(filepath.Join(run, "users", "*", "tmux.sock"))
		for _, s := range socks {
			exec.Command("tmux", "-S", s, "kill-server").Run()
		}
		exec.Command("pkill", "-f", "session-host --dir "+run).Run()
	})
	return h, dir
}

func lookup(t *testing.T, uid int) Owner {
	t.Helper()
	o, err := LookupOwner(uid)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// eventually polls cond for up to ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within ten seconds", what)
		}
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

// runSession starts a session that prints, echoes a line of input and
// exits 4, and checks each of those through the host.
func runSession(t *testing.T, h *Host, o Owner, project string) *Client {
	t.Helper()
	ctx := context.Background()
	c, err := h.Ensure(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{"/bin/sh", "-c", `echo "hello $FOO"; read line; echo "got:$line"; exit 4`}
	logPath, exitPath, err := c.StartSession(ctx, "s1", project, argv, map[string]string{"FOO": "bar", "PATH": "/usr/bin:/bin"})
	if err != nil {
		t.Fatal(err)
	}
	read := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	eventually(t, "output in the log", func() bool { return strings.Contains(read(), "hello bar") })
	if err := c.Paste(ctx, "s1", "ping ✓", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "input reaching the program", func() bool { return strings.Contains(read(), "got:ping ✓") })
	eventually(t, "the exit status", func() bool { b, _ := os.ReadFile(exitPath); return strings.TrimSpace(string(b)) == "4" })
	panes, err := c.Panes(ctx)
	if err != nil || len(panes) != 1 || !panes[0].Dead {
		t.Errorf("Panes = %+v, %v; want the one dead pane", panes, err)
	}
	for _, p := range []string{logPath, exitPath} {
		st, err := os.Stat(p)
		if err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != o.UID {
			t.Errorf("%s: %v, want a file of the owner's", p, err)
		}
	}
	if err := c.Kill(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "s1"); !errors.Is(err, ErrNoSession) {
		t.Errorf("second Kill = %v, want ErrNoSession", err)
	}
	return c
}

// TestOwnUser is single-user mode: the daemon's own user, no switching,
// no ACL.
func TestOwnUser(t *testing.T) {
	me := lookup(t, os.Getuid())
	h, dir := newHost(t, me.UID)
	c := runSession(t, h, me, dir)
	// A second Ensure finds the running host.
	again, err := h.Ensure(context.Background(), me)
	if err != nil || again.sock != c.sock {
		t.Errorf("second Ensure = %+v, %v", again, err)
	}
	st, _ := os.Stat(h.Dir(me.UID))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("user dir mode %v, want 0700", st.Mode())
	}
}

// TestOtherUser has root start a host for an unprivileged account and
// checks who runs what, and who may reach it.
func TestOtherUser(t *testing.T) {
	testenv.Root(t, "switching users")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody account")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	o := lookup(t, uid)
	h, dir := newHost(t, 0)
	project := filepath.Join(dir, "project")
	os.Mkdir(project, 0o777)
	c := runSession(t, h, o, project)

	resp, err := c.call(context.Background(), Request{Op: OpPing})
	if err != nil {
		t.Fatal(err)
	}
	if got := procUID(t, resp.PID); got != uid {
		t.Errorf("the host runs as uid %d, want %d (nobody)", got, uid)
	}
	srv := &tmux.Server{Bin: testenv.Tool(t, "tmux"), Socket: filepath.Join(h.Dir(uid), "tmux.sock")}
	pid, err := srv.PID(context.Background())
	if err != nil || procUID(t, pid) != uid {
		t.Errorf("the tmux server (pid %d, %v) does not run as nobody", pid, err)
	}
	got, err := acl.Get(h.Dir(uid))
	if err != nil || len(got.Users) != 1 || got.Users[0] != (acl.Grant{UID: uid, Perm: acl.RWX}) {
		t.Errorf("user dir ACL = %+v, %v; want the owner only", got, err)
	}
	// A third account can reach neither the host nor the tmux server.
	for _, sock := range []string{c.sock, srv.Socket} {
		cmd := exec.Command(h.cfg.Self, "-test.run=^TestHelperDial$")
		cmd.Env = append(os.Environ(), "SESSIONHOST_DIAL="+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4242, Gid: 4242}}
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "permission denied") {
			t.Errorf("uid 4242 dialing %s: %v: %s", sock, err, out)
		}
	}
}

func TestHelperDial(t *testing.T) {
	sock := os.Getenv("SESSIONHOST_DIAL")
	if sock == "" {
		t.Skip("helper process only")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestHostAnswersOnlyItsPeople: the host does the daemon's bidding for
// the daemon only, and hands a spec to its owner only, once.
func TestHostAnswersOnlyItsPeople(t *testing.T) {
	h := &host{uid: 1000, daemonUID: 999, specs: map[string]pendingSpec{"s1": {spec: Spec{Argv: []string{"x"}}, at: time.Now()}}}
	ctx := context.Background()
	for _, tt := range []struct {
		peer int
		req  Request
		want string // "" for no error
	}{
		{999, Request{Op: OpPing}, ""},
		{1000, Request{Op: OpPing}, ""},
		{1234, Request{Op: OpPing}, "may not"},
		{1000, Request{Op: OpStart, Session: "s2"}, "may not"},
		{1000, Request{Op: OpPaste, Session: "s1"}, "may not"},
		{999, Request{Op: OpSpec, Session: "s1"}, "may not"},
		{999, Request{Op: OpPaste, Session: "../x"}, "bad session id"},
		{999, Request{Op: "shell", Session: "s1"}, "unknown operation"},
		{1000, Request{Op: OpSpec, Session: "s1"}, ""},
		{1000, Request{Op: OpSpec, Session: "s1"}, "already taken"},
	} {
		resp := h.handle(ctx, tt.peer, tt.req)
		if tt.want == "" && resp.Error != "" || tt.want != "" && !strings.Contains(resp.Error, tt.want) {
			t.Errorf("uid %d asking %+v: error %q, want %q", tt.peer, tt.req, resp.Error, tt.want)
		}
	}
	h.specs["old"] = pendingSpec{spec: Spec{Argv: []string{"x"}}, at: time.Now().Add(-2 * specTTL)}
	if resp := h.handle(ctx, 1000, Request{Op: OpSpec, Session: "old"}); resp.Spec != nil {
		t.Error("a spec outlived its time (its API keys stay in memory)")
	}
}

// TestClientChecksTheHost: a socket at the host's path that another uid
// serves is not the host.
func TestClientChecksTheHost(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "host.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			answer(c, Response{PID: 1})
		}
	}()
	c := &Client{uid: os.Getuid() + 1, sock: sock}
	if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "served by uid") {
		t.Errorf("Ping of a stranger's socket = %v, want a refusal", err)
	}
	if err := (&Client{uid: os.Getuid(), sock: sock + ".none"}).Ping(context.Background()); !errors.Is(err, ErrNoHost) {
		t.Errorf("Ping with no socket = %v, want ErrNoHost", err)
	}
}

// TestClientBelievesLittle: a host's answer is its user's word, kept
// short: no pane list of a million entries, no error a megabyte long.
func TestClientBelievesLittle(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "host.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answers := make(chan Response, 3)
	answers <- Response{Panes: make([]tmux.Pane, maxPanes+1)}
	answers <- Response{Error: strings.Repeat("e", 100_000)}
	answers <- Response{Error: "failed\ntime=\"2026-01-01\" level=error msg=\"admin password is hunter2\"\x1b]0;pwned\x07"}
	go func() {
		for r := range answers {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			answer(c, r)
		}
	}()
	c := &Client{uid: os.Getuid(), sock: sock}
	if _, err := c.Panes(context.Background()); err == nil || !strings.Contains(err.Error(), "not believing it") {
		t.Errorf("Panes with too many panes = %v", err)
	}
	if err := c.Ping(context.Background()); err == nil || len(err.Error()) > 2*maxErrorLen {
		t.Errorf("a long error came through %d bytes long", len(err.Error()))
	}
	// What the host says goes to the daemon's log: one line, no escapes.
	if err := c.Ping(context.Background()); err == nil || strings.ContainsAny(err.Error(), "\n\x1b\x07") {
		t.Errorf("a host's error came through as %q", err)
	}
}

// answer plays a host: it reads the request before it answers, as the
// real one does. Closing first would race the client's write (EPIPE).
func answer(c net.Conn, r Response) {
	defer c.Close()
	var req Request
	if readMessage(c, &req, maxRequest) == nil {
		writeMessage(c, r)
	}
}

func TestCannotSwitch(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root may switch")
	}
	me := lookup(t, os.Getuid())
	h, _ := newHost(t, me.UID)
	other := me
	other.UID = me.UID + 1
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
		{"relative tmux", Config{RunDir: "/run/teleclaude", Tmux: "tmux", Kind: Direct, Self: "/usr/bin/teleclaude"}, "not an absolute path"},
		{"relative self", Config{RunDir: "/run/teleclaude", Tmux: "/usr/bin/tmux", Kind: Direct, Self: "teleclaude"}, "not absolute"},
		{"systemd elsewhere", Config{RunDir: "/tmp/x", Tmux: "/usr/bin/tmux", Kind: Systemd, Self: "/usr/bin/teleclaude"}, "/run/teleclaude"},
		{"unknown kind", Config{RunDir: "/tmp/x", Tmux: "/usr/bin/tmux", Kind: "docker", Self: "/usr/bin/teleclaude"}, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestUnitEnv: the file the template unit reads for the daemon's
// sessions.tmux, and a path systemd would read otherwise refused.
func TestUnitEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), UnitEnvFile)
	if err := writeUnitEnv(p, "/opt/tmux 3.5/bin/tmux"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), "\nTELECLAUDE_TMUX='/opt/tmux 3.5/bin/tmux'\n") {
		t.Errorf("unit environment file:\n%s", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (systemd reads it; nothing in it is secret)", st.Mode().Perm())
	}
	for _, bad := range []string{"/opt/it's/tmux", "/opt/tmux\nLD_PRELOAD=/tmp/x.so", `/opt/a\b`, "/opt/$HOME/tmux", `/opt/"x"`, "/opt/t\tmux", "/opt/\x7f", "/opt/\xff"} {
		if err := writeUnitEnv(p, bad); err == nil {
			t.Errorf("writeUnitEnv(%q) accepted", bad)
		}
	}
	if b2, _ := os.ReadFile(p); string(b2) != string(b) {
		t.Error("a refused path changed the file")
	}
}
