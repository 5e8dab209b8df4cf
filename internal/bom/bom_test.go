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
