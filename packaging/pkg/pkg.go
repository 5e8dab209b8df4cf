// Package pkg is TeleClaude's macOS Installer package: the scripts, the
// LaunchDaemon plist and the starter config in this directory, and Build,
// which lays them out with the two programs and writes the .pkg. The
// installer's logic lives in the scripts.
package pkg

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/macpkg"
)

//go:embed preinstall postinstall common.sh uninstall ai.instrukt.teleclaude.plist config.example.yml
var files embed.FS

// Identifier is the package's (and the launchd job's) identifier.
const Identifier = "ai.instrukt.teleclaude"

// Base is where the package installs, relative to the target volume.
const Base = "Library/Application Support/TeleClaude"

// MinMacOS is the oldest macOS the Go toolchain we build with supports;
// Options.MinMacOS, read from the programs themselves, takes precedence.
const MinMacOS = "12.0"

// Options are the inputs of one package.
type Options struct {
	Version    string // a leading "v" is dropped
	Arch       string // GOARCH of the programs: arm64 or amd64
	Teleclaude []byte // the darwin programs
	Telec      []byte
	MinMacOS   string // the oldest macOS the programs run on; "" for MinMacOS
	ModTime    time.Time
}

// appleArch maps GOARCH to Installer's name for the machine.
var appleArch = map[string]string{"arm64": "arm64", "amd64": "x86_64"}

// FileName is the package's conventional file name.
func FileName(version, arch string) string {
	return fmt.Sprintf("teleclaude_%s_darwin_%s.pkg", strings.TrimPrefix(version, "v"), arch)
}

// Build writes the package to w.
func Build(w io.Writer, o Options) error {
	host, ok := appleArch[o.Arch]
	if !ok {
		return fmt.Errorf("arch %q: want arm64 or amd64", o.Arch)
	}
	version := strings.TrimPrefix(o.Version, "v")
	if version == "" {
		return fmt.Errorf("a version is required")
	}
	if len(o.Teleclaude) == 0 || len(o.Telec) == 0 {
		return fmt.Errorf("both programs are required")
	}
	read := func(name string) []byte {
		b, err := files.ReadFile(name)
		if err != nil {
			panic(err) // embedded above; cannot fail
		}
		return b
	}
	const dir = fs.ModeDir
	// Every directory Installer may create or touch, with the owner and mode
	// macOS gives it (/Library/Application Support is root:admin).
	payload := []macpkg.File{
		{Path: ".", Mode: dir | 0o755},
		{Path: "Library", Mode: dir | 0o755},
		{Path: "Library/Application Support", Mode: dir | 0o755, GID: 80},
		{Path: Base, Mode: dir | 0o755},
		{Path: Base + "/bin", Mode: dir | 0o755},
		{Path: Base + "/bin/telec", Mode: 0o755, Data: o.Telec},
		{Path: Base + "/bin/teleclaude", Mode: 0o755, Data: o.Teleclaude},
		{Path: Base + "/config.example.yml", Mode: 0o644, Data: read("config.example.yml")},
		{Path: Base + "/uninstall", Mode: 0o755, Data: read("uninstall")},
	}
	scripts := []macpkg.File{
		{Path: ".", Mode: dir | 0o755},
		{Path: Identifier + ".plist", Mode: 0o644, Data: read(Identifier + ".plist")},
		{Path: "common.sh", Mode: 0o644, Data: read("common.sh")},
		{Path: "postinstall", Mode: 0o755, Data: read("postinstall")},
		{Path: "preinstall", Mode: 0o755, Data: read("preinstall")},
	}
	minOS := o.MinMacOS
	if minOS == "" {
		minOS = MinMacOS
	}
	p := &macpkg.Package{
		Identifier: Identifier, Name: "teleclaude", Version: version, Title: "TeleClaude",
		HostArchitectures: []string{host}, MinOSVersion: minOS, InstallLocation: "/",
		Payload: payload, Scripts: scripts, ModTime: o.ModTime,
	}
	return p.Write(w)
}
