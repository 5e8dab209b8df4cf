// Package doctor examines a TeleClaude installation the way a careful admin
// would, one check at a time: mode, service user and group, directories and
// files with their owners and modes, the secrets' permissions, the config,
// the socket, the database, and whether the caller is in the socket's group
// in this very login session. Each check is PASS, WARN or FAIL, and every
// WARN and FAIL says how to fix it.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/client"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/store"
)

// Status is a check's verdict.
type Status string

const (
	Pass Status = "PASS"
	Warn Status = "WARN" // works, but should be fixed
	Fail Status = "FAIL" // does not work, or is unsafe
)

// Check is one thing examined.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check, in order; OK when none failed.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Find returns the check called name.
func (r Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Setup is what doctor examines, and who asks.
type Setup struct {
	Paths    layout.Paths
	Decision layout.Decision
	// ServiceUser is the system daemon's account.
	ServiceUser string
	// Socket overrides the daemon's socket ("" for the config's).
	Socket string
	Getenv config.Getenv
	Caller Caller
	// Database checks the database as the daemon's user; it is asked when
	// the daemon does not answer for it.
	Database func(ctx context.Context) Check
}

// Caller is who runs doctor.
type Caller struct {
	UID  int
	Name string
	// Session is the groups of this process: what the login session has,
	// whatever the group database says now.
	Session []int
}

// CurrentCaller describes this process.
func CurrentCaller() Caller {
	c := Caller{UID: os.Getuid(), Name: osuser.UserName(os.Getuid())}
	gids, _ := os.Getgroups()
	c.Session = append(gids, os.Getgid())
	return c
}

// account is an OS user with its groups.
type account struct {
	name  string
	uid   int
	gid   int
	gids  []int
	group string // the primary group's name
	// directory: from a directory service (NSS), not /etc/passwd
	directory bool
}

func lookupAccount(name string) (*account, error) {
	u, err := osuser.Lookup(name)
	if err != nil {
		return nil, err
	}
	gids, err := osuser.GroupIDs(u)
	if err != nil {
		return nil, err
	}
	return &account{name: u.Name, uid: u.UID, gid: u.GID, gids: gids, group: osuser.GroupName(u.GID), directory: u.Directory}, nil
}

var root = &account{name: "root", uid: 0, gid: 0, gids: []int{0}, group: layout.RootGroup(runtime.GOOS)}

// Run examines everything and reports.
func Run(ctx context.Context, s Setup) Report {
	var r Report
	add := func(cs ...Check) { r.Checks = append(r.Checks, cs...) }
	system := s.Paths.Mode == layout.System
	add(Check{Name: "mode", Status: Pass, Detail: fmt.Sprintf("%s (%s)", s.Paths.Mode, s.Decision.Reason)})

	var daemon *account
	if system {
		// The secrets belong to the service user doctor was told of.
		s.Paths.ServiceUser = s.ServiceUser
		var c Check
		daemon, c = serviceUser(s.ServiceUser)
		add(c)
	} else if a, err := lookupAccount(s.Caller.Name); err == nil {
		daemon = a
	}

	cfg, c := loadConfig(s)
	add(c)
	group := ""
	if system {
		group = s.ServiceUser
		if cfg != nil && cfg.Socket.Group != "" {
			group = cfg.Socket.Group
		}
		add(groupExists(group))
		if cfg != nil {
			add(people(cfg, group), projects(cfg))
		}
	}
	if daemon != nil {
		add(files(s, cfg, daemon)...)
	}

	sock := s.Paths.Socket
	if cfg != nil {
		sock = cfg.Socket.Path
	}
	if s.Socket != "" {
		sock = s.Socket
	}
	sc, dc := socketAndDatabase(ctx, sock, system, group)
	add(sc)
	if dc == nil && s.Database != nil {
		d := s.Database(ctx)
		dc = &d
	}
	if dc != nil {
		add(*dc)
	}
	if system {
		add(membership(group, s.Caller, daemon)...)
	}

	r.OK = true
	for _, c := range r.Checks {
		if c.Status == Fail {
			r.OK = false
		}
	}
	return r
}

func serviceUser(name string) (*account, Check) {
	a, err := lookupAccount(name)
	if err != nil {
		fix := "sudo useradd --system --user-group --home-dir /var/lib/teleclaude --shell /usr/sbin/nologin " + name + " (the package does this)"
		if runtime.GOOS == "darwin" {
			fix = "reinstall the TeleClaude package: its installer creates " + name
		}
		return nil, Check{Name: "service user", Status: Fail, Detail: fmt.Sprintf("no OS user %s: the daemon has no account to run as", name), Fix: fix}
	}
	return a, Check{Name: "service user", Status: Pass, Detail: fmt.Sprintf("%s (uid %d, group %s)", a.name, a.uid, a.group)}
}

func groupExists(name string) Check {
	g, err := user.LookupGroup(name)
	if err != nil {
		fix := "sudo groupadd --system " + name + " (the package does this)"
		if runtime.GOOS == "darwin" {
			fix = "reinstall the TeleClaude package: its installer creates " + name
		}
		return Check{Name: "socket group", Status: Fail, Detail: fmt.Sprintf("no group %s: nobody can be given access to the socket", name), Fix: fix}
	}
	return Check{Name: "socket group", Status: Pass, Detail: fmt.Sprintf("%s (gid %s)", g.Name, g.Gid)}
}

// loadConfig loads the config as the daemon would. A caller who may not read
// the secrets (anyone but root and the daemon's user, by design) checks the
// config without them; the secrets' own check says the rest.
func loadConfig(s Setup) (*config.Config, Check) {
	p := s.Paths
	partial := ""
	if f, err := os.Open(p.SecretsFile); os.IsPermission(err) {
		p.SecretsFile = ""
		partial = fmt.Sprintf(" (without the secrets, which uid %d may not read)", s.Caller.UID)
	} else if err == nil {
		f.Close()
	}
	cfg, err := config.Load(p, s.Getenv)
	if err != nil {
		return nil, Check{Name: "config", Status: Fail, Detail: err.Error() + partial,
			Fix: "correct the lines named above; `teleclaude config check` lists every problem, then reload: sudo systemctl reload teleclaude"}
	}
	detail := fmt.Sprintf("%s: %d people, %d projects, %d agents%s", describeFile(cfg.File, p.ConfigFile), len(cfg.People), len(cfg.Projects), len(cfg.Agents), partial)
	if len(cfg.Warnings) > 0 {
		return cfg, Check{Name: "config", Status: Warn, Detail: detail + "; " + strings.Join(cfg.Warnings, "; "), Fix: "see the warnings"}
	}
	if partial != "" {
		return cfg, Check{Name: "config", Status: Warn, Detail: detail, Fix: "run doctor as root to check the secrets too: sudo teleclaude doctor"}
	}
	return cfg, Check{Name: "config", Status: Pass, Detail: detail}
}

func describeFile(file, wanted string) string {
	if file == "" {
		return "no file at " + wanted + " (defaults)"
	}
	return file
}

// expect is what one path must look like.
type expect struct {
	name     string
	path     string
	dir      bool
	optional bool
	owner    *account
	// rootMayOwn: root as the owner is no failure either (the mode then
	// says whether the owner's the only one who can read it).
	rootMayOwn bool
	group      *account // the fix gives it this account's primary group (nil: the owner's)
	readBy     *account // this account must be able to read it
	private    Status   // what it costs when its group or others may open it ("" = nothing)
	mode       os.FileMode
}

// files lists the paths of the mode's layout with what each must look like,
// and checks them.
func files(s Setup, cfg *config.Config, daemon *account) []Check {
	p := s.Paths
	var want []expect
	if p.Mode == layout.System {
		want = []expect{
			{name: "config directory", path: filepath.Dir(p.ConfigFile), dir: true, owner: root, mode: 0o755},
			{name: "config file", path: p.ConfigFile, optional: true, owner: root, readBy: daemon, mode: 0o644},
			// The service user's alone: its group is the socket's, which
			// every user of the daemon is in.
			{name: "secrets", path: p.SecretsFile, optional: true, owner: daemon, rootMayOwn: true, group: root, readBy: daemon, private: Warn, mode: 0o600},
			{name: "data directory", path: p.DataDir, dir: true, owner: daemon, mode: 0o750},
			{name: "run directory", path: p.RunDir, dir: true, owner: daemon, mode: 0o755},
			{name: "log directory", path: p.LogDir, dir: true, optional: runtime.GOOS != "darwin", owner: daemon, mode: 0o750},
			{name: "shared docs directory", path: p.SharedDir, dir: true, optional: true, owner: daemon, mode: 0o755},
		}
	} else {
		want = []expect{
			{name: "config directory", path: filepath.Dir(p.ConfigFile), dir: true, optional: true, owner: daemon, mode: 0o700},
			{name: "secrets", path: p.SecretsFile, optional: true, owner: daemon, private: Warn, mode: 0o600},
			{name: "data directory", path: p.DataDir, dir: true, optional: true, owner: daemon, mode: 0o700},
			{name: "run directory", path: p.RunDir, dir: true, optional: true, owner: daemon, private: Fail, mode: 0o700},
		}
	}
	var out []Check
	for _, w := range want {
		if w.path != "" {
			out = append(out, w.check())
		}
	}
	if cfg != nil && cfg.Database.Engine == string(store.SQLite) {
		out = append(out, sqliteFile(cfg.Database.Path, daemon))
	}
	return out
}

func (w expect) check() Check {
	c := Check{Name: w.name, Status: Pass}
	fail := func(st Status, detail, fix string) Check {
		c.Status, c.Detail, c.Fix = st, w.path+" "+detail, fix
		return c
	}
	group := w.owner
	if w.group != nil {
		group = w.group
	}
	chown := fmt.Sprintf("sudo chown %s:%s %s", w.owner.name, group.group, w.path)
	chmod := fmt.Sprintf("sudo chmod %04o %s", w.mode, w.path)
	st, err := os.Lstat(w.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && w.optional:
		c.Detail = w.path + " (none)"
		return c
	case errors.Is(err, fs.ErrNotExist):
		if w.dir {
			return fail(Fail, "does not exist", fmt.Sprintf("sudo install -d -o %s -g %s -m %04o %s", w.owner.name, w.owner.group, w.mode, w.path))
		}
		return fail(Fail, "does not exist", "create it")
	case os.IsPermission(err):
		return fail(Warn, "cannot be examined as you", "run doctor as root: sudo teleclaude doctor")
	case err != nil:
		return fail(Fail, err.Error(), "")
	case st.Mode()&fs.ModeSymlink != 0:
		return fail(Fail, "is a symlink: its owner and mode are another file's", "replace the link with the file itself, then: "+chown+" && "+chmod)
	case w.dir != st.IsDir():
		return fail(Fail, fmt.Sprintf("is a %s", map[bool]string{true: "directory", false: "file"}[st.IsDir()]), "")
	}
	sys := st.Sys().(*syscall.Stat_t)
	perm := st.Mode().Perm()
	// Re-owning alone is not enough when the mode is wider than wanted; a
	// mode too wide on a file owned right is the chmod alone.
	rechown := chown
	if perm&^w.mode != 0 {
		rechown += " && " + chmod
	}
	narrow := rechown
	if int(sys.Uid) == w.owner.uid && int(sys.Gid) == group.gid {
		narrow = chmod
	}
	switch {
	case w.readBy != nil && !canRead(sys, perm, w.readBy):
		return fail(Fail, fmt.Sprintf("cannot be read by the daemon's user %s (owner %s, group %s, mode %04o)", w.readBy.name, osuser.UserName(int(sys.Uid)), osuser.GroupName(int(sys.Gid)), perm), chown+" && "+chmod)
	case int(sys.Uid) != w.owner.uid && !(w.rootMayOwn && sys.Uid == 0):
		return fail(Fail, fmt.Sprintf("is owned by %s, not %s", osuser.UserName(int(sys.Uid)), w.owner.name), rechown)
	case perm&0o022 != 0:
		return fail(Fail, fmt.Sprintf("is writable by others (mode %04o)", perm), chmod)
	case w.private != "" && perm&0o007 != 0:
		return fail(w.private, fmt.Sprintf("is open to every user (mode %04o)", perm), narrow)
	case w.private != "" && perm&0o070 != 0:
		return fail(w.private, fmt.Sprintf("is open to its group %s (mode %04o)", osuser.GroupName(int(sys.Gid)), perm), narrow)
	}
	c.Detail = fmt.Sprintf("%s (%s:%s %04o)", w.path, osuser.UserName(int(sys.Uid)), osuser.GroupName(int(sys.Gid)), perm)
	return c
}

// sqliteFile checks that the database, which holds every transcript, is the
// daemon's and closed to others.
func sqliteFile(path string, daemon *account) Check {
	c := Check{Name: "database file", Status: Pass}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Detail = path + " (not created yet; the daemon creates it at its first start)"
		return c
	case os.IsPermission(err):
		return Check{Name: c.Name, Status: Warn, Detail: path + " cannot be examined as you", Fix: "run doctor as root: sudo teleclaude doctor"}
	case err != nil:
		return Check{Name: c.Name, Status: Fail, Detail: err.Error()}
	}
	sys := st.Sys().(*syscall.Stat_t)
	dir, _ := os.Stat(filepath.Dir(path))
	switch {
	case int(sys.Uid) != daemon.uid:
		return Check{Name: c.Name, Status: Fail, Detail: fmt.Sprintf("%s is owned by %s, not %s", path, osuser.UserName(int(sys.Uid)), daemon.name),
			Fix: fmt.Sprintf("sudo chown %s:%s %s*", daemon.name, daemon.group, path)}
	case dir != nil && dir.Mode().Perm()&0o001 != 0 && st.Mode().Perm()&0o004 != 0:
		return Check{Name: c.Name, Status: Fail, Detail: fmt.Sprintf("%s can be read by every user (file %04o in a directory others may enter): every transcript is exposed", path, st.Mode().Perm()),
			Fix: fmt.Sprintf("sudo chmod 0750 %s (or: sudo chmod 0600 %s)", filepath.Dir(path), path)}
	}
	c.Detail = fmt.Sprintf("%s (%s %04o)", path, osuser.UserName(int(sys.Uid)), st.Mode().Perm())
	return c
}

