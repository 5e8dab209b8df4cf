package sessionhost

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// shedEnv marks the host's second start, after shedCapabilities: what it
// still holds then comes from the program file itself.
const shedEnv = "TELECLAUDE_HOST_CAPS_SHED"

// shedCapabilities makes a host that runs as an ordinary user hold no
// capability, on every thread. A daemon without systemd starts hosts with
// CAP_SETUID and CAP_SETGID as ambient capabilities, and those survive both
// its change to the owner's uid (no uid involved was 0) and the execve, so
// the host and everything it starts would hold them, tmux and the owner's
// programs included. The daemon clears its ambient set at start, but only a
// build without cgo can clear it on every thread at once
// (syscall.AllThreadsSyscall); the host therefore sheds them itself, in
// any build: it empties the ambient, inheritable, permitted and effective
// sets of one locked thread and executes itself again from it. execve
// computes the new image's capabilities from that thread alone, and with
// no ambient set and no file capabilities it gets none. Whatever remains
// after that came from file capabilities (setcap), which the host refuses.
func shedCapabilities() error {
	if os.Getuid() == 0 {
		return nil // a root owner's session is root's anyway
	}
	again := os.Getenv(shedEnv) != ""
	os.Unsetenv(shedEnv) // not for tmux and the sessions
	held, err := holdsCapabilities()
	if err != nil || !held {
		return err
	}
	if again {
		return refuseCapabilities()
	}
	runtime.LockOSThread() // never unlocked: this thread executes, or the host fails
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("drop the capabilities: %w", err)
	}
	// /proc/self/exe: the program this process runs, even when an upgrade
	// has replaced the file at its path.
	err = syscall.Exec("/proc/self/exe", os.Args, append(os.Environ(), shedEnv+"=1"))
	return fmt.Errorf("start again without capabilities: %w", err)
}

// holdsCapabilities reports whether this thread holds any capability, in
// its permitted set or, for a later execve, its inheritable one.
func holdsCapabilities() (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("read capabilities: %w", err)
	}
	// The ambient set is part of the permitted one.
	held := data[0].Permitted|data[1].Permitted|data[0].Inheritable|data[1].Inheritable != 0
	return held, nil
}

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
