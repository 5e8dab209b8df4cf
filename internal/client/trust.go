package client

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/peercred"
)

// Expect says who may serve the socket telec talks to. A directory that
// anyone could create first (/tmp/teleclaude-UID, when there is no
// XDG_RUNTIME_DIR) must not let someone else stand in for the daemon: what
// telec sends (input for a session) and runs (tmux, for attach) would then
// be theirs to choose (docs/DESIGN.md, "Threat model").
type Expect int

const (
	// ExpectSelf: a single-user daemon, run by the caller.
	ExpectSelf Expect = iota
	// ExpectService: the system daemon, run by the service user (or a
	// socket made by root's service manager).
	ExpectService
	// ExpectDirOwner: a socket path the caller named (--socket,
	// TELECLAUDE_SOCKET, TELECLAUDE_RUN_DIR): whoever owns its directory.
	ExpectDirOwner
)

// TrustError says why telec will not talk to what is at the socket.
type TrustError struct {
	Cause, Fix string
}

func (e *TrustError) Error() string { return e.Cause }

func uidName(uid int) string {
	if u, err := osuser.LookupID(uid); err == nil {
		return fmt.Sprintf("uid %d (%s)", uid, u.Name)
	}
	return fmt.Sprintf("uid %d", uid)
}

// trusted returns the uids that may own the socket's directory and serve
// on the socket. Root may always: it could be anyone anyway, and a service
// manager's socket (systemd's socket activation) reports root as its peer.
func (c *Client) trusted(dirOwner int) []int {
	switch c.Expect {
	case ExpectService:
		if u, err := osuser.Lookup(layout.ServiceUser(c.goos)); err == nil {
			return []int{0, u.UID}
		}
		return []int{0}
	case ExpectDirOwner:
		return []int{0, dirOwner}
	default:
		return []int{0, os.Getuid()}
	}
}

func (c *Client) who() string {
	switch c.Expect {
	case ExpectService:
		return "the service user " + layout.ServiceUser(c.goos)
	case ExpectDirOwner:
		return "the directory's owner"
	default:
		return fmt.Sprintf("you (uid %d)", os.Getuid())
	}
}

func contains(uids []int, uid int) bool {
	for _, u := range uids {
		if u == uid {
			return true
		}
	}
	return false
}

// CheckDir checks the socket's directory before anything is sent: it must
// be a real directory, owned by whoever is expected, and writable by its
// owner alone. A missing directory passes: the dial then fails as it
// should. It returns the directory's owner.
func (c *Client) CheckDir() (int, error) {
	dir := filepath.Dir(c.Socket)
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return -1, nil // the dial says what is wrong (permission, say)
	}
	own, ok := fileown.Of(st)
	if !ok {
		return -1, &TrustError{Cause: fmt.Sprintf("cannot tell who owns %s", dir), Fix: "use a socket in a directory of a local file system"}
	}
	owner := own.UID
	if st.Mode()&fs.ModeSymlink != 0 || !st.IsDir() {
		return owner, &TrustError{
			Cause: fmt.Sprintf("the socket's directory %s is a symbolic link or not a directory (made by %s); refusing to talk to whatever answers there", dir, uidName(owner)),
			Fix:   c.squatFix(dir),
		}
	}
	if !contains(c.trusted(owner), owner) {
		return owner, &TrustError{
			Cause: fmt.Sprintf("the socket's directory %s belongs to %s, not to %s: someone else may be pretending to be the daemon; nothing was sent", dir, uidName(owner), c.who()),
			Fix:   c.squatFix(dir),
		}
	}
	if st.Mode().Perm()&0o022 != 0 {
		return owner, &TrustError{
			Cause: fmt.Sprintf("the socket's directory %s is writable by others (mode %04o): anyone could replace the socket; nothing was sent", dir, st.Mode().Perm()),
			Fix:   fmt.Sprintf("have its owner run `chmod go-w %s`", dir),
		}
	}
	return owner, nil
}

func (c *Client) squatFix(dir string) string {
	if c.Expect == ExpectSelf && strings.HasPrefix(dir, os.TempDir()) {
		return fmt.Sprintf("ask an admin to remove %s; meanwhile set XDG_RUNTIME_DIR to a directory of your own (or TELECLAUDE_SOCKET)", dir)
	}
	return fmt.Sprintf("ask an admin to check %s, or set TELECLAUDE_SOCKET / --socket to the daemon's real socket", dir)
}

// checkPeer checks who listens on conn: the kernel's word, as of the
// listen() call.
func (c *Client) checkPeer(conn net.Conn, dirOwner int) error {
	creds, err := peercred.Get(conn)
	if errors.Is(err, peercred.ErrNotSupported) {
		return nil // the directory check stands alone there
	}
	if err != nil {
		return &TrustError{Cause: fmt.Sprintf("cannot tell who serves %s: %v", c.Socket, err), Fix: "check the socket path (--socket or TELECLAUDE_SOCKET)"}
	}
	if !contains(c.trusted(dirOwner), creds.UID) {
		return &TrustError{
			Cause: fmt.Sprintf("the socket %s is served by %s, not by %s: someone else may be pretending to be the daemon; nothing was sent", c.Socket, uidName(creds.UID), c.who()),
			Fix:   c.squatFix(filepath.Dir(c.Socket)),
		}
	}
	return nil
}

// CheckAttach checks the tmux socket an attach answer names before telec
// runs tmux on it: it must lie inside the daemon's checked socket
// directory, reached without symbolic links, and belong to the caller
// (sessions run as their owners, so does their tmux server).
func (c *Client) CheckAttach(tmuxSocket string) error {
	if _, err := c.CheckDir(); err != nil {
		return err
	}
	dir := filepath.Clean(filepath.Dir(c.Socket))
	p := filepath.Clean(tmuxSocket)
	rel, err := filepath.Rel(dir, p)
	if !filepath.IsAbs(tmuxSocket) || err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return &TrustError{Cause: fmt.Sprintf("the daemon named tmux socket %q, outside its own directory %s; not running tmux on it", tmuxSocket, dir), Fix: "report this to an admin"}
	}
	cur := dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		if err != nil {
			return &TrustError{Cause: fmt.Sprintf("tmux socket %s: %v", tmuxSocket, err), Fix: "is the session still running? (telec sessions show ID)"}
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return &TrustError{Cause: fmt.Sprintf("tmux socket %s: %s is a symbolic link; not running tmux on it", tmuxSocket, cur), Fix: "report this to an admin"}
		}
	}
	st, _ := os.Lstat(p)
	if own, ok := fileown.Of(st); !ok || own.UID != os.Getuid() || st.Mode()&fs.ModeSocket == 0 {
		return &TrustError{Cause: fmt.Sprintf("tmux socket %s is not a socket of yours; not running tmux on it", tmuxSocket), Fix: "attach works for your own sessions only"}
	}
	return nil
}