// canRead applies the permission bits as the kernel would for a.
func canRead(sys *syscall.Stat_t, perm os.FileMode, a *account) bool {
	switch {
	case a.uid == 0:
		return true
	case int(sys.Uid) == a.uid:
		return perm&0o400 != 0
	case slices.Contains(a.gids, int(sys.Gid)):
		return perm&0o040 != 0
	default:
		return perm&0o004 != 0
	}
}

// socketAndDatabase asks the daemon for its status and health. When it
// answers, it speaks for the database too; otherwise the database check is
// left to the caller (nil).
func socketAndDatabase(ctx context.Context, sock string, system bool, group string) (Check, *Check) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl := client.New(sock, system)
	var st apitype.Status
	if err := cl.Get(ctx, "/v1/status", &st); err != nil {
		var ue *client.UnreachableError
		if errors.As(err, &ue) {
			return Check{Name: "socket", Status: Fail, Detail: sock + ": " + ue.Cause, Fix: ue.Fix}, nil
		}
		return Check{Name: "socket", Status: Fail, Detail: sock + ": " + err.Error(), Fix: "check the daemon's log: journalctl -u teleclaude"}, nil
	}
	sc := Check{Name: "socket", Status: Pass, Detail: fmt.Sprintf("%s: TeleClaude %s answers (pid %d, %s mode)", sock, st.Version, st.PID, st.Mode)}
	if fi, err := os.Stat(sock); err == nil && system {
		perm, gid := fi.Mode().Perm(), int(fi.Sys().(*syscall.Stat_t).Gid)
		switch {
		case perm&0o006 != 0:
			sc.Status, sc.Fix = Warn, fmt.Sprintf("socket: {mode: \"0660\", group: %s} in the config, then restart the daemon", group)
			sc.Detail += fmt.Sprintf("; mode %04o lets every user connect", perm)
		case osuser.GroupName(gid) != group:
			sc.Status, sc.Fix = Warn, "restart the daemon; it sets the socket's group from socket.group"
			sc.Detail += fmt.Sprintf("; its group is %s, not %s", osuser.GroupName(gid), group)
		}
	}

	dc := Check{Name: "database", Status: Pass}
	latest, _ := store.LatestVersion(store.Engine(st.Database.Engine))
	err := cl.Get(ctx, "/health", nil)
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable:
		dc.Status, dc.Detail, dc.Fix = Fail, "the daemon cannot reach its database: "+ae.Msg, "check database: in the config and the database server; for PostgreSQL on this machine: sudo teleclaude setup-db"
	case err != nil:
		dc.Status, dc.Detail = Warn, "the daemon did not say whether its database is well: "+err.Error()
	case st.Database.SchemaVersion < latest:
		dc.Status, dc.Detail, dc.Fix = Warn, fmt.Sprintf("%s, schema v%d; this program knows v%d: the running daemon is older", st.Database.Engine, st.Database.SchemaVersion, latest),
			"restart the daemon after an upgrade: sudo systemctl restart teleclaude"
	default:
		dc.Detail = fmt.Sprintf("%s, schema v%d, reachable (the daemon says)", st.Database.Engine, st.Database.SchemaVersion)
	}
	return sc, &dc
}

