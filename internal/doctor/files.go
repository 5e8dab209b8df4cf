package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/store"
)

// Files: the layout's paths with their owners and modes, and the database file.

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
	sys, ok := fileown.Of(st)
	if !ok {
		return fail(Fail, "has no owner this platform reports", "")
	}
	perm := st.Mode().Perm()
	// Re-owning alone is not enough when the mode is wider than wanted; a
	// mode too wide on a file owned right is the chmod alone.
	rechown := chown
	if perm&^w.mode != 0 {
		rechown += " && " + chmod
	}
	narrow := rechown
	if sys.UID == w.owner.uid && sys.GID == group.gid {
		narrow = chmod
	}
	switch {
	case w.readBy != nil && !canRead(sys, perm, w.readBy):
		return fail(Fail, fmt.Sprintf("cannot be read by the daemon's user %s (owner %s, group %s, mode %04o)", w.readBy.name, osuser.UserName(sys.UID), osuser.GroupName(sys.GID), perm), chown+" && "+chmod)
	case sys.UID != w.owner.uid && !(w.rootMayOwn && sys.UID == 0):
		return fail(Fail, fmt.Sprintf("is owned by %s, not %s", osuser.UserName(sys.UID), w.owner.name), rechown)
	case perm&0o022 != 0:
		return fail(Fail, fmt.Sprintf("is writable by others (mode %04o)", perm), chmod)
	case w.private != "" && perm&0o007 != 0:
		return fail(w.private, fmt.Sprintf("is open to every user (mode %04o)", perm), narrow)
	case w.private != "" && perm&0o070 != 0:
		return fail(w.private, fmt.Sprintf("is open to its group %s (mode %04o)", osuser.GroupName(sys.GID), perm), narrow)
	}
	c.Detail = fmt.Sprintf("%s (%s:%s %04o)", w.path, osuser.UserName(sys.UID), osuser.GroupName(sys.GID), perm)
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
	sys, ok := fileown.Of(st)
	if !ok {
		return Check{Name: c.Name, Status: Fail, Detail: path + " has no owner this platform reports"}
	}
	dir, _ := os.Stat(filepath.Dir(path))
	switch {
	case sys.UID != daemon.uid:
		return Check{Name: c.Name, Status: Fail, Detail: fmt.Sprintf("%s is owned by %s, not %s", path, osuser.UserName(sys.UID), daemon.name),
			Fix: fmt.Sprintf("sudo chown %s:%s %s*", daemon.name, daemon.group, path)}
	case dir != nil && dir.Mode().Perm()&0o001 != 0 && st.Mode().Perm()&0o004 != 0:
		return Check{Name: c.Name, Status: Fail, Detail: fmt.Sprintf("%s can be read by every user (file %04o in a directory others may enter): every transcript is exposed", path, st.Mode().Perm()),
			Fix: fmt.Sprintf("sudo chmod 0750 %s (or: sudo chmod 0600 %s)", filepath.Dir(path), path)}
	}
	c.Detail = fmt.Sprintf("%s (%s %04o)", path, osuser.UserName(sys.UID), st.Mode().Perm())
	return c
}

// canRead applies the permission bits as the kernel would for a.
func canRead(sys fileown.Owner, perm os.FileMode, a *account) bool {
	switch {
	case a.uid == 0:
		return true
	case sys.UID == a.uid:
		return perm&0o400 != 0
	case slices.Contains(a.gids, sys.GID):
		return perm&0o040 != 0
	default:
		return perm&0o004 != 0
	}
}
