package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the tests run this program's main as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("TELECLAUDE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServeConfigErrorExit: a broken config ends serve with the contract's
// 2, or with the status --config-error-exit names (the launchd plist's 0,
// which KeepAlive leaves stopped), saying why.
func TestServeConfigErrorExit(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cfg"), 0o755)
	os.WriteFile(filepath.Join(dir, "cfg", "config.yml"), []byte("people: [\n"), 0o644)
	for _, tt := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"--config-error-exit", "0"}, 0},
		{[]string{"--config-error-exit", "78"}, 78},
	} {
		cmd := exec.Command(self, append([]string{"serve"}, tt.args...)...)
		cmd.Env = []string{"TELECLAUDE_TEST_RUN_MAIN=1", "PATH=/usr/bin:/bin", "HOME=" + dir, "TELECLAUDE_CONFIG_DIR=" + filepath.Join(dir, "cfg"),
			"TELECLAUDE_DATA_DIR=" + filepath.Join(dir, "data"), "TELECLAUDE_RUN_DIR=" + filepath.Join(dir, "run")}
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.want || !strings.Contains(string(out), "config.yml:1:") || !strings.Contains(string(out), "not starting until the configuration is fixed") {
			t.Errorf("serve %q: exit %d, want %d; output %q", tt.args, code, tt.want, out)
		}
	}
}
