package fileown

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	st, err := os.Stat(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o, ok := Of(st)
	if !ok || o.UID != os.Getuid() || o.Nlink == 0 {
		t.Errorf("Of = %+v, %v; want uid %d", o, ok, os.Getuid())
	}
	if _, ok := Of(fakeInfo{st}); ok {
		t.Error("Of accepted a FileInfo without a Stat_t")
	}
}

type fakeInfo struct{ os.FileInfo }

func (fakeInfo) Sys() any { return nil }

func TestPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 { // an existing directory of ours is narrowed, twice is fine
		if err := PrivateDir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
			t.Errorf("mode %04o, want 0700", st.Mode().Perm())
		}
	}
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	if err := PrivateDir(file, 0o700); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
	if os.Getuid() == 0 {
		squat := filepath.Join(dir, "squat")
		os.Mkdir(squat, 0o700)
		os.Chown(squat, 4242, 4242)
		if err := PrivateDir(squat, 0o700); err == nil || !strings.Contains(err.Error(), "squatting") {
			t.Errorf("someone else's directory: %v", err)
		}
	}
}

// TestCopyPrivate: the copy has the original's bytes and mode 0600, and a
// file already at the destination is neither replaced nor written.
func TestCopyPrivate(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(from, []byte("data\x00\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyPrivate(from, to); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(to)
	fi, _ := os.Stat(to)
	if err != nil || string(b) != "data\x00\xff" || fi.Mode().Perm() != 0o600 {
		t.Errorf("copy: %q, %v, mode %v", b, err, fi.Mode())
	}
	if err := os.WriteFile(to, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyPrivate(from, to); err == nil {
		t.Error("copied over an existing file")
	}
	if b, _ := os.ReadFile(to); string(b) != "theirs" {
		t.Errorf("existing file now %q", b)
	}
}
