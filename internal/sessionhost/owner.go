package sessionhost

import (
	"os"
	"syscall"

	"github.com/instruktai/teleclaude/internal/osuser"
)

// LookupOwner reads uid's account: name, home, groups and shell, from the
// files or the machine's directory service (osuser).
func LookupOwner(uid int) (Owner, error) {
	u, err := osuser.LookupID(uid)
	if err != nil {
		return Owner{}, err
	}
	gids, err := osuser.GroupIDs(u)
	if err != nil {
		return Owner{}, err
	}
	// The primary group stays in the list, as login's initgroups leaves it.
	return Owner{UID: uid, GID: u.GID, Groups: gids, Username: u.Name, Home: u.Home, Shell: osuser.LoginShell(u)}, nil
}

func ownerOf(st os.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
