// Command mkpkg builds TeleClaude's macOS Installer package from darwin
// builds of teleclaude and telec, on any platform. It is a build tool, run
// with `go run` (by `make pkg`, or a release pipeline), and never shipped:
//
//	go run ./packaging/pkg/mkpkg -version 1.2.3 -arch arm64 -bin dist/darwin_arm64
//
// writes dist/teleclaude_1.2.3_darwin_arm64.pkg (-dir changes the directory,
// -o the whole path). It checks that the programs
// are Mach-O executables for that architecture (and, on arm64, carry the
// code signature Apple silicon requires), and takes the package's minimum
// macOS from them. Timestamps come from -mtime, else SOURCE_DATE_EPOCH,
// else now: equal inputs give an identical package.
package main

import (
	"bytes"
	"debug/macho"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/instruktai/teleclaude/packaging/pkg"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "mkpkg:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("mkpkg", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	version := fs.String("version", "", "package version (a leading v is dropped)")
	arch := fs.String("arch", "", "GOARCH of the programs: arm64 or amd64")
	bin := fs.String("bin", "", "directory holding teleclaude and telec")
	teleclaude := fs.String("teleclaude", "", "the teleclaude program (default: BIN/teleclaude)")
	telec := fs.String("telec", "", "the telec program (default: BIN/telec)")
	dir := fs.String("dir", "dist", "directory for the output file")
	out := fs.String("o", "", "output file (default: DIR/teleclaude_VERSION_darwin_ARCH.pkg)")
	mtime := fs.String("mtime", "", "timestamp of every entry, Unix seconds (default: $SOURCE_DATE_EPOCH, else now)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *version == "" || *arch == "" || fs.NArg() != 0 {
		return usageError{errors.New("usage: mkpkg -version V -arch arm64|amd64 (-bin DIR | -teleclaude F -telec F) [-dir DIR | -o FILE] [-mtime SECONDS]")}
	}
	if *teleclaude == "" {
		*teleclaude = filepath.Join(*bin, "teleclaude")
	}
	if *telec == "" {
		*telec = filepath.Join(*bin, "telec")
	}
	if *out == "" {
		*out = filepath.Join(*dir, pkg.FileName(*version, *arch))
	}
	when := time.Now()
	if *mtime == "" {
		*mtime = getenv("SOURCE_DATE_EPOCH")
	}
	if *mtime != "" {
		n, err := strconv.ParseInt(*mtime, 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("-mtime / SOURCE_DATE_EPOCH %q: want Unix seconds", *mtime)}
		}
		when = time.Unix(n, 0)
	}

	o := pkg.Options{Version: *version, Arch: *arch, ModTime: when}
	var err error
	if o.Teleclaude, o.MinMacOS, err = program(*teleclaude, *arch); err != nil {
		return err
	}
	if o.Telec, _, err = program(*telec, *arch); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pkg.Build(&buf, o); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	// Write beside the target and rename: a failed run leaves no half package.
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stdout, "%s (%d bytes, macOS %s or later)\n", *out, buf.Len(), o.MinMacOS)
	return nil
}

var cpus = map[string]macho.Cpu{"arm64": macho.CpuArm64, "amd64": macho.CpuAmd64}

// Load commands debug/macho leaves undecoded.
const (
	lcCodeSignature = 0x1d
	lcBuildVersion  = 0x32
)

// program reads a darwin executable for arch and returns it with the oldest
// macOS it declares (its LC_BUILD_VERSION), or an error saying what is wrong
// with it.
func program(path, arch string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	f, err := macho.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a macOS program (%v): build it with GOOS=darwin GOARCH=%s", path, err, arch)
	}
	want, ok := cpus[arch]
	if !ok {
		return nil, "", usageError{fmt.Errorf("-arch %q: want arm64 or amd64", arch)}
	}
	if f.Cpu != want || f.Type != macho.TypeExec {
		return nil, "", fmt.Errorf("%s is a %v %v, want an %v executable (-arch %s)", path, f.Cpu, f.Type, want, arch)
	}
	var minOS string
	signed := false
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) < 8 {
			continue
		}
		switch f.ByteOrder.Uint32(raw) {
		case lcCodeSignature:
			signed = true
		case lcBuildVersion:
			if len(raw) >= 16 {
				v := f.ByteOrder.Uint32(raw[12:]) // after cmd, cmdsize and platform
				minOS = fmt.Sprintf("%d.%d", v>>16, v>>8&0xff)
			}
		}
	}
	// The kernel kills an unsigned arm64 program at its first instruction;
	// Go's linker signs ad hoc, but a later strip or edit drops it.
	if arch == "arm64" && !signed {
		return nil, "", fmt.Errorf("%s has no code signature, which Apple silicon requires (was it stripped after linking?)", path)
	}
	return data, minOS, nil
}
