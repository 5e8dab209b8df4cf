// Package sessionhost runs each user's sessions as that user (docs/DESIGN.md, "Session hosts").
//
// Sessions never run as the service user: a session that did could open
// the database, read every transcript and rewrite the audit log. So every
// owner gets a host: a small process of ours (`teleclaude session-host`)
// running as the owner, which keeps the owner's tmux server and answers
// the daemon on a socket in RUN_DIR/users/<uid>/. That directory belongs
// to the daemon, mode 0700, and its ACL lets in the owner; the daemon and
// the host check each other's uid on every connection. The daemon never
// runs tmux against a user's server itself: a tmux server can make its
// clients open files, and run programs, with the client's credentials.
//
// The host is started one of two ways:
//   - systemd: the unit teleclaude-sessions@<uid>.service, started over
//     D-Bus (allowed by the package's polkit rule), outside the daemon's
//     sandbox, in its own cgroup, surviving daemon restarts;
//   - direct: the daemon starts it with the owner's credentials, when it
//     may switch users (root, or CAP_SETUID and CAP_SETGID), or as itself
//     in single-user mode, where the owner is the daemon's own user.
package sessionhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/acl"
	"github.com/instruktai/teleclaude/internal/fileown"
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

// UnitEnvFile, in the run directory, is the template unit's
// EnvironmentFile: the daemon's settings that the hosts it starts through
// systemd must share (sessions.tmux), since a unit start passes no
// arguments. The daemon writes it at each start.
const UnitEnvFile = "sessions.env"

// writeUnitEnv writes the unit's environment file. It is read by systemd
// (quotes and backslashes are syntax there), so a tmux path that would need
// them is refused rather than escaped.
func writeUnitEnv(path, tmuxBin string) error {
	bad := !utf8.ValidString(tmuxBin) || strings.ContainsAny(tmuxBin, "'\"\\$`") ||
		strings.ContainsFunc(tmuxBin, func(r rune) bool { return r < 0x20 || r == 0x7f })
	if bad {
		return fmt.Errorf("session host: the tmux program %q has a quote, backslash, $, control character or invalid UTF-8; the systemd unit cannot be given it", tmuxBin)
	}
	tmp := path + ".new"
	body := "# Written by the TeleClaude daemon at start: the settings of\n# teleclaude-sessions@.service. Edit sessions.* in config.yml instead.\nTELECLAUDE_TMUX='" + tmuxBin + "'\n"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return fmt.Errorf("session host: write the unit's settings: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // the umask may have narrowed it
		return fmt.Errorf("session host: write the unit's settings: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("session host: write the unit's settings: %w", err)
	}
	return nil
}

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
	// Kind is Systemd or Direct (Detect picks one for the machine).
	Kind Kind
	// DaemonUID is the daemon's own uid: an owner with it needs no switch.
	DaemonUID int
	// Self is this program, which runs as each owner's host.
	Self string
}

// Host starts and finds owners' hosts.
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

// New returns a Host. It checks what it can now (the tmux program, this
// program) so that a misconfiguration shows at start rather than at the
// first session.
func New(cfg Config) (*Host, error) {
	if !filepath.IsAbs(cfg.Tmux) {
		return nil, fmt.Errorf("session host: tmux program %q is not an absolute path", cfg.Tmux)
	}
	if !filepath.IsAbs(cfg.Self) {
		return nil, fmt.Errorf("session host: this program's path %q is not absolute", cfg.Self)
	}
	h := &Host{cfg: cfg}
	switch cfg.Kind {
	case Systemd:
		// The unit names the host's directory by this path.
		if cfg.RunDir != SystemdRunDir {
			return nil, fmt.Errorf("session host: systemd session units use %s, but the daemon's run directory is %s (unset TELECLAUDE_RUN_DIR, or set sessions.host: direct)", SystemdRunDir, cfg.RunDir)
		}
		if err := writeUnitEnv(filepath.Join(cfg.RunDir, UnitEnvFile), cfg.Tmux); err != nil {
			return nil, err
		}
		h.start = startUnit
	case Direct:
		h.start = startDirect
	default:
		return nil, fmt.Errorf("session host: unknown kind %q", cfg.Kind)
	}
	return h, nil
}

// Kind reports how hosts are started.
func (h *Host) Kind() Kind { return h.cfg.Kind }

// Dir is owner uid's directory: the host's socket, the tmux socket, and
// the files each session writes (output log, exit status).
func (h *Host) Dir(uid int) string {
	return filepath.Join(h.cfg.RunDir, "users", strconv.Itoa(uid))
}

// Client returns uid's host client; the host may or may not run.
func (h *Host) Client(uid int) *Client {
	return &Client{uid: uid, sock: filepath.Join(h.Dir(uid), "host.sock")}
}

// Ensure makes sure o's host runs and answers, starting it if needed.
func (h *Host) Ensure(ctx context.Context, o Owner) (*Client, error) {
	c := h.Client(o.UID)
	if err := c.Ping(ctx); err == nil {
		return c, nil
	} else if !errors.Is(err, ErrNoHost) {
		return nil, err
	}
	if err := h.prepare(o); err != nil {
		return nil, err
	}
	if err := h.start(ctx, h, o); err != nil {
		return nil, err
	}
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if last = c.Ping(ctx); last == nil {
			logrus.WithFields(logrus.Fields{"uid": o.UID, "user": o.Username, "host": h.cfg.Kind}).Info("session host started")
			return c, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("the session host of %s (uid %d) did not answer within 10s: %w", o.Username, o.UID, last)
}

// prepare makes run/users/<uid>/. It belongs to the daemon, mode 0700,
// with an ACL that lets the owner in; what the owner's host creates inside
// gets, by the default ACL, the owner and the daemon and nobody else. No
// one but the daemon may write in run/users/, so nobody can put anything
// in the way of these calls.
func (h *Host) prepare(o Owner) error {
	if err := mkdir(filepath.Join(h.cfg.RunDir, "users"), 0o711); err != nil {
		return err
	}
	dir := h.Dir(o.UID)
	if err := mkdir(dir, 0o700); err != nil {
		return err
	}
	if o.UID == h.cfg.DaemonUID {
		return nil // single-user: everything is the daemon's own user's
	}
	if err := acl.Set(dir, acl.Spec{Owner: acl.RWX, Users: []acl.Grant{{UID: o.UID, Perm: acl.RWX}}}); err != nil {
		return fmt.Errorf("session host: %w (each user's directory is kept private with an ACL; put the run directory on a file system with ACLs, such as tmpfs or ext4)", err)
	}
	def := acl.Spec{Owner: acl.RWX, Users: []acl.Grant{{UID: o.UID, Perm: acl.RWX}, {UID: h.cfg.DaemonUID, Perm: acl.RWX}}}
	if err := acl.SetDefault(dir, def); err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	return nil
}

func mkdir(dir string, mode os.FileMode) error {
	if err := fileown.PrivateDir(dir, mode); err != nil {
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
