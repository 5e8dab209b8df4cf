package daemon

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// logToFile: on Linux the journal takes stderr, and logrotate-managed files
// under /var/log/teleclaude are for later adapters.
func logToFile() bool { return false }

// dropAmbientCaps clears the ambient capability set of every thread. A
// daemon given CAP_SETUID/CAP_SETGID as ambient capabilities (to start
// sessions as their owners without systemd) keeps them in its own
// effective set, but its children must not inherit them: ambient
// capabilities survive execve, and a session holding CAP_SETUID could
// become anyone. Capabilities are per thread, hence every thread.
func dropAmbientCaps() error {
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	switch errno {
	case 0:
		return nil
	case syscall.ENOTSUP:
		// Built with cgo: AllThreadsSyscall is unavailable. Refuse only
		// if there is something to clear.
		if v, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, unix.CAP_SETUID, 0, 0); err == nil && v == 0 {
			return nil
		}
		return errors.New("cannot clear ambient capabilities in a cgo build; build with CGO_ENABLED=0 or start the daemon without ambient capabilities")
	default:
		return fmt.Errorf("clear ambient capabilities: %w", errno)
	}
}
