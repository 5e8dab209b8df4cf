package tmux

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/testenv"
)

// server starts a private tmux server for the test, as the test's own user.
func server(t *testing.T) (*Server, string) {
	t.Helper()
	bin := testenv.Tool(t, "tmux")
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	os.WriteFile(conf, []byte("set -g exit-empty off\nset -g remain-on-exit on\n"), 0o600)
	s := &Server{Bin: bin, Socket: filepath.Join(dir, "s"), Env: []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}}
	ctx := context.Background()
	if out, err := s.Command(ctx, "-f", conf, "start-server").CombinedOutput(); err != nil {
		t.Fatalf("start-server: %v: %s", err, out)
	}
	t.Cleanup(func() { s.KillServer(context.Background()) })
	return s, dir
}

// eventually polls cond for up to ten seconds: tmux works asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within ten seconds", what)
		}
	}
}

func TestSessionLifecycle(t *testing.T) {
	s, dir := server(t)
	ctx := context.Background()
	if pid, err := s.PID(ctx); err != nil || pid <= 0 {
		t.Fatalf("PID = %d, %v", pid, err)
	}
	log := filepath.Join(dir, "out.log")
	// The program prints at once: pipe-pane must already be in place.
	argv := []string{"/bin/sh", "-c", `printf 'first\n'; read line; printf 'got:%s\n' "$line"; exit 7`}
	work := filepath.Join(dir, "work#dir")
	os.Mkdir(work, 0o755)
	if err := s.NewSession(ctx, "s1", work, argv, "exec cat >> '"+log+"'"); err != nil {
		t.Fatal(err)
	}
	read := func() string { b, _ := os.ReadFile(log); return string(b) }
	if panes, err := s.Panes(ctx); err != nil || len(panes) != 1 || panes[0].Dead || panes[0].Exit != nil || panes[0].PID <= 0 {
		t.Fatalf("Panes while running = %+v, %v; want one live pane", panes, err)
	}
	eventually(t, "first output in the log", func() bool { return strings.Contains(read(), "first") })
	if err := s.Paste(ctx, "s1", "héllo; $HOME `x`", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "input echoed by the program", func() bool { return strings.Contains(read(), "got:héllo; $HOME `x`") })

	var pane Pane
	eventually(t, "pane dead", func() bool {
		panes, err := s.Panes(ctx)
		if err != nil || len(panes) != 1 {
			return false
		}
		pane = panes[0]
		return pane.Dead
	})
	// tmux may not know the status (see Pane.Exit); when it does, it is 7.
	if pane.Session != "s1" || pane.Exit != nil && *pane.Exit != 7 {
		t.Errorf("pane = %+v, want s1 dead (with status 7 if any)", pane)
	}
	if err := s.KillSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := s.KillSession(ctx, "s1"); !errors.Is(err, ErrNoSession) {
		t.Errorf("second KillSession: %v, want ErrNoSession", err)
	}
	if panes, err := s.Panes(ctx); err != nil || len(panes) != 0 {
		t.Errorf("Panes on an empty server = %v, %v; want none", panes, err)
	}
}

func TestExactTargets(t *testing.T) {
	s, dir := server(t)
	ctx := context.Background()
	if err := s.NewSession(ctx, "abc1", dir, []string{"/bin/sleep", "60"}, "cat > /dev/null"); err != nil {
		t.Fatal(err)
	}
	// "abc" is a prefix of a live session; tmux would match it without "=".
	if err := s.KillSession(ctx, "abc"); !errors.Is(err, ErrNoSession) {
		t.Errorf("KillSession(prefix) = %v, want ErrNoSession", err)
	}
	if err := s.Paste(ctx, "abc", "x", true); err == nil {
		t.Error("Paste to a prefix succeeded")
	}
}

func TestNoServer(t *testing.T) {
	bin := testenv.Tool(t, "tmux")
	s := &Server{Bin: bin, Socket: filepath.Join(t.TempDir(), "none")}
	if _, err := s.PID(context.Background()); !errors.Is(err, ErrNoServer) {
		t.Errorf("PID without a server = %v, want ErrNoServer", err)
	}
	missing := &Server{Bin: "/nonexistent/tmux", Socket: s.Socket}
	if _, err := missing.PID(context.Background()); err == nil || !strings.Contains(err.Error(), "/nonexistent/tmux") {
		t.Errorf("missing tmux = %v, want an error naming the program", err)
	}
}

// TestParsePanes reads list-panes answers as tmux 3.3 gives them.
func TestParsePanes(t *testing.T) {
	out := "live\t10\t0\t\t\n" + "exited\t11\t1\t7\t\n" + "killed\t12\t1\t\t15\n" + "unknown\t13\t1\t\t\n"
	panes, err := parsePanes(out)
	if err != nil || len(panes) != 4 {
		t.Fatalf("parsePanes = %+v, %v", panes, err)
	}
	want := []struct {
		dead bool
		exit int // -1: unknown
	}{{false, -1}, {true, 7}, {true, 143}, {true, -1}}
	for i, w := range want {
		p := panes[i]
		got := -1
		if p.Exit != nil {
			got = *p.Exit
		}
		if p.Dead != w.dead || got != w.exit || p.PID != 10+i {
			t.Errorf("%s: %+v (exit %d), want dead %v exit %d", p.Session, p, got, w.dead, w.exit)
		}
	}
	if _, err := parsePanes("a\tb\n"); err == nil {
		t.Error("a short line was accepted")
	}
}
