//go:build !linux && !darwin

package daemon

func logToFile() bool { return false }

// dropAmbientCaps: ambient capabilities are a Linux notion.
func dropAmbientCaps() error { return nil }
