package migrate

import "golang.org/x/sys/unix"

// F_OFD_GETLK sees both POSIX and open-file-description locks, also those
// of this process's other descriptors.
const getLockCmd = unix.F_OFD_GETLK
