//go:build linux

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
)

// TestReload maps a public user to a person with SIGHUP, then breaks the
// file and reloads again: the daemon stays up on its last good config.
func TestReload(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	pub := lookup(t, uPublic)
	role := func() string { return decode[apitype.Whoami](t, d.telec(t, pub, "whoami", "--json")).Role }
	if r := role(); r != "public" {
		t.Fatalf("before reload: %s", r)
	}

	good := strings.Replace(stdConfig, "projects:", "  - {name: pat, role: contributor, os_username: tce-public}\nprojects:", 1)
	d.writeConfig(t, good)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(d.stderr.String(), "reloaded ") })
	if r := role(); r != "contributor" {
		t.Errorf("after a good reload: role %s, want contributor", r)
	}

	d.writeConfig(t, "people: [\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(d.stderr.String(), "reload failed; keeping the running config") })
	if !strings.Contains(d.stderr.String(), "config.yml:") {
		t.Errorf("the failed reload does not say where:\n%s", d.stderr)
	}
	if r := role(); r != "contributor" {
		t.Errorf("after a broken reload: role %s, want the last good config's contributor", r)
	}
	select {
	case <-d.done:
		t.Fatalf("daemon exited on a broken reload:\n%s", d.stderr)
	case <-time.After(100 * time.Millisecond):
	}
}
