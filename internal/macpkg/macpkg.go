// Package macpkg builds a macOS Installer package (a "product archive", the
// kind productbuild makes) from a list of files, on any platform.
//
// The result is a xar archive holding a Distribution (what Installer shows
// and checks before installing) and one component package directory,
// NAME.pkg, with:
//
//	PackageInfo  identifier, version, install location, scripts to run
//	Bom          every path of the Payload with its mode, owner, size and CRC
//	Payload      gzip'd odc cpio of the files, relative to the install location
//	Scripts      gzip'd odc cpio of preinstall, postinstall and their helpers
//
// Installer runs preinstall before it unpacks the Payload and postinstall
// after, as root, with the package path, the install location and the
// target volume as $1, $2 and $3.
package macpkg

import (
	"bytes"
	"compress/gzip"
	"debug/macho"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/bom"
	"github.com/instruktai/teleclaude/internal/cpio"
	"github.com/instruktai/teleclaude/internal/xar"
)

// File is one entry of the Payload or of the Scripts.
type File struct {
	// Path relative to the archive's root, slash-separated, without a
	// leading "./"; "." is the root itself.
	Path     string
	Mode     fs.FileMode // permission bits, plus fs.ModeDir or fs.ModeSymlink
	UID, GID int
	Data     []byte // a file's contents or a symlink's target
}

// Package describes the product archive to build.
type Package struct {
	Identifier string // reverse-DNS, e.g. "ai.instrukt.teleclaude"
	Name       string // the component is Name.pkg inside the archive
	Version    string
	Title      string // shown by Installer
	// HostArchitectures lists Apple's names ("arm64", "x86_64") of the
	// machines the package may be installed on.
	HostArchitectures []string
	MinOSVersion      string // e.g. "12.0"
	InstallLocation   string // usually "/"
	// Payload must list the root "." and every directory before what it
	// contains; these modes and owners are what Installer applies.
	Payload []File
	// Scripts must contain a root "." and may contain "preinstall" and
	// "postinstall" (mode 0755) and any files they use.
	Scripts []File
	ModTime time.Time // every entry's mtime, so equal inputs give equal packages
	// Signer, when set, signs the package (a Developer ID Installer
	// identity for Gatekeeper).
	Signer *xar.Signer
}

// Write builds the package and writes it to w.
func (p *Package) Write(w io.Writer) error {
	if p.Identifier == "" || p.Name == "" || p.Version == "" || p.InstallLocation == "" || len(p.HostArchitectures) == 0 {
		return fmt.Errorf("macpkg: identifier, name, version, install location and host architectures are required")
	}
	mtime := p.ModTime.Unix()
	payload, entries, err := archive(p.Payload, mtime)
	if err != nil {
		return fmt.Errorf("macpkg: payload: %w", err)
	}
	var bomBuf bytes.Buffer
	if err := bom.Write(&bomBuf, entries); err != nil {
		return fmt.Errorf("macpkg: %w", err)
	}
	scripts, _, err := archive(p.Scripts, mtime)
	if err != nil {
		return fmt.Errorf("macpkg: scripts: %w", err)
	}
	var installBytes uint64
	for _, e := range entries {
		installBytes += uint64(e.Size)
	}
	kbytes := (installBytes + 1023) / 1024

	info, err := p.packageInfo(len(entries), kbytes)
	if err != nil {
		return err
	}
	dist, err := p.distribution(kbytes)
	if err != nil {
		return err
	}
	comp := p.Name + ".pkg/"
	return xar.Write(w, []xar.File{
		{Name: "Distribution", Data: dist, Mode: 0o644, Compress: true},
		{Name: comp + "PackageInfo", Data: info, Mode: 0o644, Compress: true},
		{Name: comp + "Bom", Data: bomBuf.Bytes(), Mode: 0o644, Compress: true},
		// Payload and Scripts are gzip'd already and stored as they are.
		{Name: comp + "Payload", Data: payload, Mode: 0o644},
		{Name: comp + "Scripts", Data: scripts, Mode: 0o644},
	}, p.ModTime, p.Signer)
}

