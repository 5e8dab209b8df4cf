// Package acl grants named users access to files through POSIX access
// control lists, where plain owner/group/other bits cannot say "this user
// and the service user, nobody else" (docs/DESIGN.md, "Session hosts").
package acl

// Perm is a set of permissions for one ACL entry.
type Perm uint16

const (
	Execute Perm = 1 << iota
	Write
	Read
)

// RW and RWX are the usual combinations.
const (
	RW  = Read | Write
	RWX = Read | Write | Execute
)

// Grant gives one user a permission set.
type Grant struct {
	UID  int
	Perm Perm
}

// Spec is the whole ACL of a file: the owner's permissions, the named users,
// and nothing for the owning group or others. The mask is the union of the
// named users' permissions, so that no grant is silently masked out.
type Spec struct {
	Owner Perm
	Users []Grant
}
