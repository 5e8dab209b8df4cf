package acl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// The kernel's ACL attribute format (linux/posix_acl_xattr.h): a version
// word, then entries of tag, permissions and id, sorted by tag and id.
const (
	xattrAccess  = "system.posix_acl_access"
	xattrDefault = "system.posix_acl_default"
	version      = 2

	tagUserObj  = 0x01
	tagUser     = 0x02
	tagGroupObj = 0x04
	tagMask     = 0x10
	tagOther    = 0x20

	undefinedID = 0xffffffff
)

// ErrUnsupported is returned when the file system does not support ACLs.
var ErrUnsupported = errors.New("the file system does not support POSIX ACLs")

// Set replaces path's access ACL with s.
func Set(path string, s Spec) error {
	return set(path, xattrAccess, s)
}

// SetDefault replaces directory path's default ACL, which files created
// inside it inherit, with s.
func SetDefault(path string, s Spec) error {
	return set(path, xattrDefault, s)
}

func set(path, attr string, s Spec) error {
	if err := unix.Setxattr(path, attr, encode(s), 0); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("set ACL on %s: %w", path, ErrUnsupported)
		}
		return fmt.Errorf("set ACL on %s: %w", path, err)
	}
	return nil
}

func encode(s Spec) []byte {
	users := append([]Grant(nil), s.Users...)
	sort.Slice(users, func(i, j int) bool { return users[i].UID < users[j].UID })
	var mask Perm
	for _, u := range users {
		mask |= u.Perm
	}
	b := binary.LittleEndian.AppendUint32(nil, version)
	entry := func(tag uint16, p Perm, id uint32) {
		b = binary.LittleEndian.AppendUint16(b, tag)
		b = binary.LittleEndian.AppendUint16(b, uint16(p))
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	entry(tagUserObj, s.Owner, undefinedID)
	for _, u := range users {
		entry(tagUser, u.Perm, uint32(u.UID))
	}
	entry(tagGroupObj, 0, undefinedID)
	entry(tagMask, mask, undefinedID)
	entry(tagOther, 0, undefinedID)
	return b
}

// Get reads path's access ACL in the form Set writes. It is for tests and
// diagnostics; entries for groups other than the owning one are an error.
func Get(path string) (Spec, error) {
	return get(path, xattrAccess)
}

// GetDefault reads directory path's default ACL.
func GetDefault(path string) (Spec, error) {
	return get(path, xattrDefault)
}

func get(path, attr string) (Spec, error) {
	buf := make([]byte, 1024)
	n, err := unix.Getxattr(path, attr, buf)
	if err != nil {
		return Spec{}, fmt.Errorf("read ACL of %s: %w", path, err)
	}
	b := buf[:n]
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != version || (len(b)-4)%8 != 0 {
		return Spec{}, fmt.Errorf("read ACL of %s: malformed attribute", path)
	}
	var s Spec
	for b = b[4:]; len(b) > 0; b = b[8:] {
		tag, p, id := binary.LittleEndian.Uint16(b), Perm(binary.LittleEndian.Uint16(b[2:])), binary.LittleEndian.Uint32(b[4:])
		switch tag {
		case tagUserObj:
			s.Owner = p
		case tagUser:
			s.Users = append(s.Users, Grant{UID: int(id), Perm: p})
		case tagGroupObj, tagMask, tagOther:
			if tag != tagMask && p != 0 {
				return Spec{}, fmt.Errorf("read ACL of %s: group or others have permissions", path)
			}
		default:
			return Spec{}, fmt.Errorf("read ACL of %s: unexpected entry tag %#x", path, tag)
		}
	}
	return s, nil
}
