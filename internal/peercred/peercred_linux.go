package peercred

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func fromFD(fd int) (Creds, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Creds{}, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return Creds{UID: int(u.Uid), GID: int(u.Gid), PID: int(u.Pid)}, nil
}
