//go:build linux

package pkgtest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBootedReboot boots the same root twice and runs testdata/reboot.sh
// in both boots: sessions of alice and bob run when the first boot powers
// off, and the daemon's first answers after the second boot call them
// lost, never running (issue 15, item 5). That first question is asked
// before the daemon is ready, so it cannot slip past a daemon that settles
// statuses only after it serves: with Reconcile leaving the database's
// "running" for its recorder to correct, this test fails.
func TestBootedReboot(t *testing.T) {
	t.Parallel()
	p := packages(t)
	root := overlay(t, debianRoot(t))
	copyInto(t, root, "root/pkgtest/new", p.newDeb)
	console := bootAndRun(t, root, "reboot.sh", 5*time.Minute)
	if _, err := os.Stat(filepath.Join(root, "root/pkgtest/rebooting")); err != nil {
		report(t, root, console) // the first boot did not get to the reboot
		return
	}
	console += bootAndRun(t, root, "reboot.sh", 5*time.Minute)
	report(t, root, console)
}
