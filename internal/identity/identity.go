// Package identity turns the kernel's word about a caller (its uid) into a
// person and a role, through one ladder of decisions, each logged with its
// reason (docs/DESIGN.md, "Request path").
//
// Nothing a client sends takes part: the only input is the peer credentials
// read from the accepted socket.
package identity

import (
	"fmt"
	"strings"
)

// Role orders what a caller may do. The zero value is not a role, so that a
// route or a record that forgot to name one is caught instead of meaning
// "public".
type Role int

const (
	roleUnset Role = iota
	Public
	Newcomer
	Contributor
	Member
	Admin
)

var roleNames = map[Role]string{Public: "public", Newcomer: "newcomer", Contributor: "contributor", Member: "member", Admin: "admin"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Valid reports whether r is one of the five roles.
func (r Role) Valid() bool { _, ok := roleNames[r]; return ok }

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r >= min }

func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ParseRole reads a role name as written in config and docs front matter.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if strings.EqualFold(s, n) {
			return r, nil
		}
	}
	return roleUnset, fmt.Errorf("unknown role %q", s)
}

// Identity is who a caller is, decided once per connection.
type Identity struct {
	UID        int    `json:"uid"`
	GID        int    `json:"gid"`
	PID        int    `json:"pid"`
	OSUsername string `json:"os_username"` // "" when the uid has no account
	Person     string `json:"person"`      // "" for public
	Role       Role   `json:"role"`
	// Reason is the ladder's explanation, for logs and `telec whoami`.
	Reason string `json:"-"`
}

// HasPerson reports whether the caller was mapped to a configured person.
func (id Identity) HasPerson() bool { return id.Person != "" }
