package bom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/testenv"
)

// TestChecksumIsCksum compares Checksum with the cksum program's CRC.
func TestChecksumIsCksum(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 1<<20+3)
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	for _, data := range [][]byte{nil, []byte("a"), []byte("hello\n"), bytes.Repeat([]byte{0xff}, 256), big[:65536], big} {
		if got, want := Checksum(data), testenv.Cksum(t, data); got != want {
			t.Errorf("Checksum of %d bytes = %d, cksum says %d", len(data), got, want)
		}
	}
}

func sample() []Entry {
	return []Entry{
		{Path: ".", Mode: TypeDir | 0o755, ModTime: 1700000000},
		{Path: "./Library", Mode: TypeDir | 0o755, ModTime: 1700000000},
		{Path: "./Library/Application Support", Mode: TypeDir | 0o755, GID: 80, ModTime: 1700000000},
		{Path: "./Library/Application Support/x", Mode: TypeReg | 0o644, ModTime: 1700000001, Size: 6, Checksum: Checksum([]byte("hello\n"))},
		{Path: "./Library/l", Mode: TypeSymlink | 0o755, ModTime: 1700000002, Size: 24, Checksum: Checksum([]byte("Application Support/x.sh")), Link: "Application Support/x.sh"},
		{Path: "./Library/Zeta", Mode: TypeReg | 0o4755, UID: 350, GID: 351, ModTime: 1700000003},
	}
}

func write(t *testing.T, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	many := []Entry{{Path: ".", Mode: TypeDir | 0o755}, {Path: "./d", Mode: TypeDir | 0o700}}
	for i := range 2*perNode + 7 { // three leaves under a branch node
		name := fmt.Sprintf("./d/f%04d", i)
		many = append(many, Entry{Path: name, Mode: TypeReg | 0o600, Size: uint32(i), Checksum: uint32(i * 7), ModTime: uint32(i)})
	}
	for name, entries := range map[string][]Entry{"sample": sample(), "root only": sample()[:1], "many": many} {
		t.Run(name, func(t *testing.T) {
			got, err := Read(write(t, entries))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, entries) {
				t.Errorf("Read(Write(entries)) =\n%+v\nwant\n%+v", got, entries)
			}
		})
	}
}

