package migrate

import "golang.org/x/sys/unix"

// macOS has no F_OFD_GETLK; F_GETLK sees other processes' POSIX locks.
const getLockCmd = unix.F_GETLK
