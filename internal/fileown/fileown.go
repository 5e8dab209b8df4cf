// Package fileown reads who owns a file, makes the private directories
// the daemon keeps its sockets in, and makes private copies of files. It is the one place that looks into
// syscall.Stat_t, so every caller gets a checked answer rather than a panic
// on a platform or file system that does not give one.
package fileown

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Owner is a file's owner, group and link count as the kernel reports them.
type Owner struct {
	UID, GID int
	Nlink    uint64
}

// Of returns fi's owner; ok is false when the platform gave no Stat_t
// (fi did not come from a Unix stat call).
func Of(fi fs.FileInfo) (o Owner, ok bool) {
	s, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Owner{}, false
	}
	return Owner{UID: int(s.Uid), GID: int(s.Gid), Nlink: uint64(s.Nlink)}, true
}

// PrivateDir makes dir (its parent must exist) a directory owned by the
// running uid with exactly perm. A directory someone else made first is
// refused, not adopted: they could replace what we put in it.
func PrivateDir(dir string, perm fs.FileMode) error {
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if o, ok := Of(st); ok && o.UID != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to us (uid %d): someone may be squatting it; remove it", dir, o.UID, os.Getuid())
	}
	if st.Mode().Perm() != perm {
		if err := os.Chmod(dir, perm); err != nil {
			return err
		}
	}
	return nil
}

// CopyPrivate copies the file from into a new file to, readable by its
// owner (the running uid) only. A file already at to is never replaced:
// whoever put it there could read or change what we copy.
func CopyPrivate(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