// TestLayout pins the bytes that the published descriptions of the format
// agree on, so that a change to them is a deliberate one.
func TestLayout(t *testing.T) {
	data := write(t, sample())
	if string(data[:8]) != "BOMStore" || binary.BigEndian.Uint32(data[8:]) != 1 {
		t.Fatalf("header starts %q", data[:12])
	}
	// The file record of ./Library/Application Support/x.
	want := []byte{
		1, 1, 0x00, 0x0f, // file, 1, flags: full record, not Mach-O
		0x81, 0xa4, // mode 0100644
		0, 0, 0, 0, 0, 0, 0, 0, // uid 0, gid 0
		0x65, 0x53, 0xf1, 0x01, // mtime 1700000001
		0, 0, 0, 6, // size
		1,
		0xb3, 0xbe, 0xab, 0x91, // cksum CRC of "hello\n": 3015617425
		0, 0, 0, 0, 0, 0, 0, 0,
	}
	if !bytes.Contains(data, want) {
		t.Errorf("no file record % x in the Bom", want)
	}
	// The directory record of ".".
	dir := []byte{2, 1, 0x00, 0x0f, 0x41, 0xed, 0, 0, 0, 0, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Contains(data, dir) {
		t.Errorf("no directory record % x in the Bom", dir)
	}
	// The symlink record carries the target with its NUL and its length.
	link := append([]byte{0, 0, 0, 25}, "Application Support/x.sh\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
	if !bytes.Contains(data, link) {
		t.Errorf("no link target record in the Bom")
	}
	for _, v := range []string{"\x07BomInfo", "\x05Paths", "\x07HLIndex", "\x06VIndex", "\x06Size64"} {
		if !bytes.Contains(data, []byte(v)) {
			t.Errorf("no var %q", v[1:])
		}
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"no root", sample()[1:], "first entry must be the root"},
		{"child before parent", []Entry{sample()[0], sample()[3]}, "comes before its directory"},
		{"unclean path", []Entry{sample()[0], {Path: "./a/../b", Mode: TypeDir | 0o755}}, "must be clean"},
		{"no ./ prefix", []Entry{sample()[0], {Path: "Library", Mode: TypeDir | 0o755}}, "must be clean"},
		{"twice", []Entry{sample()[0], sample()[1], sample()[1]}, "listed twice"},
		{"symlink without target", []Entry{sample()[0], {Path: "./l", Mode: TypeSymlink | 0o755}}, "needs its target"},
		{"device", []Entry{sample()[0], {Path: "./dev", Mode: 0o020644}}, "unsupported file type"},
		{"one architecture", []Entry{sample()[0], {Path: "./f", Mode: TypeReg | 0o755, Size: 9, Arches: []Arch{{CPUType: 7, Size: 9}}}}, "two or more architectures"},
		{"architectures too large", []Entry{sample()[0], {Path: "./f", Mode: TypeReg | 0o755, Size: 9, Arches: []Arch{{CPUType: 7, Size: 5}, {CPUType: 12, Size: 5}}}}, "larger than the file"},
		{"directory with size", []Entry{sample()[0], {Path: "./d", Mode: TypeDir | 0o755, Size: 3}}, "a directory has no size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tt.entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReadRejectsDamage(t *testing.T) {
	good := write(t, sample())
	tests := []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"not a bom", func(b []byte) []byte { return append([]byte("BOMStorX"), b[8:]...) }, "not a BOMStore"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-20] }, "past the end"},
		{"flags", func(b []byte) []byte {
			i := bytes.Index(b, []byte{1, 1, 0x00, 0x0f, 0x81, 0xa4})
			b[i+3] = 0x03
			return b
		}, "flags"},
		{"record type", func(b []byte) []byte {
			i := bytes.Index(b, []byte{1, 1, 0x00, 0x0f, 0x81, 0xa4})
			b[i] = 2
			return b
		}, "does not match mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.damage(bytes.Clone(good)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// pkgTree is a Payload in the package's own depth-first order, which is
// not the key order: ./a/bin's files have a parent id below those of ./a's
// later files, and names sort "Zeta" before "bin".
func pkgTree() []Entry {
	f := func(p string, data string) Entry {
		return Entry{Path: p, Mode: TypeReg | 0o644, Size: uint32(len(data)), Checksum: Checksum([]byte(data)), ModTime: 1700000000}
	}
	d := func(p string) Entry { return Entry{Path: p, Mode: TypeDir | 0o755, ModTime: 1700000000} }
	return []Entry{
		d("."), d("./a"), d("./a/bin"), f("./a/bin/telec", "t"), f("./a/bin/teleclaude", "tc"),
		f("./a/config.example.yml", "c"), f("./a/uninstall", "u"), d("./Z"), f("./Z/x", ""), f("./a/Zeta", "z"),
	}
}

// leafKeys walks the Paths tree's leaves through their next links and
// returns their keys in stored order.
func leafKeys(t *testing.T, b *Bom) []key {
	t.Helper()
	rec := rd{b: b.r.blockOr(b.paths)}
	rec.take(8)
	node := rec.u32()
	for {
		nr := rd{b: b.r.blockOr(node)}
		if nr.u16() == 1 {
			break
		}
		nr.u16()
		nr.take(8)
		node = nr.u32() // the first child
	}
	var keys []key
	for node != 0 {
		nr := rd{b: b.r.blockOr(node)}
		nr.u16()
		n := nr.u16()
		next := nr.u32()
		nr.u32()
		for range n {
			nr.u32()
			k, err := b.r.key(nr.u32())
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		node = next
	}
	return keys
}

// TestKeyOrderAndLookup: the leaves hold (parent id, name) in ascending
// order across leaf boundaries, and every path is found by binary search.
func TestKeyOrderAndLookup(t *testing.T) {
	many := []Entry{{Path: ".", Mode: TypeDir | 0o755}, {Path: "./d", Mode: TypeDir | 0o700}, {Path: "./c", Mode: TypeDir | 0o700}}
	for i := range 2*perNode + 7 { // three leaves under a branch node
		// Descending names and two parents, so that input order is far
		// from key order.
		dir := []string{"./d", "./c"}[i%2]
		many = append(many, Entry{Path: fmt.Sprintf("%s/f%04d", dir, 9999-i), Mode: TypeReg | 0o600, Size: uint32(i), Checksum: uint32(i * 7)})
	}
	for name, entries := range map[string][]Entry{"package": pkgTree(), "many": many} {
		t.Run(name, func(t *testing.T) {
			b, err := Open(write(t, entries))
			if err != nil {
				t.Fatal(err)
			}
			keys := leafKeys(t, b)
			if len(keys) != len(entries) {
				t.Fatalf("the leaves hold %d keys, want %d", len(keys), len(entries))
			}
			for i := 1; i < len(keys); i++ {
				if !keys[i-1].less(keys[i]) {
					t.Errorf("leaf key %d (%d, %q) is not above key %d (%d, %q)", i, keys[i].parent, keys[i].name, i-1, keys[i-1].parent, keys[i-1].name)
				}
			}
			for _, e := range entries {
				got, ok := b.Lookup(e.Path)
				if !ok || !reflect.DeepEqual(got, e) {
					t.Errorf("Lookup(%q) = %+v, %v; want %+v", e.Path, got, ok, e)
				}
			}
			for _, p := range []string{"./nope", "./a/bin/telecx", "./d/f0000", "./a/bin/telec/x", "a"} {
				if e, ok := b.Lookup(p); ok {
					t.Errorf("Lookup(%q) found %+v", p, e)
				}
			}
			if !reflect.DeepEqual(b.Entries, entries) {
				t.Error("Entries are not the input in id order")
			}
		})
	}
}

// TestReadChecksKeyOrder: a leaf with two pairs swapped, which a binary
// search would get lost in, is refused.
func TestReadChecksKeyOrder(t *testing.T) {
	data := write(t, pkgTree())
	b, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	rec := rd{b: b.r.blockOr(b.paths)}
	rec.take(8)
	leaf := b.r.blocks[rec.u32()]
	p := data[leaf.off+nodeHeaderLen:]
	var a, c [8]byte
	copy(a[:], p[8:16])
	copy(c[:], p[16:24])
	copy(p[8:16], c[:])
	copy(p[16:24], a[:])
	if _, err := Read(data); err == nil || !strings.Contains(err.Error(), "not in key order") {
		t.Errorf("Read of a swapped leaf: err = %v, want one about key order", err)
	}
}

// TestAppleFields pins the fields where Apple's pkgbuild Boms differ from
// other tools': BomInfo counts n+1 paths and sums sizes per CPU type,
// VIndex ends in 0, Size64 uses 4096-byte blocks, tree nodes fill their
// blocks, and a universal program carries its architectures.
func TestAppleFields(t *testing.T) {
	entries := pkgTree()
	fat := Entry{Path: "./a/fat", Mode: TypeReg | 0o755, Size: 40000, Checksum: 7,
		Arches: []Arch{{CPUType: 0x01000007, CPUSubtype: 3, Size: 15000, Checksum: 1}, {CPUType: 0x0100000c, CPUSubtype: 0, Size: 16000, Checksum: 2}}}
	entries = append(entries, fat)
	data := write(t, entries)
	b, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]uint32{}
	vr := rd{b: data[binary.BigEndian.Uint32(data[24:]):]}
	for range vr.u32() {
		idx := vr.u32()
		vars[string(vr.take(int(vr.u8())))] = idx
	}
	var plain uint32
	for _, e := range entries[:len(entries)-1] {
		plain += e.Size
	}
	info := be{}.u32(1).u32(uint32(len(entries) + 1)).u32(3).
		u32(0).u32(0).u32(plain).u32(0).
		u32(0x01000007).u32(0).u32(15000).u32(0).
		u32(0x0100000c).u32(0).u32(16000).u32(0)
	if got := b.r.blockOr(vars["BomInfo"]); !bytes.Equal(got, info) {
		t.Errorf("BomInfo = % x\nwant      % x", got, info)
	}
	vindex := b.r.blockOr(vars["VIndex"])
	if len(vindex) != 13 || binary.BigEndian.Uint32(vindex) != 1 || vindex[12] != 0 || binary.BigEndian.Uint32(vindex[8:]) != 0 {
		t.Errorf("VIndex = % x, want 1, the tree, 0, 0", vindex)
	}
	vtree := b.r.blockOr(binary.BigEndian.Uint32(vindex[4:]))
	for name, tr := range map[string][]byte{"Size64": b.r.blockOr(vars["Size64"]), "HLIndex": b.r.blockOr(vars["HLIndex"]),
		"Paths": b.r.blockOr(vars["Paths"]), "VIndex's": vtree} {
		want := uint32(4096)
		if name == "VIndex's" {
			want = 128
		}
		if got := binary.BigEndian.Uint32(tr[12:]); got != want {
			t.Errorf("%s tree: block size %d, want %d", name, got, want)
		}
		if root := b.r.blockOr(binary.BigEndian.Uint32(tr[8:])); uint32(len(root)) != want {
			t.Errorf("%s tree: root node of %d bytes, want the whole block of %d", name, len(root), want)
		}
	}
	rec := []byte{1, 1, 0x20, 0x0f, 0x81, 0xed, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x9c, 0x40, 1, 0, 0, 0, 7,
		1, 0, 0, 0, 2,
		1, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0x3a, 0x98, 0, 0, 0, 1,
		1, 0, 0, 0xc, 0, 0, 0, 0, 0, 0, 0x3e, 0x80, 0, 0, 0, 2,
		0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Contains(data, rec) {
		t.Errorf("no universal file record % x", rec)
	}
	if got, ok := b.Lookup("./a/fat"); !ok || !reflect.DeepEqual(got, fat) {
		t.Errorf("Lookup(./a/fat) = %+v, %v", got, ok)
	}
}
