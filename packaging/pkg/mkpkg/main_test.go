package main

import (
	"bytes"
	"crypto/x509"
	"debug/macho"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/macpkg/macpkgtest"
	"github.com/instruktai/teleclaude/internal/testenv"
	"github.com/instruktai/teleclaude/internal/xar/xartest"
	"github.com/instruktai/teleclaude/packaging/pkg"
)

// darwinBuild cross-compiles both programs for darwin/arch into a
// directory of their own.
func darwinBuild(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/teleclaude", "./cmd/telec")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=darwin", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for darwin/%s: %v\n%s", arch, err, out)
	}
	return dir
}

func noEnv(string) string { return "" }

// dirWith makes a directory holding teleclaude and telec copied from the
// given files.
func dirWith(t *testing.T, teleclaude, telec string) string {
	t.Helper()
	dir := t.TempDir()
	for name, from := range map[string]string{"teleclaude": teleclaude, "telec": telec} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o755)
	}
	return dir
}

// TestRealPrograms packages real darwin builds of both architectures and
// reads them back out: one universal package of universal programs.
func TestRealPrograms(t *testing.T) {
	arm, amd := darwinBuild(t, "arm64"), darwinBuild(t, "amd64")
	out := filepath.Join(t.TempDir(), "dist", pkg.FileName("v9.8.7"))
	var stdout bytes.Buffer
	env := func(k string) string { return map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}[k] }
	if err := run([]string{"-version", "v9.8.7", "-arm64", arm, "-amd64", amd, "-o", out}, &stdout, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "teleclaude_9.8.7_darwin_universal.pkg") {
		t.Errorf("stdout %q", stdout.String())
	}
	c := macpkgtest.Open(t, out)
	c.CheckBom(t)
	if c.Dist.Options.HostArchitectures != "arm64,x86_64" || c.Info.Version != "9.8.7" || c.Dist.VolumeCheck.MinOS.Min != "12.0" {
		t.Errorf("Distribution %+v, PackageInfo %+v", c.Dist, c.Info)
	}
	file := testenv.Tool(t, "file")
	for _, name := range []string{"teleclaude", "telec"} {
		var got []byte
		for _, it := range c.Payload {
			if it.Name == "./"+pkg.Base+"/bin/"+name {
				got = it.Data
			}
		}
		ff, err := macho.NewFatFile(bytes.NewReader(got))
		if err != nil {
			t.Fatalf("%s in the Payload is not a universal program: %v", name, err)
		}
		want := map[macho.Cpu]string{macho.CpuAmd64: amd, macho.CpuArm64: arm}
		for _, a := range ff.Arches {
			built, _ := os.ReadFile(filepath.Join(want[a.Cpu], name))
			if !bytes.Equal(got[a.Offset:a.Offset+a.Size], built) || a.Type != macho.TypeExec {
				t.Errorf("%s: the %v slice is not the darwin build byte for byte", name, a.Cpu)
			}
			delete(want, a.Cpu)
		}
		if len(want) != 0 || len(ff.Arches) != 2 {
			t.Errorf("%s: %d slices, missing %v", name, len(ff.Arches), want)
		}
		extracted := filepath.Join(c.Dir, "extracted-"+name)
		os.WriteFile(extracted, got, 0o755)
		if out, _ := exec.Command(file, "-b", extracted).Output(); !strings.HasPrefix(string(out), "Mach-O universal binary with 2 architectures") {
			t.Errorf("file says %s is %q", name, out)
		}
	}
	for _, it := range c.Payload {
		if it.ModTime != 1700000000 {
			t.Errorf("%s: mtime %d, want SOURCE_DATE_EPOCH's 1700000000", it.Name, it.ModTime)
		}
	}
	again := filepath.Join(t.TempDir(), "again.pkg")
	if err := run([]string{"-version", "v9.8.7", "-arm64", arm, "-amd64", amd, "-o", again}, &bytes.Buffer{}, env); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two builds with the same SOURCE_DATE_EPOCH differ")
	}

	t.Run("dev build", func(t *testing.T) {
		dir := t.TempDir()
		if err := run([]string{"-version", "3ab3782-dirty", "-arm64", arm, "-amd64", amd, "-dir", dir}, &bytes.Buffer{}, env); err != nil {
			t.Fatal(err)
		}
		name := "teleclaude_0.0.0-dev.20231114221320.3ab3782-dirty_darwin_universal.pkg"
		if c := macpkgtest.Open(t, filepath.Join(dir, name)); c.Info.Version != "0.0.0-dev.20231114221320.3ab3782-dirty" {
			t.Errorf("receipt version %q", c.Info.Version)
		}
	})

	t.Run("signed build refuses ad-hoc programs", func(t *testing.T) {
		c := xartest.NewChain(t, xartest.LeafOptions{})
		env := p12(t, c.Key, c.Leaf, []*x509.Certificate{c.Intermediate, c.Root}, "pw")
		dir := t.TempDir()
		err := run([]string{"-version", "1", "-dir", dir, "-arm64", arm, "-amd64", amd}, &bytes.Buffer{}, envOf(env))
		if err == nil || !strings.Contains(err.Error(), "a signed package needs programs signed with a Developer ID Application identity and the hardened runtime") {
			t.Errorf("err = %v", err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
		// The arm64 program carries the linker's ad-hoc signature, the
		// amd64 one none at all.
		for dir, want := range map[string]string{arm: "is signed ad hoc (as Go's linker signs)", amd: "has no code signature"} {
			thin, _ := os.ReadFile(filepath.Join(dir, "telec"))
			f, _ := macho.NewFile(bytes.NewReader(thin))
			if err := devIDSigned(f, thin); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s/telec: %v, want %q", dir, err, want)
			}
		}
	})

	t.Run("refuses the wrong programs", func(t *testing.T) {
		self, _ := os.Executable()
		armTC, amdTC := filepath.Join(arm, "teleclaude"), filepath.Join(amd, "teleclaude")
		// An amd64 program relabelled arm64: the right CPU, no signature.
		relabelled := filepath.Join(t.TempDir(), "arm64-unsigned")
		data, _ := os.ReadFile(amdTC)
		binary.LittleEndian.PutUint32(data[4:], uint32(macho.CpuArm64))
		os.WriteFile(relabelled, data, 0o755)
		for _, tt := range []struct {
			arm, amd string
			want     string
		}{
			{dirWith(t, self, armTC), amd, "is not a macOS program"},
			{amd, amd, "want an CpuArm64 executable"},
			{arm, arm, "want an CpuAmd64 executable"},
			{dirWith(t, relabelled, armTC), amd, "no code signature"},
			{filepath.Join(arm, "nope"), amd, "no such file"},
		} {
			out := filepath.Join(t.TempDir(), "x.pkg")
			err := run([]string{"-version", "1", "-o", out, "-arm64", tt.arm, "-amd64", tt.amd}, &bytes.Buffer{}, noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run %s %s: err = %v, want one containing %q", tt.arm, tt.amd, err, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a package was left behind")
			}
		}
	})
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-arm64", "a", "-amd64", "b"},
		{"-version", "1", "-arm64", "a"},
		{"-version", "1", "-arm64", "a", "-amd64", "b", "extra"},
		{"-version", "1", "-arm64", "a", "-amd64", "b", "-mtime", "yesterday"},
		{"-nope"},
	} {
		var u usageError
		if err := run(args, &bytes.Buffer{}, noEnv); !errors.As(err, &u) {
			t.Errorf("run %q: err = %v, want a usage error", args, err)
		}
	}
}
