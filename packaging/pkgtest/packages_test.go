//go:build linux

package pkgtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLintian: no errors and no warnings on either .deb. The only
// overrides are in packaging/deb/lintian-overrides, each with its reason.
func TestLintian(t *testing.T) {
	lintian := tool(t, "lintian", "lintian")
	t.Parallel()
	p := packages(t)
	args := append([]string{"--fail-on", "error,warning"}, p.oldDebs...)
	out, err := exec.Command(lintian, args...).CombinedOutput()
	t.Logf("lintian %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Errorf("lintian: %v", err)
	}
	if m := regexp.MustCompile(`(?m)^[EW]: .*`).FindAllString(string(out), -1); len(m) > 0 {
		t.Errorf("lintian errors or warnings:\n%s", strings.Join(m, "\n"))
	}
}

// TestRpmlint: no errors and no warnings on either .rpm, with the settings
// (and reasons) of packaging/rpm/rpmlint.toml. rpmlint runs inside a
// throwaway copy of the Debian root: it unpacks a package with
// `rpm2cpio | cpio -id`, and nfpm's payload names files by absolute paths
// (rpm itself takes both), so cpio would write them over the / it runs in.
// A cpio that keeps paths relative (--no-absolute-filenames) goes first in
// PATH, and rpmlint sees the files where it looks for them.
func TestRpmlint(t *testing.T) {
	t.Parallel()
	r := debianRoot(t)
	p := packages(t)
	root := overlay(t, r)
	copyInto(t, root, "root/lint", append(p.oldRPMs, "../rpm/rpmlint.toml")...)
	shim := filepath.Join(root, "root/shim")
	os.MkdirAll(shim, 0o755)
	if err := os.WriteFile(filepath.Join(shim, "cpio"), []byte("#!/bin/sh\nexec /usr/bin/cpio --no-absolute-filenames \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{root, "env", "PATH=/root/shim:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "rpmlint", "-c", "/root/lint/rpmlint.toml"}
	for _, f := range p.oldRPMs {
		args = append(args, "/root/lint/"+filepath.Base(f))
	}
	cmd := exec.Command("chroot", args...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	t.Logf("rpmlint:\n%s", out)
	if err != nil {
		t.Errorf("rpmlint: %v", err)
	}
	if !regexp.MustCompile(`\b2 packages and 0 specfiles checked; 0 errors, 0 warnings`).Match(out) {
		t.Errorf("rpmlint found errors or warnings (or did not check both packages)")
	}
	// The shim must have done its work: had cpio written to /, the files
	// would be there.
	if _, err := os.Stat(filepath.Join(root, "usr/bin/teleclaude")); err == nil {
		t.Errorf("rpmlint's cpio wrote the package into the root")
	}
}

// TestPlainChroot: where systemd is not running at all (a chroot without
// even /proc), dpkg -i and rpm -i still succeed, and leave the user, the
// directories and the enabled units ready for the first boot.
func TestPlainChroot(t *testing.T) {
	t.Parallel()
	r := debianRoot(t)
	p := packages(t)
	for _, tc := range []struct {
		name    string
		pkg     string
		install []string
	}{
		{"deb", p.oldDebHere, []string{"dpkg", "-i"}},
		{"rpm", p.oldRPMHere, []string{"rpm", "-i", "--nodeps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := overlay(t, r)
			copyInto(t, root, "root", tc.pkg)
			args := append(append([]string{root}, tc.install...), "/root/"+filepath.Base(tc.pkg))
			cmd := exec.Command("chroot", args...)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"}
			out, err := cmd.CombinedOutput()
			t.Logf("%s:\n%s", strings.Join(tc.install, " "), out)
			if err != nil {
				t.Fatalf("install in a plain chroot: %v", err)
			}
			if _, err := os.Stat(filepath.Join(root, "run/systemd/system")); err == nil {
				t.Fatal("the chroot has /run/systemd/system: not a test of a system without systemd")
			}
			passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
			m := regexp.MustCompile(`(?m)^teleclaude:x:(\d+):\d+:[^:]*:/nonexistent:/(usr/)?sbin/nologin$`).FindSubmatch(passwd)
			if m == nil {
				t.Errorf("no teleclaude system user in /etc/passwd:\n%s", passwd)
			}
			// The secrets are the service user's alone, not its group's:
			// that group is every user of the socket.
			if st, err := os.Stat(filepath.Join(root, "etc/teleclaude/secrets.yml")); err != nil {
				t.Error(err)
			} else if sys := st.Sys().(*syscall.Stat_t); m != nil && (strconv.Itoa(int(sys.Uid)) != string(m[1]) || sys.Gid != 0 || st.Mode().Perm() != 0o600) {
				t.Errorf("secrets.yml is %d:%d %04o, want teleclaude (uid %s):root 0600", sys.Uid, sys.Gid, st.Mode().Perm(), m[1])
			}
			for _, d := range []string{"var/lib/teleclaude", "etc/teleclaude"} {
				if _, err := os.Stat(filepath.Join(root, d)); err != nil {
					t.Errorf("%s: %v", d, err)
				}
			}
			for _, l := range []string{"etc/systemd/system/multi-user.target.wants/teleclaude.service", "etc/systemd/system/sockets.target.wants/teleclaude.socket"} {
				if _, err := os.Lstat(filepath.Join(root, l)); err != nil {
					t.Errorf("unit not enabled for the first boot: %v", err)
				}
			}
			if tc.name == "deb" && !strings.Contains(string(out), "systemd is not running here") {
				t.Errorf("the postinst did not say that the units start at the next boot")
			}
		})
	}
}

// TestBootedDeb boots the root with systemd and runs testdata/deb.sh in it:
// every "Must show" and "Bad input" point of issue 5 for the .deb.
func TestBootedDeb(t *testing.T) {
	t.Parallel()
	p := packages(t)
	root := bootScenario(t, "deb.sh", p.oldDebHere, p.newDeb)
	for _, f := range []string{"security", "security-all"} {
		if b, err := os.ReadFile(filepath.Join(root, "root/pkgtest", f)); err == nil {
			t.Logf("systemd-analyze %s:\n%s", f, b)
		}
	}
}

// TestBootedRPM does the same for the .rpm, installed with Debian's rpm.
func TestBootedRPM(t *testing.T) {
	t.Parallel()
	p := packages(t)
	bootScenario(t, "rpm.sh", p.oldRPMHere, p.newRPM)
}

// bootScenario boots a fresh copy of the root with the old and new package
// in it, runs the scenario and reports its checks; it returns the root,
// which stays mounted until the test ends.
func bootScenario(t *testing.T, script, oldPkg, newPkg string) string {
	t.Helper()
	root := overlay(t, debianRoot(t))
	copyInto(t, root, "root/pkgtest/old", oldPkg)
	copyInto(t, root, "root/pkgtest/new", newPkg)
	copyInto(t, root, "root/pkgtest/bin", floodBin(t))
	console := bootAndRun(t, root, script, 10*time.Minute)
	report(t, root, console)
	return root
}

var (
	floodOnce sync.Once
	floodPath string
	floodErr  error
)

// floodBin builds the hostile member of the flood check (./flood), once.
func floodBin(t *testing.T) string {
	t.Helper()
	floodOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tc-flood-")
		if err != nil {
			floodErr = err
			return
		}
		floodPath = filepath.Join(dir, "flood")
		cmd := exec.Command("go", "build", "-o", floodPath, "./packaging/pkgtest/flood")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			floodErr = fmt.Errorf("build the flood helper: %v\n%s", err, out)
		}
	})
	if floodErr != nil {
		t.Fatal(floodErr)
	}
	return floodPath
}
