package daemon

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// logToFile: on Linux the journal takes stderr, and logrotate-managed files
// under /var/log/teleclaude are for later adapters.
func logToFile() bool { return false }

// dropInheritedCaps clears the ambient and inheritable capability sets of
// every thread. A daemon given CAP_SETUID/CAP_SETGID as ambient
// capabilities (to start hosts as their owners without systemd) keeps them
// in its own effective set, but nothing it starts may inherit them:
// ambient capabilities survive execve, and an inheritable one returns with
// any program that carries it as a file capability; a session holding
// CAP_SETUID could become anyone. Capabilities are per thread, hence every
// thread.
//
// A build with cgo cannot reach every thread (AllThreadsSyscall refuses
// there, since C code may have made threads Go does not know). Such a
// daemon keeps the sets, and says so; the session hosts, the only way from
// the daemon to anyone's programs, shed every capability themselves as
// they start (package sessionhost). A daemon with nothing to clear, as
// under the packaged unit, has nothing to say.
func dropInheritedCaps() (note string, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "", fmt.Errorf("read capabilities: %w", err)
	}
	ambient := false
	for c := 0; c <= unix.CAP_LAST_CAP && !ambient; c++ {
		r, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0)
		ambient = err == nil && r == 1
	}
	if !ambient && data[0].Inheritable == 0 && data[1].Inheritable == 0 {
		return "", nil
	}
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); errno != 0 {
		if errno == syscall.ENOTSUP {
			return "built with cgo: the ambient and inheritable capabilities stay on the daemon's threads; each session host sheds them as it starts", nil
		}
		return "", fmt.Errorf("clear ambient capabilities: %w", errno)
	}
	if data[0].Inheritable == 0 && data[1].Inheritable == 0 {
		return "", nil
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	hdr.Pid = 0
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return "", fmt.Errorf("clear inheritable capabilities: %w", errno)
	}
	return "", nil
}

func setUmask() { syscall.Umask(0o077) }

// closeInheritedFDs marks every descriptor above stderr close-on-exec.
// Go opens its own that way, but whatever started the daemon may have
// passed others (an admin's shell, a supervisor), and a session host, which
// runs as a user who may read its /proc, must not inherit them. Socket
// activation's descriptors stay open for the daemon itself.
func closeInheritedFDs() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	// Kernels before 5.11: one by one.
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}
