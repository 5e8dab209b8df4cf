package sessionhost

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// refuseCapabilities stops a host or launcher that holds capabilities
// while running as an ordinary user: that happens only when someone gave
// the teleclaude program file capabilities (setcap), and then every user's
// host, and every user who runs the program, would get them too.
func refuseCapabilities() error {
	if os.Getuid() == 0 {
		return nil // a root owner's session is root's anyway
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	if data[0].Permitted != 0 || data[1].Permitted != 0 {
		self, _ := os.Executable()
		return fmt.Errorf("%s runs with capabilities as uid %d, which would give them to every user's sessions: remove its file capabilities (setcap -r %s) and give the daemon CAP_SETUID and CAP_SETGID through its unit (AmbientCapabilities=) or run it as root", self, os.Getuid(), self)
	}
	return nil
}