// DatabaseCheck loads the config and inspects the database as the calling
// user, who should be the daemon's: doctor runs it in a process of that
// user when the daemon does not answer.
func DatabaseCheck(ctx context.Context, p layout.Paths, getenv config.Getenv) Check {
	c := Check{Name: "database"}
	who := osuser.UserName(os.Getuid())
	cfg, err := config.Load(p, getenv)
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("as %s, the config does not load: %v", who, err), "see the config and secrets checks"
		return c
	}
	sc := store.Config{Engine: store.Engine(cfg.Database.Engine), Path: cfg.Database.Path}
	where := "sqlite " + sc.Path
	fix := fmt.Sprintf("check that %s is a SQLite database and that %s may read and write it and its directory", sc.Path, who)
	if sc.Engine == store.PostgreSQL {
		sc.DSN = cfg.DatabaseDSN(getenv)
		where = fmt.Sprintf("postgresql database %s as %s on %s", cfg.Database.DBName, cfg.Database.User, cfg.Database.Host)
		fix = "for PostgreSQL on this machine: sudo teleclaude setup-db; otherwise check database: in the config"
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := store.Inspect(ctx, sc)
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s, as %s: %v", where, who, err), fix
	case !s.Exists:
		c.Status, c.Detail = Pass, where+": not created yet; the daemon creates it at its first start"
	case s.Current < s.Latest:
		c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s: schema v%d, this program brings it to v%d at the daemon's next start", where, s.Current, s.Latest),
			"start or restart the daemon: sudo systemctl restart teleclaude"
	case s.Current > s.Latest:
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s: schema v%d is newer than this program knows (v%d)", where, s.Current, s.Latest), "install the newer teleclaude, or restore a backup"
	default:
		c.Status, c.Detail = Pass, fmt.Sprintf("%s: reachable as %s, schema v%d (current)", where, who, s.Current)
	}
	return c
}

