package peercred

import (
	"fmt"

	"github.com/instruktai/teleclaude/internal/identity"
	"golang.org/x/sys/unix"
)

func fromFD(fd int) (identity.Creds, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return identity.Creds{}, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return identity.Creds{UID: int(u.Uid), GID: int(u.Gid), PID: int(u.Pid)}, nil
}
