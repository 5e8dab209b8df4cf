package machofat

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/testenv"
)

// build cross-compiles a tiny program for darwin/arch; it prints the
// architecture it was built for, so each slice is that architecture's code.
func build(t *testing.T, arch string) []byte {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"runtime\"\n\nfunc main() { println(runtime.GOARCH) }\n"), 0o644)
	cmd := exec.Command("go", "build", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=darwin", "GOARCH="+arch, "GOFLAGS=-trimpath")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for darwin/%s: %v\n%s", arch, err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestJoin(t *testing.T) {
	arm, amd := build(t, "arm64"), build(t, "amd64")
	fat, err := Join(Slice{"arm64", arm}, Slice{"amd64", amd})
	if err != nil {
		t.Fatal(err)
	}

	// debug/macho reads fat headers as lipo does.
	ff, err := macho.NewFatFile(bytes.NewReader(fat))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		cpu   macho.Cpu
		align uint32
		data  []byte
	}{{macho.CpuAmd64, 12, amd}, {macho.CpuArm64, 14, arm}}
	if len(ff.Arches) != len(want) {
		t.Fatalf("%d slices, want 2", len(ff.Arches))
	}
	for i, a := range ff.Arches {
		w := want[i]
		slice := fat[a.Offset : a.Offset+a.Size]
		if a.Cpu != w.cpu || a.Align != w.align || a.Offset%(1<<a.Align) != 0 || !bytes.Equal(slice, w.data) ||
			a.File.Cpu != w.cpu || a.File.Type != macho.TypeExec {
			t.Errorf("slice %d: %v at %d (align 2^%d, %d bytes), want %v's program unchanged at a 2^%d boundary", i, a.Cpu, a.Offset, a.Align, a.Size, w.cpu, w.align)
		}
		if !bytes.Contains(slice, []byte(map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[a.Cpu])) {
			t.Errorf("slice %d does not hold its architecture's name", i)
		}
	}
	// The slices do not overlap and the file ends with the last one.
	if end := ff.Arches[1].Offset + ff.Arches[1].Size; ff.Arches[0].Offset+ff.Arches[0].Size > ff.Arches[1].Offset || int(end) != len(fat) {
		t.Errorf("slices overlap or leave a tail: %+v, %d bytes", ff.Arches, len(fat))
	}

	// file(1) (libmagic) shares no code with us or Go.
	path := filepath.Join(t.TempDir(), "fat")
	os.WriteFile(path, fat, 0o755)
	out, err := exec.Command(testenv.Tool(t, "file"), "-b", path).CombinedOutput()
	if err != nil {
		t.Fatalf("file: %v: %s", err, out)
	}
	// libmagic prints the slices with escaped newlines: "[x86_64:\\012- Mach-O 64-bit x86_64 executable, ...]".
	re := regexp.MustCompile(`^Mach-O universal binary with 2 architectures: \[x86_64:.*Mach-O 64-bit x86_64 executable.*\] \[.*arm64:.*Mach-O 64-bit arm64 executable`)
	if !re.Match(out) {
		t.Errorf("file says %q", out)
	}
}

func TestJoinRejects(t *testing.T) {
	amd := build(t, "amd64")
	obj := bytes.Clone(amd)
	binary.LittleEndian.PutUint32(obj[12:], uint32(macho.TypeObj))
	for _, tt := range []struct {
		in   []Slice
		want string
	}{
		{[]Slice{{"amd64", amd}}, "two or more programs"},
		{[]Slice{{"amd64", amd}, {"script", []byte("#!/bin/sh\n")}}, "script is not a thin Mach-O program"},
		{[]Slice{{"amd64", amd}, {"again", amd}}, "two programs for CpuAmd64"},
		{[]Slice{{"amd64", amd}, {"obj", obj}}, "not an executable"},
	} {
		if _, err := Join(tt.in...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Join(%d slices): err = %v, want one containing %q", len(tt.in), err, tt.want)
		}
	}
}
