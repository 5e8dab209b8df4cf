// Package sessionhost runs each user's tmux server, as that user (SPEC §4).
//
// Sessions never run as the service user: a session that did could open
// the database, read every transcript and rewrite the audit log. So every
// owner gets one tmux server running under their own uid, with its socket
// in run/users/<uid>/, a directory that only the owner and the daemon may
// enter (a POSIX ACL says so), and tmux's own server-access list admitting
// the daemon's user.
//
// The server is started one of three ways:
//   - systemd: the unit teleclaude-sessions@<uid>.service, started over
//     D-Bus (allowed by the package's polkit rule), outside the daemon's
//     sandbox, in its own cgroup, surviving daemon restarts;
//   - direct: the daemon starts tmux itself with the owner's credentials,
//     when it may switch users (root, or CAP_SETUID and CAP_SETGID);
//   - the daemon's own user (single-user mode): no switching at all.
package sessionhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/acl"
	"github.com/instruktai/teleclaude/internal/tmux"
	"github.com/sirupsen/logrus"
)

// Kind says how servers are started.
type Kind string

const (
	Systemd Kind = "systemd"
	Direct  Kind = "direct"
)

// UnitPrefix names the systemd template; the instance is the owner's uid.
const UnitPrefix = "teleclaude-sessions@"

// SystemdRunDir is the run directory the template unit expects.
const SystemdRunDir = "/run/teleclaude"

// unitDirs are where the package installs the template unit.
var unitDirs = []string{"/usr/lib/systemd/system", "/lib/systemd/system", "/etc/systemd/system", "/run/systemd/system"}

// Owner is the OS account a session belongs to and runs as.
type Owner struct {
	UID, GID int
	Groups   []int // supplementary groups
	Username string
	Home     string
	Shell    string
}

// Config says where and how to host sessions.
type Config struct {
	RunDir string // the daemon's run directory; servers live in RunDir/users/<uid>
	Tmux   string // the tmux program, absolute
	// Kind is Systemd or Direct; Auto picks (see Detect).
	Kind Kind
	// DaemonUID and DaemonUser are the daemon's own account: tmux's
	// server-access list admits it, and owners equal to it need no switch.
	DaemonUID  int
	DaemonUser string
}

// Host starts and finds owners' tmux servers.
type Host struct {
	cfg   Config
	start func(ctx context.Context, h *Host, o Owner) error
}

// ErrCannotSwitch: the daemon may not run programs as another user here.
var ErrCannotSwitch = errors.New("the daemon cannot start programs as other users")

