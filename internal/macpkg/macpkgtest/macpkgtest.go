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
	"debug/macho"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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
	BomData   []byte
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
	c.BomData = data
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
// entries, in order, with their modes, owners, times, sizes and cksum CRCs
// (and, for a universal program, each architecture's slice with its size
// and CRC, as the fat header read by debug/macho gives them), and unless
// every Payload path is found by key lookup, the binary search Apple's
// readers do. It also compares the lsbom-style listing of the two.
func (c *Contents) CheckBom(t testing.TB) {
	t.Helper()
	if len(c.Bom) != len(c.Payload) {
		t.Errorf("the Bom lists %d paths, the Payload holds %d", len(c.Bom), len(c.Payload))
	}
	b, err := bom.Open(c.BomData)
	if err != nil {
		t.Fatal(err)
	}
	var fromBom, fromPayload []string
	for i := range min(len(c.Bom), len(c.Payload)) {
		p := c.Payload[i]
		want := bom.Entry{Path: p.Name, Mode: p.Mode, UID: uint32(p.UID), GID: uint32(p.GID), ModTime: uint32(p.ModTime)}
		switch p.Mode & 0o170000 {
		case bom.TypeReg:
			want.Size, want.Checksum = uint32(len(p.Data)), testenv.Cksum(t, p.Data)
			if ff, err := macho.NewFatFile(bytes.NewReader(p.Data)); err == nil {
				for _, a := range ff.Arches {
					want.Arches = append(want.Arches, bom.Arch{CPUType: uint32(a.Cpu), CPUSubtype: a.SubCpu, Size: a.Size,
						Checksum: testenv.Cksum(t, p.Data[a.Offset:a.Offset+a.Size])})
				}
			}
		case bom.TypeSymlink:
			want.Size, want.Checksum, want.Link = uint32(len(p.Link)), testenv.Cksum(t, []byte(p.Link)), p.Link
		}
		if !reflect.DeepEqual(c.Bom[i], want) {
			t.Errorf("Bom entry %d = %+v\nthe Payload says %+v", i, c.Bom[i], want)
		}
		if got, ok := b.Lookup(p.Name); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("looking up %s in the Bom: %+v, %v", p.Name, got, ok)
		}
		fromBom = append(fromBom, Lsbom(c.Bom[i]))
		fromPayload = append(fromPayload, Lsbom(want))
	}
	if !slices.Equal(fromBom, fromPayload) {
		t.Errorf("lsbom of the Bom:\n%s\nof the Payload:\n%s", strings.Join(fromBom, "\n"), strings.Join(fromPayload, "\n"))
	}
}

// Lsbom formats an entry the way `lsbom` prints it by default: path, octal
// mode, uid/gid, and for files and symlinks the size and CRC (and the
// target).
func Lsbom(e bom.Entry) string {
	s := fmt.Sprintf("%s\t%o\t%d/%d", e.Path, e.Mode, e.UID, e.GID)
	switch e.Mode & 0o170000 {
	case bom.TypeReg:
		s += fmt.Sprintf("\t%d\t%d", e.Size, e.Checksum)
	case bom.TypeSymlink:
		s += fmt.Sprintf("\t%d\t%d\t%s", e.Size, e.Checksum, e.Link)
	}
	return s
}
