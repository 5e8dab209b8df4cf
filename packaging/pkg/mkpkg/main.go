// Command mkpkg builds TeleClaude's macOS Installer package from darwin
// builds of teleclaude and telec, on any platform. It is a build tool, run
// with `go run` (by `make pkg`, or a release pipeline), and never shipped:
//
//	go run ./packaging/pkg/mkpkg -version 1.2.3 -arm64 dist/darwin_arm64 -amd64 dist/darwin_amd64
//
// writes dist/teleclaude_1.2.3_darwin_universal.pkg (-dir changes the
// directory, -o the whole path). It checks that the programs are Mach-O
// executables of their architecture (and, on arm64, carry the code
// signature Apple silicon requires), joins each pair into one universal
// program, and takes the package's minimum macOS from them. A version that
// is not a release's (a bare commit hash) becomes a dev receipt version
// that sorts (pkg.ReceiptVersion). Timestamps come from -mtime, else
// SOURCE_DATE_EPOCH, else now: equal inputs give an identical package.
//
// With TELECLAUDE_PKG_INSTALLER_P12 the package is signed (sign.go lists
// the variables); its programs must then carry Developer ID signatures with
// the hardened runtime, which mkpkg has rcodesign make when
// TELECLAUDE_PKG_APP_P12 is set.
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

	"github.com/instruktai/teleclaude/internal/machofat"
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
	bins := map[string]*string{
		"arm64": fs.String("arm64", "", "directory holding the darwin/arm64 teleclaude and telec"),
		"amd64": fs.String("amd64", "", "directory holding the darwin/amd64 teleclaude and telec"),
	}
	dir := fs.String("dir", "dist", "directory for the output file")
	out := fs.String("o", "", "output file (default: DIR/teleclaude_VERSION_darwin_universal.pkg)")
	mtime := fs.String("mtime", "", "timestamp of every entry, Unix seconds (default: $SOURCE_DATE_EPOCH, else now)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *version == "" || *bins["arm64"] == "" || *bins["amd64"] == "" || fs.NArg() != 0 {
		return usageError{errors.New("usage: mkpkg -version V -arm64 DIR -amd64 DIR [-dir DIR | -o FILE] [-mtime SECONDS]")}
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
	receipt := pkg.ReceiptVersion(*version, when)
	if *out == "" {
		*out = filepath.Join(*dir, pkg.FileName(receipt))
	}
	// The identities are checked first: a bad one stops the build before
	// anything is made.
	now := time.Now()
	signer, err := installerSigner(getenv, now)
	if err != nil {
		return err
	}

	o := pkg.Options{Version: receipt, ModTime: when, Signer: signer}
	for _, p := range []struct {
		name string
		dst  *[]byte
	}{{"teleclaude", &o.Teleclaude}, {"telec", &o.Telec}} {
		var slices []machofat.Slice
		for _, arch := range []string{"arm64", "amd64"} {
			file := filepath.Join(*bins[arch], p.name)
			data, minOS, err := program(file, arch)
			if err != nil {
				return err
			}
			if p.name == "teleclaude" && newer(minOS, o.MinMacOS) {
				o.MinMacOS = minOS
			}
			slices = append(slices, machofat.Slice{Name: file, Data: data})
		}
		fat, err := machofat.Join(slices...)
		if err != nil {
			return err
		}
		*p.dst = fat
	}
	if err := signPrograms(getenv, now, map[string]*[]byte{"teleclaude": &o.Teleclaude, "telec": &o.Telec}); err != nil {
		return err
	}
	if signer != nil {
		for name, data := range map[string][]byte{"teleclaude": o.Teleclaude, "telec": o.Telec} {
			if err := checkSigned(name, data); err != nil {
				return err
			}
		}
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
	signed := "unsigned"
	if signer != nil {
		signed = "signed by " + signer.Chain[0].Subject.CommonName
	}
	fmt.Fprintf(stdout, "%s (version %s, %d bytes, macOS %s or later, universal, %s)\n", *out, receipt, buf.Len(), o.MinMacOS, signed)
	return nil
}

// newer reports whether macOS version a ("12.0") is later than b.
func newer(a, b string) bool {
	var a1, a2, b1, b2 int
	fmt.Sscanf(a, "%d.%d", &a1, &a2)
	fmt.Sscanf(b, "%d.%d", &b1, &b2)
	return a1 > b1 || a1 == b1 && a2 > b2
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
	want := cpus[arch]
	if f.Cpu != want || f.Type != macho.TypeExec {
		return nil, "", fmt.Errorf("%s is a %v %v, want an %v executable (-%s)", path, f.Cpu, f.Type, want, arch)
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
