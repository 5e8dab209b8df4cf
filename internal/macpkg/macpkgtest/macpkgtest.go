// Package macpkgtest opens a built .pkg the way a test should: with tools
// that share no code with the writer. bsdtar (libarchive) lists the xar
// archive, which checks its TOC checksum, and extracts it, which checks
// every file's checksums; it converts the Payload and Scripts cpio archives
// to tar for Go's archive/tar to read field by field; the cksum program
// computes the CRCs that the Bom must hold.
package macpkgtest

import (
	"archive/tar"
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/bom"
	"github.com/instruktai/teleclaude/internal/macpkg"
	"github.com/instruktai/teleclaude/internal/testenv"
)

// Item is one entry of the Payload or Scripts archive, as bsdtar read it.
type Item struct {
	Name     string // "." or "./a/b"
	Mode     uint32 // type bits | permission bits
	UID, GID int
	Size     int64
	ModTime  int64 // seconds since the epoch
	Link     string
	Data     []byte
}

// Contents is a package taken apart.
type Contents struct {
	Dir       string   // where bsdtar extracted the xar archive
	Members   []string // what bsdtar -t listed, sorted
	Component string   // "NAME.pkg"
	Info      macpkg.PackageInfo
	Dist      macpkg.Distribution
	Payload   []Item
	Scripts   []Item
	Bom       []bom.Entry
}

// Open takes the package in file pkg apart, failing the test on any error.
func Open(t testing.TB, pkg string) *Contents {
	t.Helper()
	bsdtar := testenv.Tool(t, "bsdtar")
	c := &Contents{Dir: t.TempDir()}
	out, err := exec.Command(bsdtar, "-tf", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("bsdtar -tf %s: %v: %s", pkg, err, out)
	}
	c.Members = strings.Fields(string(out))
	slices.Sort(c.Members)
	if out, err := exec.Command(bsdtar, "-xf", pkg, "-C", c.Dir).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("bsdtar -xf %s: %v: %s", pkg, err, out)
	}
	for _, m := range c.Members {
		if strings.HasSuffix(m, ".pkg") && !strings.Contains(m, "/") {
			c.Component = m
		}
	}
	if c.Component == "" {
		t.Fatalf("no component package among %q", c.Members)
	}
	readXML(t, filepath.Join(c.Dir, "Distribution"), &c.Dist)
	comp := filepath.Join(c.Dir, c.Component)
	readXML(t, filepath.Join(comp, "PackageInfo"), &c.Info)
	c.Payload = items(t, bsdtar, filepath.Join(comp, "Payload"))
	c.Scripts = items(t, bsdtar, filepath.Join(comp, "Scripts"))
	data, err := os.ReadFile(filepath.Join(comp, "Bom"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bom, err = bom.Read(data); err != nil {
		t.Fatalf("reading the Bom: %v", err)
	}
	return c
}

func readXML(t testing.TB, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// items has bsdtar convert a (gzip'd cpio) archive to tar and reads it.
func items(t testing.TB, bsdtar, archive string) []Item {
	t.Helper()
	cmd := exec.Command(bsdtar, "-cf", "-", "--format", "pax", "@"+archive)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("bsdtar reading %s: %v: %s", archive, err, stderr.String())
	}
	types := map[byte]uint32{tar.TypeDir: bom.TypeDir, tar.TypeReg: bom.TypeReg, tar.TypeSymlink: bom.TypeSymlink}
	var list []Item
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return list
		}
		if err != nil {
			t.Fatal(err)
		}
		typ, ok := types[h.Typeflag]
		if !ok {
			t.Fatalf("%s: %s has tar type %q", archive, h.Name, h.Typeflag)
		}
		data, _ := io.ReadAll(tr)
		list = append(list, Item{Name: strings.TrimSuffix(h.Name, "/"), Mode: typ | uint32(h.Mode&0o7777),
			UID: h.Uid, GID: h.Gid, Size: h.Size, ModTime: h.ModTime.Unix(), Link: h.Linkname, Data: data})
	}
}

// CheckBom fails the test unless the Bom lists exactly the Payload's
// entries, in order, with their modes, owners, times, sizes and cksum CRCs.
func (c *Contents) CheckBom(t testing.TB) {
	t.Helper()
	if len(c.Bom) != len(c.Payload) {
		t.Errorf("the Bom lists %d paths, the Payload holds %d", len(c.Bom), len(c.Payload))
	}
	for i := range min(len(c.Bom), len(c.Payload)) {
		b, p := c.Bom[i], c.Payload[i]
		want := bom.Entry{Path: p.Name, Mode: p.Mode, UID: uint32(p.UID), GID: uint32(p.GID), ModTime: uint32(p.ModTime)}
		switch p.Mode & 0o170000 {
		case bom.TypeReg:
			want.Size, want.Checksum = uint32(len(p.Data)), testenv.Cksum(t, p.Data)
		case bom.TypeSymlink:
			want.Size, want.Checksum, want.Link = uint32(len(p.Link)), testenv.Cksum(t, []byte(p.Link)), p.Link
		}
		if b != want {
			t.Errorf("Bom entry %d = %+v\nthe Payload says %+v", i, b, want)
		}
	}
}
