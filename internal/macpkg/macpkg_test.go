package macpkg_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/macpkg"
	"github.com/instruktai/teleclaude/internal/macpkg/macpkgtest"
)

func sample() *macpkg.Package {
	return &macpkg.Package{
		Identifier: "org.example.tool", Name: "tool", Version: "1.2.3", Title: "Tool",
		HostArchitectures: []string{"arm64"}, MinOSVersion: "12.0", InstallLocation: "/",
		Payload: []macpkg.File{
			{Path: ".", Mode: fs.ModeDir | 0o755},
			{Path: "opt", Mode: fs.ModeDir | 0o755, GID: 80},
			{Path: "opt/tool", Mode: fs.ModeDir | 0o750, UID: 0, GID: 0},
			{Path: "opt/tool/bin", Mode: 0o755, Data: bytes.Repeat([]byte("\xcf\xfa\xed\xfe"), 5000)},
			{Path: "opt/tool/empty", Mode: 0o644},
			{Path: "opt/tool/link", Mode: fs.ModeSymlink | 0o755, Data: []byte("bin")},
		},
		Scripts: []macpkg.File{
			{Path: ".", Mode: fs.ModeDir | 0o755},
			{Path: "postinstall", Mode: 0o755, Data: []byte("#!/bin/sh\nexit 0\n")},
			{Path: "helper.sh", Mode: 0o644, Data: []byte("x=1\n")},
		},
		ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func build(t *testing.T, p *macpkg.Package) string {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "tool.pkg")
	if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPackageReadsBack(t *testing.T) {
	p := sample()
	c := macpkgtest.Open(t, build(t, p))

	want := []string{"Distribution", "tool.pkg", "tool.pkg/Bom", "tool.pkg/PackageInfo", "tool.pkg/Payload", "tool.pkg/Scripts"}
	if !slices.Equal(c.Members, want) {
		t.Errorf("members %q, want %q", c.Members, want)
	}
	for i, f := range p.Payload {
		if i >= len(c.Payload) {
			t.Fatalf("the Payload has %d entries, want %d", len(c.Payload), len(p.Payload))
		}
		got := c.Payload[i]
		name := "./" + f.Path
		if f.Path == "." {
			name = "."
		}
		mode := uint32(f.Mode.Perm())
		switch {
		case f.Mode.IsDir():
			mode |= 0o040000
		case f.Mode&fs.ModeSymlink != 0:
			mode |= 0o120000
		default:
			mode |= 0o100000
		}
		if got.Name != name || got.Mode != mode || got.UID != f.UID || got.GID != f.GID {
			t.Errorf("payload entry %d = %s %o %d:%d, want %s %o %d:%d", i, got.Name, got.Mode, got.UID, got.GID, name, mode, f.UID, f.GID)
		}
	}
	if len(c.Scripts) != 3 || c.Scripts[1].Name != "./postinstall" || c.Scripts[1].Mode != 0o100755 {
		t.Errorf("scripts = %+v", c.Scripts)
	}
	c.CheckBom(t)

	if c.Info.Identifier != "org.example.tool" || c.Info.Version != "1.2.3" || c.Info.InstallLocation != "/" || c.Info.Auth != "root" ||
		c.Info.Payload.NumberOfFiles != 6 || c.Info.Payload.InstallKBytes != 20 ||
		c.Info.Scripts.Postinstall == nil || c.Info.Scripts.Postinstall.File != "./postinstall" || c.Info.Scripts.Preinstall != nil {
		t.Errorf("PackageInfo = %+v", c.Info)
	}
	d := c.Dist
	if d.Options.HostArchitectures != "arm64" || d.PkgRef.Location != "#tool.pkg" || d.PkgRef.ID != "org.example.tool" ||
		!d.Domains.LocalSystem || d.Domains.Anywhere || d.Domains.CurrentUserHome || d.VolumeCheck == nil || d.VolumeCheck.MinOS.Min != "12.0" ||
		d.Title != "Tool" || len(d.Choices) != 2 || d.Choices[1].PkgRefs[0].ID != "org.example.tool" {
		t.Errorf("Distribution = %+v", d)
	}
}

func TestReproducible(t *testing.T) {
	a, _ := os.ReadFile(build(t, sample()))
	b, _ := os.ReadFile(build(t, sample()))
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same package differ")
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*macpkg.Package)
		want   string
	}{
		{"no root in the payload", func(p *macpkg.Package) { p.Payload = p.Payload[1:] }, "root"},
		{"file before its directory", func(p *macpkg.Package) { p.Payload[2], p.Payload[3] = p.Payload[3], p.Payload[2] }, "before its directory"},
		{"setuid", func(p *macpkg.Package) { p.Payload[3].Mode |= fs.ModeSetuid }, "unsupported mode"},
		{"no version", func(p *macpkg.Package) { p.Version = "" }, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sample()
			tt.change(p)
			err := p.Write(&bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
