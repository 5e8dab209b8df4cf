//go:build !linux

package sessionhost

// refuseCapabilities: capabilities are Linux's.
func refuseCapabilities() error { return nil }
