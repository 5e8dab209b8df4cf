package cpio

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/testenv"
)

type entry struct {
	h    Header
	data string
}

func archive(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range entries {
		h := e.h
		h.Size = int64(len(e.data))
		if err := w.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHeaderBytes(t *testing.T) {
	got := archive(t, []entry{{Header{Name: "./a", Mode: TypeReg | 0o644, UID: 0, GID: 80, ModTime: 1700000000}, "hi\n"}})
	want := "070707" + "000000" + "000001" + "100644" + "000000" + "000120" + "000001" + "000000" +
		"14524770400" + "000004" + "00000000003" + "./a\x00" + "hi\n" +
		"070707" + "000000" + "000000" + "000000" + "000000" + "000000" + "000001" + "000000" +
		"00000000000" + "000013" + "00000000000" + "TRAILER!!!\x00"
	if string(got) != want {
		t.Errorf("archive =\n%q\nwant\n%q", got, want)
	}
}

// TestBsdtarReadsIt has libarchive, an independent reader, convert our
// archive to tar, and compares every field through Go's archive/tar.
func TestBsdtarReadsIt(t *testing.T) {
	bsdtar := testenv.Tool(t, "bsdtar")
	in := []entry{
		{Header{Name: ".", Mode: TypeDir | 0o755, ModTime: 1700000000}, ""},
		{Header{Name: "./Library/Application Support", Mode: TypeDir | 0o755, GID: 80, ModTime: 1700000000}, ""},
		{Header{Name: "./Library/Application Support/run.sh", Mode: TypeReg | 0o755, UID: 350, GID: 351, ModTime: 1700000001}, "#!/bin/sh\necho hi\n"},
		{Header{Name: "./empty", Mode: TypeReg | 0o600, ModTime: 1700000002}, ""},
		{Header{Name: "./link", Mode: TypeSymlink | 0o755, ModTime: 1700000003}, "Library/Application Support/run.sh"},
	}
	cmd := exec.Command(bsdtar, "-cf", "-", "--format", "pax", "@-")
	cmd.Stdin = bytes.NewReader(archive(t, in))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bsdtar: %v: %s", err, stderr.String())
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			if i != len(in) {
				t.Fatalf("bsdtar read %d entries, want %d", i, len(in))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := in[i]
		data, _ := io.ReadAll(tr)
		typ := map[uint32]byte{TypeDir: tar.TypeDir, TypeReg: tar.TypeReg, TypeSymlink: tar.TypeSymlink}[want.h.Mode&typeMask]
		if h.Name != strings.TrimSuffix(want.h.Name, "/") && h.Name != want.h.Name+"/" {
			t.Errorf("entry %d name = %q, want %q", i, h.Name, want.h.Name)
		}
		if h.Typeflag != typ || h.Mode&0o7777 != int64(want.h.Mode&0o7777) || h.Uid != want.h.UID || h.Gid != want.h.GID || h.ModTime.Unix() != want.h.ModTime {
			t.Errorf("%s: type %c mode %o uid %d gid %d mtime %d, want type %c mode %o uid %d gid %d mtime %d", want.h.Name,
				h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), typ, want.h.Mode&0o7777, want.h.UID, want.h.GID, want.h.ModTime)
		}
		if typ == tar.TypeSymlink {
			if h.Linkname != want.data {
				t.Errorf("%s: link target %q, want %q", want.h.Name, h.Linkname, want.data)
			}
		} else if string(data) != want.data {
			t.Errorf("%s: data %q, want %q", want.h.Name, data, want.data)
		}
	}
}

func TestRefusesWhatOdcCannotHold(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		want string
	}{
		{"uid over 18 bits", Header{Name: "./x", Mode: TypeReg | 0o644, UID: 1 << 18}, "uid 262144 does not fit"},
		{"negative gid", Header{Name: "./x", Mode: TypeReg | 0o644, GID: -1}, "gid -1"},
		{"size over 33 bits", Header{Name: "./x", Mode: TypeReg | 0o644, Size: 1 << 33}, "size 8589934592"},
		{"device node", Header{Name: "./x", Mode: 0o020000 | 0o644}, "unsupported file type"},
		{"directory with data", Header{Name: "./d", Mode: TypeDir | 0o755, Size: 1}, "has no data"},
		{"trailer name", Header{Name: Trailer, Mode: TypeReg | 0o644}, "invalid entry name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewWriter(io.Discard).WriteHeader(&tt.h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSizeIsEnforced(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.WriteHeader(&Header{Name: "./a", Mode: TypeReg | 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("abc")); !errors.Is(err, ErrWriteTooLong) {
		t.Errorf("overlong write: err = %v, want ErrWriteTooLong", err)
	}
	w.Write([]byte("a"))
	if err := w.WriteHeader(&Header{Name: "./b", Mode: TypeReg | 0o644}); err == nil {
		t.Error("header after a short entry succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a short entry succeeded")
	}
}
