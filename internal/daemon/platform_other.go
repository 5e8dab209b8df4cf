//go:build !linux && !darwin

package daemon

func logToFile() bool { return false }
