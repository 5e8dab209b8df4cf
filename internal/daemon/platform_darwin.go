package daemon

import "syscall"

// logToFile: launchd has no journal; system mode logs to
// /Library/Logs/TeleClaude where Console.app finds it.
func logToFile() bool { return true }

// dropInheritedCaps: ambient and inheritable capabilities are Linux's.
func dropInheritedCaps() (string, error) { return "", nil }

func setUmask() { syscall.Umask(0o077) }

// closeInheritedFDs: only Linux hosts run as other users.
func closeInheritedFDs() {}
