//go:build !linux

package sessionhost

// shedCapabilities and refuseCapabilities: capabilities are Linux's.
func shedCapabilities() error   { return nil }
func refuseCapabilities() error { return nil }

// shedEnv: see caps_linux.go.
const shedEnv = "TELECLAUDE_HOST_CAPS_SHED"
