//go:build !linux && !darwin

package daemon

func logToFile() bool { return false }

// dropInheritedCaps: ambient and inheritable capabilities are Linux's.
func dropInheritedCaps() (string, error) { return "", nil }

func setUmask() {}

// closeInheritedFDs: only Linux hosts run as other users.
func closeInheritedFDs() {}
