package doctor

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
)

// Accounts: who the daemon runs as, its group, and whether the caller can
// reach the socket through it.

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
	gid, err := osuser.LookupGroup(name)
	if err != nil {
		fix := "sudo groupadd --system " + name + " (the package does this)"
		if runtime.GOOS == "darwin" {
			fix = "reinstall the TeleClaude package: its installer creates " + name
		}
		return Check{Name: "socket group", Status: Fail, Detail: fmt.Sprintf("no group %s: nobody can be given access to the socket", name), Fix: fix}
	}
	return Check{Name: "socket group", Status: Pass, Detail: fmt.Sprintf("%s (gid %d)", name, gid)}
}

// membership says whether the caller can use the socket through its group:
// in the group database, and in this login session's groups (a user added
// after logging in has the first and not the second).
func membership(group string, caller Caller, daemon *account) []Check {
	gid, err := osuser.LookupGroup(group)
	if err != nil {
		return nil // the socket group check already says so
	}
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