// membership says whether the caller can use the socket through its group:
// in the group database, and in this login session's groups (a user added
// after logging in has the first and not the second).
func membership(group string, caller Caller, daemon *account) []Check {
	g, err := user.LookupGroup(group)
	if err != nil {
		return nil // the socket group check already says so
	}
	gid, _ := strconv.Atoi(g.Gid)
	switch {
	case caller.UID == 0:
		return []Check{{Name: "your group", Status: Pass, Detail: "you are root: the socket lets you in without the group"}}
	case daemon != nil && caller.UID == daemon.uid:
		return []Check{{Name: "your group", Status: Pass, Detail: "you are the service user"}}
	}
	me, err := lookupAccount(caller.Name)
	if err != nil || !slices.Contains(me.gids, gid) {
		fix := fmt.Sprintf("sudo usermod -aG %s %s, then log in again", group, caller.Name)
		if me != nil && me.directory {
			// usermod refuses accounts that are not in /etc/passwd.
			fix = fmt.Sprintf("sudo gpasswd -a %s %s, then log in again", caller.Name, group)
		}
		if runtime.GOOS == "darwin" {
			fix = fmt.Sprintf("sudo dseditgroup -o edit -a %s -t user %s, then log in again", caller.Name, group)
		}
		return []Check{{Name: "your group", Status: Fail, Detail: fmt.Sprintf("%s is not in the %s group, so telec cannot reach the socket", caller.Name, group), Fix: fix}}
	}
	out := []Check{{Name: "your group", Status: Pass, Detail: fmt.Sprintf("%s is in the %s group", caller.Name, group)}}
	if !slices.Contains(caller.Session, gid) {
		return append(out, Check{Name: "your login session", Status: Fail,
			Detail: fmt.Sprintf("this login session began before %s joined %s: its programs lack the group", caller.Name, group),
			Fix:    fmt.Sprintf("newgrp %s (in this shell), or log out and in again", group)})
	}
	return append(out, Check{Name: "your login session", Status: Pass, Detail: "this login session has the " + group + " group"})
}
