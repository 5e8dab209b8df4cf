// Package peercred reads the kernel's credentials for the process at the
// other end of a Unix socket. They are those in effect when the peer called
// connect(): a process that changes uid afterwards, or passes the descriptor
// on, is still reported as the uid that connected.
package peercred

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// ErrNotSupported is returned on platforms with no peer-credential call.
var ErrNotSupported = errors.New("peer credentials are not supported on this platform")

// Get returns the peer's credentials. c must be a Unix-domain connection.
func Get(c net.Conn) (Creds, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Creds{}, fmt.Errorf("peer credentials: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Creds{}, fmt.Errorf("peer credentials: %w", err)
	}
	var creds Creds
	var credErr error
	if err := raw.Control(func(fd uintptr) { creds, credErr = fromFD(int(fd)) }); err != nil {
		return Creds{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Creds{}, fmt.Errorf("peer credentials: %w", credErr)
	}
	return creds, nil
}

// Creds is what the kernel says about the process at the other end of a
// socket, as of its connect().
type Creds struct {
	UID, GID, PID int
}
