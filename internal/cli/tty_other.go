//go:build !(linux || darwin)

package cli

import "os"

// IsTerminal reports whether f is a terminal; never, where we cannot tell.
func IsTerminal(*os.File) bool { return false }
