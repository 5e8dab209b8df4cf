package socket

import (
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestListenModeAndCleanup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.sock")
	ln, err := Listen(Options{Path: path, Mode: 0o660})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, want socket 0660", st.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the socket (temporary dir left behind?)", len(entries))
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still present after Close: %v", err)
	}
}

func TestListenGroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skip("no nogroup group")
	}
	path := filepath.Join(t.TempDir(), "g.sock")
	ln, err := Listen(Options{Path: path, Mode: 0o660, Group: "nogroup"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, _ := os.Lstat(path)
	if gid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Gid)); gid != g.Gid {
		t.Errorf("socket gid = %s, want %s (nogroup)", gid, g.Gid)
	}
	if _, err := Listen(Options{Path: filepath.Join(t.TempDir(), "x.sock"), Mode: 0o660, Group: "no-such-group-tc"}); err == nil ||
		!strings.Contains(err.Error(), `socket group "no-such-group-tc"`) {
		t.Errorf("unknown group: err = %v", err)
	}
}

func TestStaleSocketRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	// A socket file nobody listens on, as a killed daemon leaves behind.
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()
	ln, err := Listen(Options{Path: path, Mode: 0o600})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
}

func TestLiveSocketKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	live, err := Listen(Options{Path: path, Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	_, err = Listen(Options{Path: path, Mode: 0o600})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen: err = %v, want ErrInUse", err)
	}
	if c, err := net.Dial("unix", path); err != nil {
		t.Errorf("the live daemon's socket was disturbed: %v", err)
	} else {
		c.Close()
	}
}

func TestBadPaths(t *testing.T) {
	dir := t.TempDir()
	notSock := filepath.Join(dir, "file")
	os.WriteFile(notSock, []byte("keep me"), 0o600)
	tests := []struct {
		name, path, want string
	}{
		{"too long", filepath.Join(dir, strings.Repeat("x", 120)), "Unix sockets allow at most"},
		{"missing directory", filepath.Join(dir, "nope", "s.sock"), "socket directory"},
		{"regular file in the way", notSock, "is not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Listen(Options{Path: tt.path, Mode: 0o600})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(notSock); string(b) != "keep me" {
		t.Error("the regular file in the way was changed")
	}
}

func TestCloseKeepsReplacement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	first, err := Listen(Options{Path: path, Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	// Someone replaced the socket file (a newer daemon after a stale check).
	os.Remove(path)
	second, err := Listen(Options{Path: path, Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	first.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("closing the old listener removed the new socket: %v", err)
	}
}

func TestEnsurePrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "run")
	if err := EnsurePrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if err := EnsurePrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("mode = %v, want 0700", st.Mode().Perm())
	}
	if os.Getuid() == 0 {
		squat := filepath.Join(t.TempDir(), "squat")
		os.Mkdir(squat, 0o700)
		os.Chown(squat, 65534, 65534)
		if err := EnsurePrivateDir(squat); err == nil || !strings.Contains(err.Error(), "squatting") {
			t.Errorf("directory owned by another uid: err = %v", err)
		}
	}
}
