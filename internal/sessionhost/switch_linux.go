package sessionhost

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// CanSwitch reports (as nil) whether this process may start programs with
// another user's credentials: root, or CAP_SETUID and CAP_SETGID in its
// effective set.
func CanSwitch() error {
	if os.Geteuid() == 0 {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("%w: reading capabilities: %v", ErrCannotSwitch, err)
	}
	const need = 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID
	if data[0].Effective&need != need {
		return fmt.Errorf("%w: it runs as uid %d without CAP_SETUID and CAP_SETGID, and no systemd session unit is available (install the package's teleclaude-sessions@.service, or run the daemon with those capabilities)", ErrCannotSwitch, os.Getuid())
	}
	return nil
}
