//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on path and writes holder into it. The
// kernel drops the lock when the process dies, so a crash never leaves the
// database locked.
func lockFile(path, holder string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			h := strings.TrimSpace(string(b))
			if h == "" {
				h = "an unknown process (lock file " + path + ")"
			}
			return nil, &LockedError{Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%s (locked %s)\n", holder, time.Now().UTC().Format(time.RFC3339))
	f.Sync()
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
