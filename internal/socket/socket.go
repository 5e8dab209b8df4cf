// Package socket creates the daemon's Unix listening socket so that it is
// never connectable with looser permissions than intended, never steals the
// socket of a live daemon, and honours systemd socket activation.
package socket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/osuser"
)

// Options says where and how to listen.
type Options struct {
	Path  string
	Mode  os.FileMode // permission bits for the socket file
	Group string      // group to own the socket; "" keeps the daemon's group
}

// ErrInUse is returned when a live daemon already answers on the path.
var ErrInUse = errors.New("another daemon is already listening")

// Listen binds opts.Path. The socket is created inside a fresh 0700 directory
// next to its final place, given its mode and group there, and only then
// renamed into place: at no moment can anyone connect to it with looser
// permissions, and the process umask is left alone.
func Listen(opts Options) (*Listener, error) {
	path := opts.Path
	if max := maxPathLen(); len(path) > max {
		return nil, fmt.Errorf("socket path %s is %d bytes; Unix sockets allow at most %d: choose a shorter path (TELECLAUDE_SOCKET or TELECLAUDE_RUN_DIR)", path, len(path), max)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("socket directory %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("socket directory %s is not a directory", dir)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	gid := -1
	if opts.Group != "" {
		g, err := osuser.LookupGroup(opts.Group)
		if err != nil {
			return nil, fmt.Errorf("socket group %q: %w (create it, or set socket.group)", opts.Group, err)
		}
		gid = g
	}

	tmpDir, err := os.MkdirTemp(dir, ".teleclaude-sock-")
	if err != nil {
		return nil, fmt.Errorf("create socket: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The listener must not unlink the temporary name on Close; Close
	// removes the final path itself, below.
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*Listener, error) {
		ln.Close()
		return nil, err
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil {
			return fail(fmt.Errorf("give socket to group %s: %w", opts.Group, err))
		}
	}
	if err := os.Chmod(tmp, opts.Mode.Perm()); err != nil {
		return fail(fmt.Errorf("chmod socket: %w", err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("move socket into place at %s: %w", path, err))
	}
	st, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("socket %s vanished after creation: %w", path, err))
	}
	return &Listener{UnixListener: ln, path: path, installed: st}, nil
}

// removeStale deletes a socket left by a daemon that died, but only after a
// dial proves nobody answers: removing a live daemon's socket would strand it.
func removeStale(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket path %s: %w", path, err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; move it away or choose another socket path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: %w", path, ErrInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// EACCES and the like: we cannot tell whether it is live, so leave it.
		return fmt.Errorf("socket %s exists and cannot be checked: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// Listener is the daemon's socket. Closing it removes the socket file, but
// only if that file is still the one this listener installed: a newer daemon
// may have replaced it.
type Listener struct {
	*net.UnixListener
	path      string
	installed os.FileInfo
}

// Close stops listening and removes the socket file this listener created.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	if l.installed != nil {
		if st, serr := os.Lstat(l.path); serr == nil && os.SameFile(st, l.installed) {
			os.Remove(l.path)
		}
	}
	return err
}

// EnsurePrivateDir creates dir (and parents) for a single-user socket and
// insists it is owned by us with mode 0700, so no other user can squat or
// reach the socket inside.
func EnsurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	if err := fileown.PrivateDir(dir, 0o700); err != nil {
		return fmt.Errorf("run directory: %w (or set TELECLAUDE_RUN_DIR)", err)
	}
	return nil
}
