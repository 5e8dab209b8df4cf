package pkgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maintainerScripts are the scripts the packages run as root.
var maintainerScripts = []string{
	"deb/postinst", "deb/prerm", "deb/postrm",
	"rpm/pre", "rpm/post", "rpm/preun", "rpm/postun",
	"docker/entrypoint.sh",
}

// TestMaintainerScripts: POSIX sh with set -e, and nothing shellcheck
// (in its sh mode, which knows the bashisms) finds fault with.
func TestMaintainerScripts(t *testing.T) {
	shellcheck := tool(t, "shellcheck", "shellcheck")
	var paths []string
	for _, s := range maintainerScripts {
		p := filepath.Join("..", s)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("#!/bin/sh\n")) {
			t.Errorf("%s does not start with #!/bin/sh", s)
		}
		if !bytes.Contains(b, []byte("\nset -e\n")) {
			t.Errorf("%s has no set -e", s)
		}
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(shellcheck, append([]string{"--shell=sh", "--severity=style"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
	// Every systemctl that talks to a running manager sits in an if whose
	// condition checks /run/systemd/system; the rpm's offline preset and
	// disable are the documented exceptions.
	for _, s := range maintainerScripts {
		b, _ := os.ReadFile(filepath.Join("..", s))
		if err := guardedSystemctl(string(b)); err != "" {
			t.Errorf("%s: %s", s, err)
		}
	}
}

// guardedSystemctl returns the first systemctl call outside a guarded if
// block, or "".
func guardedSystemctl(script string) string {
	guard := func(l string) bool {
		return strings.Contains(l, "[ -d /run/systemd/system ]") || strings.Contains(l, "systemd_running")
	}
	stack := []bool{false} // is the current block guarded
	for _, line := range strings.Split(script, "\n") {
		l := strings.TrimSpace(line)
		top := stack[len(stack)-1]
		switch {
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "if "):
			stack = append(stack, top || guard(l))
		case l == "else" || strings.HasPrefix(l, "elif "):
			stack[len(stack)-1] = stack[len(stack)-2] || guard(l)
		case l == "fi":
			stack = stack[:len(stack)-1]
		case strings.HasPrefix(l, "systemctl "):
			if !top && !strings.Contains(l, "--no-reload preset") && !strings.Contains(l, "--no-reload disable") {
				return "unguarded " + l
			}
		}
	}
	return ""
}

func TestGuardedSystemctl(t *testing.T) {
	tests := []struct {
		script string
		bad    bool
	}{
		{"systemctl stop x\n", true},
		{"if [ \"$1\" = remove ]; then\n\tsystemctl stop x\nfi\n", true},
		{"if [ -d /run/systemd/system ]; then\n\tif [ -n \"$2\" ]; then\n\t\tsystemctl try-restart x\n\tfi\nfi\n", false},
		{"if [ -d /run/systemd/system ]; then\n\tsystemctl stop x\nelse\n\tsystemctl stop x\nfi\n", true},
		{"if [ -d /run/systemd/system ]; then\n\t:\nfi\nsystemctl daemon-reload\n", true},
		{"systemctl --no-reload preset x\n", false},
	}
	for _, tt := range tests {
		if got := guardedSystemctl(tt.script) != ""; got != tt.bad {
			t.Errorf("guardedSystemctl(%q) flags it: %v, want %v", tt.script, got, tt.bad)
		}
	}
}
