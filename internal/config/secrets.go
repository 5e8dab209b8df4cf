package config

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/strictyaml"
)

// loadSecrets reads the secrets file if there is one. A symlink is refused:
// the file's owner and mode are the whole of its protection, and a link makes
// them somebody else's. An owner or a mode that lets others in is only a
// warning: refusing to start would turn an admin's chmod slip into an outage.
//
// In system mode the file belongs to the service user, group root, mode
// 0600 (secretsOwner): the daemon reads it as its owner. It is not readable
// by the service user's group, because that group is the socket's, and every
// user of the daemon is in it. In single-user mode it is the user's, 0600.
//
// It fills in c.Secrets, c.SecretsFile and c.Warnings.
func loadSecrets(p layout.Paths, c *Config) Problems {
	file := p.SecretsFile
	if file == "" {
		return nil // no secrets file (doctor, without the right to read it)
	}
	st, err := os.Lstat(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return Problems{{File: file, Msg: err.Error()}}
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return Problems{{File: file, Msg: "secrets file is a symlink; replace it with a regular file, then: " + secretsFix(p, file)}}
	}
	c.Warnings = append(c.Warnings, secretsPermissions(p, file, st)...)
	// No following links at open either: the file checked above is the
	// file read.
	data, err := strictyaml.ReadFile(file, true)
	if os.IsPermission(err) {
		return Problems{{File: file, Msg: fmt.Sprintf("cannot read it as uid %d (%v); the daemon's user must own it: %s",
			os.Getuid(), err, secretsFix(p, file))}}
	}
	if err != nil {
		return Problems{{File: file, Msg: err.Error()}}
	}
	if _, probs := decodeStrict(file, data, &c.Secrets, false); probs != nil {
		return probs
	}
	c.SecretsFile = file
	return nil
}

// secretsOwner is the owner and group the system secrets file must have:
// the service user's, group root (wheel on macOS), as chown spells it.
func secretsOwner(p layout.Paths) string {
	svc := p.ServiceUser
	if svc == "" {
		svc = layout.ServiceUser(runtime.GOOS)
	}
	return svc + ":" + layout.RootGroup(runtime.GOOS)
}

// secretsFix is the command that gives the secrets file of p its owner and
// mode.
func secretsFix(p layout.Paths, file string) string {
	if p.Mode == layout.SingleUser {
		return "chmod 0600 " + file
	}
	return fmt.Sprintf("chown %s %s && chmod 0600 %s", secretsOwner(p), file, file)
}

// secretsPermissions warns about a secrets file that others may open, or
// that belongs to someone who is neither root nor the daemon.
func secretsPermissions(p layout.Paths, file string, st fs.FileInfo) []string {
	perm := st.Mode().Perm()
	if p.Mode == layout.SingleUser {
		if perm&0o077 != 0 {
			return []string{fmt.Sprintf("%s is readable by others (mode %04o); fix: %s", file, perm, secretsFix(p, file))}
		}
		return nil
	}
	sys, ok := fileown.Of(st)
	if !ok {
		return nil
	}
	var warns []string
	switch {
	case perm&0o007 != 0:
		warns = append(warns, fmt.Sprintf("%s is readable by every user (mode %04o); fix: %s", file, perm, secretsFix(p, file)))
	case perm&0o070 != 0:
		warns = append(warns, fmt.Sprintf("%s is open to its group %s (mode %04o); users reach the socket through a group, so only root and the service user may read the secrets; fix: %s",
			file, orNumber("gid", sys.GID, osuser.GroupName(sys.GID)), perm, secretsFix(p, file)))
	}
	if !ownerMayHold(sys.UID, p.ServiceUser) {
		warns = append(warns, fmt.Sprintf("%s is owned by %s, neither root nor the daemon's user: that account can change the daemon's secrets; fix: %s",
			file, orNumber("uid", sys.UID, osuser.UserName(sys.UID)), secretsFix(p, file)))
	}
	return warns
}

// ownerMayHold reports whether uid may own the system secrets: root, or the
// daemon's user. That is this process when it is not root (the daemon
// itself); for root (config check, doctor) it is the service user svc, and
// when no such account exists here there is no telling.
func ownerMayHold(uid int, svc string) bool {
	me := os.Getuid()
	switch {
	case uid == 0 || uid == me:
		return true
	case me != 0:
		return false
	}
	if svc == "" {
		svc = layout.ServiceUser(runtime.GOOS)
	}
	u, err := osuser.Lookup(svc)
	return err != nil || u.UID == uid
}

// orNumber says "uid 4242" where osuser found no name, only the number.
func orNumber(kind string, id int, name string) string {
	if name == strconv.Itoa(id) {
		return kind + " " + name
	}
	return name
}
