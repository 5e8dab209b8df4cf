package peercred

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestOwnProcess connects to itself over a real socket; it runs on every
// platform with an implementation (Linux and macOS).
func TestOwnProcess(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := Get(srv)
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != os.Getuid() || c.GID != os.Getgid() || c.PID != os.Getpid() {
		t.Errorf("Get = %+v, want uid %d gid %d pid %d", c, os.Getuid(), os.Getgid(), os.Getpid())
	}
}

// TestOtherUser has a child process connect as another uid (needs root) and
// checks that the kernel, not the child, says who it is.
func TestOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	// t.TempDir's parent is private to root; other uids need a way in.
	dir, err := os.MkdirTemp("", "peercred-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.Chmod(sock, 0o666)

	// The test binary re-executes itself as uid 65534 to dial the socket;
	// its build directory is private, so run a copy from dir.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperDial$")
	cmd.Env = append(os.Environ(), "PEERCRED_HELPER_SOCK="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := Get(srv)
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != 65534 || c.PID != cmd.Process.Pid {
		t.Errorf("Get = %+v, want uid 65534 pid %d", c, cmd.Process.Pid)
	}
}

func TestHelperDial(t *testing.T) {
	sock := os.Getenv("PEERCRED_HELPER_SOCK")
	if sock == "" {
		t.Skip("helper process only")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	// Claim to be root in the payload; the server must not care.
	c.Write([]byte("uid=0 " + strconv.Itoa(os.Getuid())))
	buf := make([]byte, 1)
	c.Read(buf)
}

func TestNotASocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := Get(a); err == nil {
		t.Error("Get(pipe) succeeded, want error")
	}
}
