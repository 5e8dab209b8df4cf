package main

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/macpkg/macpkgtest"
	"github.com/instruktai/teleclaude/packaging/pkg"
)

// darwinBuild cross-compiles both programs once for darwin/amd64, the
// target `make check` builds too, so the build cache is warm in CI.
func darwinBuild(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/teleclaude", "./cmd/telec")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=darwin", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for darwin: %v\n%s", err, out)
	}
	return dir
}

func noEnv(string) string { return "" }

// TestRealPrograms packages real darwin builds and reads them back out.
func TestRealPrograms(t *testing.T) {
	bin := darwinBuild(t)
	out := filepath.Join(t.TempDir(), "dist", pkg.FileName("v9.8.7", "amd64"))
	var stdout bytes.Buffer
	env := func(k string) string { return map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}[k] }
	if err := run([]string{"-version", "v9.8.7", "-arch", "amd64", "-bin", bin, "-o", out}, &stdout, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "teleclaude_9.8.7_darwin_amd64.pkg") {
		t.Errorf("stdout %q", stdout.String())
	}
	c := macpkgtest.Open(t, out)
	c.CheckBom(t)
	if c.Dist.Options.HostArchitectures != "x86_64" || c.Info.Version != "9.8.7" || c.Dist.VolumeCheck.MinOS.Min != "12.0" {
		t.Errorf("Distribution %+v, PackageInfo %+v", c.Dist, c.Info)
	}
	for _, name := range []string{"teleclaude", "telec"} {
		built, _ := os.ReadFile(filepath.Join(bin, name))
		var got []byte
		for _, it := range c.Payload {
			if it.Name == "./"+pkg.Base+"/bin/"+name {
				got = it.Data
			}
		}
		f, err := macho.NewFile(bytes.NewReader(got))
		if err != nil || f.Cpu != macho.CpuAmd64 || f.Type != macho.TypeExec || !bytes.Equal(got, built) {
			t.Errorf("%s in the Payload: %v (err %v), want the darwin/amd64 build byte for byte", name, f, err)
		}
	}
	for _, it := range c.Payload {
		if it.ModTime != 1700000000 {
			t.Errorf("%s: mtime %d, want SOURCE_DATE_EPOCH's 1700000000", it.Name, it.ModTime)
		}
	}
	again := filepath.Join(t.TempDir(), "again.pkg")
	if err := run([]string{"-version", "v9.8.7", "-arch", "amd64", "-bin", bin, "-o", again}, &bytes.Buffer{}, env); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two builds with the same SOURCE_DATE_EPOCH differ")
	}

	t.Run("refuses the wrong programs", func(t *testing.T) {
		self, _ := os.Executable()
		tc := filepath.Join(bin, "teleclaude")
		// An amd64 program relabelled arm64: the right CPU, no signature.
		relabelled := filepath.Join(t.TempDir(), "arm64-unsigned")
		data, _ := os.ReadFile(tc)
		binary.LittleEndian.PutUint32(data[4:], uint32(macho.CpuArm64))
		os.WriteFile(relabelled, data, 0o755)
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"-arch", "amd64", "-teleclaude", self, "-telec", tc}, "is not a macOS program"},
			{[]string{"-arch", "arm64", "-bin", bin}, "want an CpuArm64 executable"},
			{[]string{"-arch", "arm64", "-teleclaude", relabelled, "-telec", tc}, "no code signature"},
			{[]string{"-arch", "amd64", "-bin", filepath.Join(bin, "nope")}, "no such file"},
		} {
			err := run(append([]string{"-version", "1", "-o", filepath.Join(t.TempDir(), "x.pkg")}, tt.args...), &bytes.Buffer{}, noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run %q: err = %v, want one containing %q", tt.args, err, tt.want)
			}
		}
	})
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-arch", "arm64"},
		{"-version", "1"},
		{"-version", "1", "-arch", "arm64", "extra"},
		{"-version", "1", "-arch", "arm64", "-mtime", "yesterday"},
		{"-nope"},
	} {
		var u usageError
		if err := run(args, &bytes.Buffer{}, noEnv); !errors.As(err, &u) {
			t.Errorf("run %q: err = %v, want a usage error", args, err)
		}
	}
}
