//go:build unix

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on path and writes holder into it. The
// kernel drops the lock when the process dies, so a crash never leaves the
// database locked; Go opens files close-on-exec, so sessions started by the
// daemon do not inherit the lock either. The file stays after unlock:
// removing it would let two daemons lock two different inodes.
func lockFile(path, holder string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 4096))
			h := strings.TrimSpace(string(b))
			if h == "" {
				// The holder has not written its description yet.
				h = "a process that is starting up (lock file " + path + ")"
			}
			return nil, &LockedError{Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	desc := fmt.Sprintf("%s (locked %s)\n", holder, time.Now().UTC().Format(time.RFC3339))
	if err := writeHolder(f, desc); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	return func() error {
		// Closing the descriptor releases the flock.
		if err := f.Close(); err != nil {
			return fmt.Errorf("unlock %s: %w", path, err)
		}
		return nil
	}, nil
}

func writeHolder(f *os.File, desc string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(desc), 0); err != nil {
		return err
	}
	return f.Sync()
}
