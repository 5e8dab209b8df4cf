//go:build linux || darwin

package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/instruktai/teleclaude/internal/fileown"
	"golang.org/x/sys/unix"
)

var errReadOnlyFS = syscall.EROFS

// SQLite's lock bytes (os_unix.c): a writer holds RESERVED, and PENDING
// while it waits to write; every connection to a WAL database holds a read
// lock on the DMS byte of its -shm file for as long as it is open.
const (
	pendingByte = 0x40000000
	shmDMSByte  = 128
)

// sqliteLockHolder says who else has the database at path open to write
// (rollback journal) or open at all (WAL), from the byte-range locks SQLite
// takes; "" when nobody. Both C SQLite's POSIX locks and the open file
// description locks of ncruces/go-sqlite3 are seen.
func sqliteLockHolder(path string) (string, error) {
	if who, err := testLock(path, pendingByte, 2); err != nil || who != "" {
		if who != "" {
			who = "another process is writing it: " + who
		}
		return who, err
	}
	who, err := testLock(path+"-shm", shmDMSByte, 1)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if who != "" {
		who = "another process has it open in WAL mode: " + who
	}
	return who, err
}

func testLock(path string, start, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: start, Len: n}
	if err := unix.FcntlFlock(f.Fd(), getLockCmd, &lk); err != nil {
		return "", fmt.Errorf("test the lock on %s: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return "", nil
	}
	if lk.Pid > 0 {
		return fmt.Sprintf("process %d holds a SQLite lock on %s", lk.Pid, path), nil
	}
	return "a process holds a SQLite lock on " + path, nil
}

// chownLike gives path the owner and group of like, when we may.
func chownLike(path, like string) error {
	st, err := os.Stat(like)
	if err != nil {
		return err
	}
	own, ok := fileown.Of(st)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Chown(path, own.UID, own.GID)
}