// Detect picks Systemd when systemd is running and the template unit is
// installed, Direct otherwise.
func Detect() Kind {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return Direct
	}
	for _, d := range unitDirs {
		if _, err := os.Stat(filepath.Join(d, UnitPrefix+".service")); err == nil {
			return Systemd
		}
	}
	return Direct
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$`)

// New returns a Host. It checks what it can now (the tmux program, the
// daemon's account name) so that a misconfiguration shows at start rather
// than at the first session.
func New(cfg Config) (*Host, error) {
	if !filepath.IsAbs(cfg.Tmux) {
		return nil, fmt.Errorf("session host: tmux program %q is not an absolute path", cfg.Tmux)
	}
	if !userName.MatchString(cfg.DaemonUser) {
		return nil, fmt.Errorf("session host: the daemon's account name %q cannot go into tmux's access list", cfg.DaemonUser)
	}
	h := &Host{cfg: cfg}
	switch cfg.Kind {
	case Systemd:
		// The unit names its socket and config by this path.
		if cfg.RunDir != SystemdRunDir {
			return nil, fmt.Errorf("session host: systemd session units use %s, but the daemon's run directory is %s (unset TELECLAUDE_RUN_DIR, or set sessions.host: direct)", SystemdRunDir, cfg.RunDir)
		}
		h.start = startUnit
	case Direct:
		h.start = startDirect
	default:
		return nil, fmt.Errorf("session host: unknown kind %q", cfg.Kind)
	}
	return h, nil
}

// Kind reports how this host starts servers.
func (h *Host) Kind() Kind { return h.cfg.Kind }

// Dir is owner uid's directory: the tmux socket and config, and the files
// the daemon hands to or takes from that user's sessions.
func (h *Host) Dir(uid int) string {
	return filepath.Join(h.cfg.RunDir, "users", strconv.Itoa(uid))
}

// Server returns uid's tmux server, which may or may not be running.
func (h *Host) Server(uid int) *tmux.Server {
	return &tmux.Server{Bin: h.cfg.Tmux, Socket: filepath.Join(h.Dir(uid), "tmux.sock"), Env: clientEnv()}
}

// clientEnv is the environment of the daemon's tmux client processes: the
// daemon's own environment (NOTIFY_SOCKET, secrets in TELECLAUDE_*) must
// not reach tmux, which would copy parts of it into sessions.
func clientEnv() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
}

// Ensure makes sure o's tmux server runs and answers the daemon, starting
// it if needed, and returns it.
func (h *Host) Ensure(ctx context.Context, o Owner) (*tmux.Server, error) {
	srv := h.Server(o.UID)
	if _, err := srv.PID(ctx); err == nil {
		return srv, nil
	} else if !errors.Is(err, tmux.ErrNoServer) {
		return nil, fmt.Errorf("tmux server of uid %d: %w", o.UID, err)
	}
	if err := h.prepare(o); err != nil {
		return nil, err
	}
	if err := h.start(ctx, h, o); err != nil {
		return nil, err
	}
	// The server creates its socket, then (tmux.conf) opens it to the
	// daemon; wait until it answers.
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if _, last = srv.PID(ctx); last == nil {
			logrus.WithFields(logrus.Fields{"uid": o.UID, "user": o.Username, "host": h.cfg.Kind}).Info("tmux server started")
			return srv, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("the tmux server of %s (uid %d) did not answer within 10s: %w", o.Username, o.UID, last)
}

// prepare makes run/users/<uid>/ and its tmux.conf. The directory belongs to
// the daemon, mode 0700, and its ACL lets the owner in; files created inside
// (the tmux socket) inherit a default ACL granting both.
func (h *Host) prepare(o Owner) error {
	users := filepath.Join(h.cfg.RunDir, "users")
	if err := mkdir(users, 0o711); err != nil {
		return err
	}
	dir := h.Dir(o.UID)
	if err := mkdir(dir, 0o700); err != nil {
		return err
	}
	shared := o.UID != h.cfg.DaemonUID
	if shared {
		if err := acl.Set(dir, acl.Spec{Owner: acl.RWX, Users: []acl.Grant{{UID: o.UID, Perm: acl.RWX}}}); err != nil {
			return fmt.Errorf("session host: %w (each user's tmux socket is kept private with an ACL; put the run directory on a file system with ACLs, such as tmpfs or ext4)", err)
		}
		def := acl.Spec{Owner: acl.RWX, Users: []acl.Grant{{UID: o.UID, Perm: acl.RWX}, {UID: h.cfg.DaemonUID, Perm: acl.RWX}}}
		if err := acl.SetDefault(dir, def); err != nil {
			return fmt.Errorf("session host: %w", err)
		}
	}
	conf := filepath.Join(dir, "tmux.conf")
	if err := writeFile(conf, []byte(h.tmuxConf(shared)), 0o600); err != nil {
		return err
	}
	if shared {
		return GrantRead(conf, o.UID)
	}
	return nil
}

// tmuxConf is the server's configuration. shared: the server belongs to
// someone other than the daemon, which must be let in.
func (h *Host) tmuxConf(shared bool) string {
	var b strings.Builder
	b.WriteString(`# Written by teleclaude at each start of this tmux server.
# The server outlives the sessions in it; dead panes stay until the daemon
# has read their exit status and last output.
set -g exit-empty off
set -g remain-on-exit on
set -g default-size 200x50
set -g history-limit 50000
`)
	if shared {
		fmt.Fprintf(&b, `# The daemon's user may drive this server.
server-access -a %s
# tmux creates its socket owner-only; the group bits become the ACL mask,
# which lets the daemon's ACL entry take effect (the owning group itself
# has no entry).
run-shell 'chmod g+rw "#{socket_path}"'
`, h.cfg.DaemonUser)
	}
	return b.String()
}

// GrantRead lets uid read a file in its directory that the daemon wrote.
func GrantRead(path string, uid int) error {
	return acl.Set(path, acl.Spec{Owner: acl.RW, Users: []acl.Grant{{UID: uid, Perm: acl.Read}}})
}

// GrantWrite lets uid append to a file in its directory that the daemon
// created (a pane's output log).
func GrantWrite(path string, uid int) error {
	return acl.Set(path, acl.Spec{Owner: acl.RW, Users: []acl.Grant{{UID: uid, Perm: acl.RW}}})
}

func mkdir(dir string, mode os.FileMode) error {
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("session host: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("session host: %s is not a directory", dir)
	}
	if uid, ok := ownerOf(st); ok && uid != os.Getuid() {
		return fmt.Errorf("session host: %s belongs to uid %d, not to the daemon (uid %d); remove it", dir, uid, os.Getuid())
	}
	if st.Mode().Perm() != mode {
		if err := os.Chmod(dir, mode); err != nil {
			return fmt.Errorf("session host: %w", err)
		}
	}
	return nil
}

// writeFile replaces path atomically.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("session host: write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("session host: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	return nil
}

// ownerEnv is the environment a tmux server starts with: the owner's
// basics, nothing of the daemon's.
func ownerEnv(o Owner) []string {
	shell := o.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	return []string{
		"HOME=" + o.Home, "USER=" + o.Username, "LOGNAME=" + o.Username, "SHELL=" + shell,
		"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
	}
}
