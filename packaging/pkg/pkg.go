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
	"regexp"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/macpkg"
	"github.com/instruktai/teleclaude/internal/xar"
)

//go:embed preinstall postinstall common.sh uninstall ai.instrukt.teleclaude.plist config.example.yml newsyslog.conf
var files embed.FS

// Identifier is the package's (and the launchd job's) identifier.
const Identifier = "ai.instrukt.teleclaude"

// Base is where the package installs, relative to the target volume.
const Base = "Library/Application Support/TeleClaude"

// MinMacOS is the oldest macOS the Go toolchain we build with supports;
// Options.MinMacOS, read from the programs themselves, takes precedence.
const MinMacOS = "12.0"

// HostArchitectures are Installer's names of the Macs the package installs
// on: its programs are universal (arm64 and x86_64 slices).
var HostArchitectures = []string{"arm64", "x86_64"}

// Options are the inputs of one package.
type Options struct {
	Version    string // the receipt version; see ReceiptVersion
	Teleclaude []byte // the universal darwin programs
	Telec      []byte
	MinMacOS   string // the oldest macOS the programs run on; "" for MinMacOS
	ModTime    time.Time
	Signer     *xar.Signer // signs the package; nil for an unsigned one
}

// FileName is the package's conventional file name.
func FileName(version string) string {
	return fmt.Sprintf("teleclaude_%s_darwin_universal.pkg", strings.TrimPrefix(version, "v"))
}

var (
	release  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+.][0-9A-Za-z.+-]*)?$`)
	unsafeCh = regexp.MustCompile(`[^0-9A-Za-z.-]+`)
)

// ReceiptVersion turns a build's version into one that Installer records
// and that Munki and Jamf can compare: a release's (v1.2.3, or git
// describe's 1.2.3-4-gabc123) stays as it is, without the "v"; anything
// else, such as a bare commit hash of a dev build, becomes
// 0.0.0-dev.<UTC time of built>.<version>, which sorts below every release
// and by build time among dev builds.
func ReceiptVersion(version string, built time.Time) string {
	v := strings.TrimPrefix(version, "v")
	if release.MatchString(v) {
		return v
	}
	tag := strings.Trim(unsafeCh.ReplaceAllString(v, "-"), "-")
	if tag == "" {
		tag = "unknown"
	}
	return fmt.Sprintf("0.0.0-dev.%s.%s", built.UTC().Format("20060102150405"), tag)
}

// Build writes the package to w.
func Build(w io.Writer, o Options) error {
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
		{Path: "Library/LaunchDaemons", Mode: dir | 0o755},
		{Path: "Library/LaunchDaemons/" + Identifier + ".plist", Mode: 0o644, Data: read(Identifier + ".plist")},
		// /etc is a link to /private/etc: the Payload names the directory
		// itself, as pkgbuild records it, so that Installer never meets the
		// link.
		{Path: "private", Mode: dir | 0o755},
		{Path: "private/etc", Mode: dir | 0o755},
		{Path: "private/etc/newsyslog.d", Mode: dir | 0o755},
		{Path: "private/etc/newsyslog.d/teleclaude.conf", Mode: 0o644, Data: read("newsyslog.conf")},
	}
	scripts := []macpkg.File{
		{Path: ".", Mode: dir | 0o755},
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
		HostArchitectures: HostArchitectures, MinOSVersion: minOS, InstallLocation: "/",
		Payload: payload, Scripts: scripts, ModTime: o.ModTime, Signer: o.Signer,
	}
	return p.Write(w)
}
