//go:build linux

package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNotify listens where systemd would (NOTIFY_SOCKET) and checks that
// READY=1 comes only once the socket accepts, and STOPPING=1 on SIGTERM.
func TestNotify(t *testing.T) {
	requireRoot(t)
	path, next := listenNotify(t)
	d := startDaemon(t, daemonOpts{noWait: true, extraEnv: []string{"NOTIFY_SOCKET=" + path}})
	if msg := next(); msg != "READY=1" {
		t.Fatalf("first notification = %q, want READY=1", msg)
	}
	// READY=1 promises a socket that accepts and a migrated database.
	c, err := net.Dial("unix", d.socket)
	if err != nil {
		t.Fatalf("READY=1 sent but the socket does not accept: %v", err)
	}
	c.Close()
	if msg := next(); !strings.HasPrefix(msg, "STATUS=serving on ") {
		t.Errorf("second notification = %q, want STATUS=serving on …", msg)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	if msg := next(); msg != "STOPPING=1" {
		t.Errorf("after SIGTERM: %q, want STOPPING=1", msg)
	}
	if code := d.exited(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestSocketActivation has systemd-socket-activate (systemd's own tool for
// what teleclaude.socket does) hold the socket and start the daemon on the
// first connection; the daemon must serve on the inherited descriptor.
func TestSocketActivation(t *testing.T) {
	requireRoot(t)
	activate := tool(t, "systemd-socket-activate")
	dir, _ := os.MkdirTemp(shared, "a-")
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, sub := range []string{"etc", "data", "run"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "etc", "config.yml"), []byte(strings.ReplaceAll(strings.Replace(stdConfig, "socket: {group: tce-sock, mode: \"0660\"}\n", "", 1), "PROJECTS", dir)), 0o644)
	sock := filepath.Join(dir, "run", "act.sock")
	env := []string{"TELECLAUDE_SYSTEM_MODE=1", "TELECLAUDE_CONFIG_DIR=" + filepath.Join(dir, "etc"),
		"TELECLAUDE_DATA_DIR=" + filepath.Join(dir, "data"), "TELECLAUDE_RUN_DIR=" + filepath.Join(dir, "run"), "TELECLAUDE_SOCKET=" + sock}
	args := []string{"-l", sock}
	for _, e := range env {
		args = append(args, "-E", e)
	}
	cmd := exec.Command(activate, append(args, teleBin, "serve")...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	// The first connection starts the daemon; telec's request is answered by it.
	r := run(t, nil, []string{"TELECLAUDE_SOCKET=" + sock}, telecBin, "status", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"mode": "system"`) {
		t.Fatalf("status through the activated socket: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The log travels through a pipe and may trail the answer.
	waitFor(t, func() bool { return strings.Contains(log.String(), "using the socket passed by systemd") })
}
