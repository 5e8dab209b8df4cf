// Package version says which build this is.
package version

import "runtime/debug"

// Version is set at link time (-X github.com/instruktai/teleclaude/internal/version.Version=…)
// by the Makefile and goreleaser; a plain `go build` falls back to the module
// version or "dev".
var Version = ""

// String returns the version of this binary.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
