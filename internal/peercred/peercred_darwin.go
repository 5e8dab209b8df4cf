package peercred

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const xucredVersion = 0

// fromFD uses LOCAL_PEERCRED for the uid and groups and LOCAL_PEERPID for the
// pid; the xucred structure carries no pid. A missing pid is not fatal: it
// only enriches audit records.
func fromFD(fd int) (Creds, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Creds{}, fmt.Errorf("LOCAL_PEERCRED: %w", err)
	}
	// XUCRED_VERSION in <sys/ucred.h>; another layout would be misread.
	if x.Version != xucredVersion {
		return Creds{}, fmt.Errorf("LOCAL_PEERCRED: xucred version %d, want %d", x.Version, xucredVersion)
	}
	c := Creds{UID: int(x.Uid)}
	if x.Ngroups > 0 {
		c.GID = int(x.Groups[0])
	}
	if pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
		c.PID = pid
	}
	return c, nil
}
