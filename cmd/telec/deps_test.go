package main

import (
	"os/exec"
	"strings"
	"testing"
)

// serverPackages are the daemon's own: telec runs as any user on the machine
// and talks to the daemon only through the socket and apitype, so linking one
// of these would put the daemon's config, secrets loader or role ladder into
// every user's client (docs/DESIGN.md, "Layers").
var serverPackages = []string{
	"acl", "api", "config", "daemon", "doctor", "identity", "migrate",
	"peercred", "runas", "sessionhost", "sessions", "setupdb", "socket",
	"store", "tmux",
}

// TestClientLinksNoServer lists telec's transitive imports as the build sees
// them (go list -deps) and fails on any server package.
func TestClientLinksNoServer(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool needed to list imports: %v", err)
	}
	const mod = "github.com/instruktai/teleclaude/"
	for _, goos := range []string{"linux", "darwin"} {
		cmd := exec.Command(goBin, "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (GOOS=%s): %v", goos, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 || !strings.HasPrefix(deps[len(deps)-1], mod+"cmd/telec") {
			t.Fatalf("go list -deps (GOOS=%s) gave no telec: %q", goos, out)
		}
		for _, d := range deps {
			for _, p := range serverPackages {
				if d == mod+"internal/"+p || strings.HasPrefix(d, mod+"internal/"+p+"/") {
					t.Errorf("telec (GOOS=%s) links server package %s", goos, d)
				}
			}
		}
	}
}
