package sessionhost

import (
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
