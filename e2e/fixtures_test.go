//go:build linux

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sharedDir makes a directory every test user may enter, removed when t
// ends.
func sharedDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp(shared, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

// listenNotify listens where systemd would (NOTIFY_SOCKET) and returns that
// path and a function that waits for the next notification.
func listenNotify(t *testing.T) (string, func() string) {
	t.Helper()
	path := filepath.Join(sharedDir(t, "n-"), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	os.Chmod(path, 0o666)
	return path, func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
}
