package identity

import (
	"fmt"

	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/peercred"
)

// PersonFunc finds the person mapped to an OS account name and their role.
type PersonFunc func(osUsername string) (person string, role Role, ok bool)

// Resolver runs the identity ladder. It holds no state of its own, so a
// config reload only needs a new PersonFunc.
type Resolver struct {
	// SingleUser makes the daemon's own uid the admin without any config, and
	// everybody else public (they cannot reach the socket anyway).
	SingleUser bool
	DaemonUID  int
	Person     PersonFunc
	// LookupUser maps a uid to an account name; nil means the OS (os/user).
	LookupUser func(uid int) (string, error)
}

// Resolve decides who creds belong to. It never fails: whatever cannot be
// established ends in the least privilege, public, with the reason saying why.
func (r *Resolver) Resolve(c peercred.Creds) Identity {
	id := Identity{UID: c.UID, GID: c.GID, PID: c.PID, Role: Public}
	lookup := r.LookupUser
	if lookup == nil {
		lookup = osLookup
	}
	name, err := lookup(c.UID)
	if err != nil {
		id.Reason = fmt.Sprintf("uid %d has no OS account (%v) → public", c.UID, err)
		return id
	}
	id.OSUsername = name
	head := fmt.Sprintf("uid %d (%s)", c.UID, name)

	if r.SingleUser {
		if c.UID == r.DaemonUID {
			id.Person, id.Role = name, Admin
			id.Reason = head + " → person " + name + " (the daemon's own user, single-user mode) → admin"
		} else {
			id.Reason = head + " is not the daemon's user in single-user mode → public"
		}
		return id
	}

	person, role, ok := r.Person(name)
	switch {
	case !ok && c.UID == 0:
		id.Reason = head + " → no person maps os_username root → public"
	case !ok:
		id.Reason = head + " → no person with this os_username → public"
	case !role.Valid():
		// Config validation prevents this; deny rather than guess.
		id.Reason = head + " → person " + person + " has no valid role → public"
	default:
		id.Person, id.Role = person, role
		id.Reason = fmt.Sprintf("%s → person %s (os_username) → %s", head, person, role)
	}
	return id
}

// osLookup asks the files and then NSS (osuser): people from a directory
// service are people too.
func osLookup(uid int) (string, error) {
	u, err := osuser.LookupID(uid)
	if err != nil {
		return "", err
	}
	return u.Name, nil
}