// archive writes files as a gzip'd odc cpio archive and returns it with the
// matching Bom entries.
func archive(files []File, mtime int64) ([]byte, []bom.Entry, error) {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	cw := cpio.NewWriter(gz)
	entries := make([]bom.Entry, 0, len(files))
	for _, f := range files {
		if len(f.Data) > 1<<32-1 {
			return nil, nil, fmt.Errorf("%s: files over 4 GiB are not supported", f.Path)
		}
		mode, err := unixMode(f.Mode)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		name := "."
		if f.Path != "." {
			name = "./" + f.Path
		}
		if err := cw.WriteHeader(&cpio.Header{Name: name, Mode: mode, UID: f.UID, GID: f.GID, ModTime: mtime, Size: int64(len(f.Data))}); err != nil {
			return nil, nil, err
		}
		if _, err := cw.Write(f.Data); err != nil {
			return nil, nil, err
		}
		e := bom.Entry{Path: name, Mode: mode, UID: uint32(f.UID), GID: uint32(f.GID), ModTime: uint32(mtime)}
		if !f.Mode.IsDir() {
			e.Size, e.Checksum = uint32(len(f.Data)), bom.Checksum(f.Data)
		}
		if f.Mode&fs.ModeSymlink != 0 {
			e.Link = string(f.Data)
		}
		if f.Mode.IsRegular() {
			if e.Arches, err = fatArches(f.Data); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
		entries = append(entries, e)
	}
	if err := cw.Close(); err != nil {
		return nil, nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), entries, nil
}

// fatArches lists the slices of a universal Mach-O file for its Bom
// record, or nothing for any other file.
func fatArches(data []byte) ([]bom.Arch, error) {
	if len(data) < 4 || binary.BigEndian.Uint32(data) != macho.MagicFat {
		return nil, nil
	}
	ff, err := macho.NewFatFile(bytes.NewReader(data))
	if errors.Is(err, macho.ErrNotFat) {
		return nil, nil // a Java class file shares the magic number
	}
	if err != nil {
		return nil, fmt.Errorf("a damaged universal Mach-O file: %w", err)
	}
	defer ff.Close()
	var arches []bom.Arch
	for _, a := range ff.Arches {
		if uint64(a.Offset)+uint64(a.Size) > uint64(len(data)) {
			return nil, fmt.Errorf("a damaged universal Mach-O file: the %v slice lies past the end", a.Cpu)
		}
		slice := data[a.Offset : a.Offset+a.Size]
		arches = append(arches, bom.Arch{CPUType: uint32(a.Cpu), CPUSubtype: a.SubCpu, Size: a.Size, Checksum: bom.Checksum(slice)})
	}
	return arches, nil
}

func unixMode(m fs.FileMode) (uint32, error) {
	if m&^(fs.ModeDir|fs.ModeSymlink|fs.ModePerm) != 0 {
		return 0, fmt.Errorf("unsupported mode %v", m)
	}
	switch {
	case m.IsDir():
		return cpio.TypeDir | uint32(m.Perm()), nil
	case m&fs.ModeSymlink != 0:
		return cpio.TypeSymlink | uint32(m.Perm()), nil
	default:
		return cpio.TypeReg | uint32(m.Perm()), nil
	}
}

// PackageInfo is the component's description (what pkgbuild writes).
type PackageInfo struct {
	XMLName         xml.Name    `xml:"pkg-info"`
	FormatVersion   int         `xml:"format-version,attr"`
	Identifier      string      `xml:"identifier,attr"`
	Version         string      `xml:"version,attr"`
	InstallLocation string      `xml:"install-location,attr"`
	Auth            string      `xml:"auth,attr"`
	Generator       string      `xml:"generator-version,attr"`
	Payload         InfoPayload `xml:"payload"`
	Scripts         InfoScripts `xml:"scripts"`
}

// InfoPayload sizes the Payload.
type InfoPayload struct {
	NumberOfFiles int    `xml:"numberOfFiles,attr"`
	InstallKBytes uint64 `xml:"installKBytes,attr"`
}

// InfoScripts names the scripts Installer runs.
type InfoScripts struct {
	Preinstall  *ScriptRef `xml:"preinstall"`
	Postinstall *ScriptRef `xml:"postinstall"`
}

// ScriptRef is a script's path inside the Scripts archive.
type ScriptRef struct {
	File string `xml:"file,attr"`
}

func (p *Package) packageInfo(files int, kbytes uint64) ([]byte, error) {
	pi := PackageInfo{FormatVersion: 2, Identifier: p.Identifier, Version: p.Version, InstallLocation: p.InstallLocation,
		Auth: "root", Generator: "teleclaude-macpkg", Payload: InfoPayload{NumberOfFiles: files, InstallKBytes: kbytes}}
	for _, f := range p.Scripts {
		switch f.Path {
		case "preinstall":
			pi.Scripts.Preinstall = &ScriptRef{File: "./preinstall"}
		case "postinstall":
			pi.Scripts.Postinstall = &ScriptRef{File: "./postinstall"}
		}
	}
	return marshal(pi)
}

// Distribution is the product's description (what productbuild writes for
// a single component).
type Distribution struct {
	XMLName        xml.Name       `xml:"installer-gui-script"`
	MinSpecVersion int            `xml:"minSpecVersion,attr"`
	Title          string         `xml:"title"`
	Options        DistOptions    `xml:"options"`
	Domains        DistDomains    `xml:"domains"`
	VolumeCheck    *VolumeCheck   `xml:"volume-check,omitempty"`
	Outline        ChoicesOutline `xml:"choices-outline"`
	Choices        []Choice       `xml:"choice"`
	PkgRef         PkgRef         `xml:"pkg-ref"`
}

// DistOptions are Installer's options for the product.
type DistOptions struct {
	Customize         string `xml:"customize,attr"`
	RequireScripts    bool   `xml:"require-scripts,attr"`
	HostArchitectures string `xml:"hostArchitectures,attr"`
}

// DistDomains says where the product may be installed.
type DistDomains struct {
	Anywhere        bool `xml:"enable_anywhere,attr"`
	CurrentUserHome bool `xml:"enable_currentUserHome,attr"`
	LocalSystem     bool `xml:"enable_localSystem,attr"`
}

// VolumeCheck holds the oldest macOS the product installs on.
type VolumeCheck struct {
	MinOS struct {
		Min string `xml:"min,attr"`
	} `xml:"allowed-os-versions>os-version"`
}

// ChoicesOutline is the tree of choices Installer shows.
type ChoicesOutline struct {
	Line Line `xml:"line"`
}

// Line is one node of the choices outline.
type Line struct {
	Choice string `xml:"choice,attr"`
	Lines  []Line `xml:"line"`
}

// Choice is one installable choice.
type Choice struct {
	ID      string     `xml:"id,attr"`
	Visible *bool      `xml:"visible,attr"`
	PkgRefs []PkgRefID `xml:"pkg-ref"`
}

// PkgRefID refers to a component from a choice.
type PkgRefID struct {
	ID string `xml:"id,attr"`
}

// PkgRef locates a component inside the archive.
type PkgRef struct {
	ID            string `xml:"id,attr"`
	Version       string `xml:"version,attr"`
	OnConclusion  string `xml:"onConclusion,attr"`
	InstallKBytes uint64 `xml:"installKBytes,attr"`
	Location      string `xml:",chardata"`
}

func (p *Package) distribution(kbytes uint64) ([]byte, error) {
	hidden := false
	d := Distribution{
		MinSpecVersion: 2,
		Title:          p.Title,
		Options:        DistOptions{Customize: "never", HostArchitectures: strings.Join(p.HostArchitectures, ",")},
		// The startup disk only: the scripts set up the running system
		// (its users, its launchd), which another volume is not.
		Domains: DistDomains{LocalSystem: true},
		Outline: ChoicesOutline{Line: Line{Choice: "default", Lines: []Line{{Choice: p.Identifier}}}},
		Choices: []Choice{{ID: "default"}, {ID: p.Identifier, Visible: &hidden, PkgRefs: []PkgRefID{{ID: p.Identifier}}}},
		PkgRef:  PkgRef{ID: p.Identifier, Version: p.Version, OnConclusion: "none", InstallKBytes: kbytes, Location: "#" + p.Name + ".pkg"},
	}
	if p.MinOSVersion != "" {
		d.VolumeCheck = &VolumeCheck{}
		d.VolumeCheck.MinOS.Min = p.MinOSVersion
	}
	return marshal(d)
}

func marshal(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("macpkg: %w", err)
	}
	return append(append([]byte(xml.Header), b...), '\n'), nil
}
