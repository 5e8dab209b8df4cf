//go:build linux

package pkgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The two builds the tests use: "old" for both architectures (linted,
// installed first), "new" for this machine's architecture (the upgrade).
const (
	oldVersion = "v1.0.0"
	newVersion = "v1.0.1"
)

// requireRoot skips a test that needs root, except under CI, where it fails.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the package tests need root (debootstrap, mounts, systemd-nspawn), and CI must run them")
		}
		t.Skip("the package tests need root (debootstrap, mounts, systemd-nspawn)")
	}
}

// repoRoot is the checkout's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// built are the packages of one test run.
type built struct {
	dir                    string
	oldDebs, oldRPMs       []string // every architecture
	newDeb, newRPM         string   // this machine's architecture
	oldDebHere, oldRPMHere string
}

var (
	buildOnce sync.Once
	buildErr  error
	pkgs      built
)

// packages builds the packages once per test binary, with mkpkgs as
// `make packages` runs it.
func packages(t *testing.T) built {
	t.Helper()
	root := repoRoot(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tc-pkgs-")
		if err != nil {
			buildErr = err
			return
		}
		pkgs.dir = dir
		for _, b := range []struct{ version, arch, out string }{
			{oldVersion, "amd64,arm64", "old"},
			{newVersion, runtime.GOARCH, "new"},
		} {
			cmd := exec.Command("go", "run", "./packaging/mkpkgs", "-version", b.version, "-arch", b.arch, "-out", filepath.Join(dir, b.out))
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("mkpkgs %s: %v\n%s", b.version, err, out)
				return
			}
		}
		glob := func(pattern string) []string {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			return m
		}
		pkgs.oldDebs, pkgs.oldRPMs = glob("old/*.deb"), glob("old/*.rpm")
		debArch, rpmArch := runtime.GOARCH, map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
		one := func(pattern string) string {
			m := glob(pattern)
			if len(m) != 1 {
				buildErr = fmt.Errorf("want one package for %s, have %v", pattern, m)
				return ""
			}
			return m[0]
		}
		pkgs.newDeb = one("new/*_" + debArch + ".deb")
		pkgs.newRPM = one("new/*." + rpmArch + ".rpm")
		pkgs.oldDebHere = one("old/*_" + debArch + ".deb")
		pkgs.oldRPMHere = one("old/*." + rpmArch + ".rpm")
		if len(pkgs.oldDebs) != 2 || len(pkgs.oldRPMs) != 2 {
			buildErr = fmt.Errorf("want a .deb and an .rpm per architecture, have %v %v", pkgs.oldDebs, pkgs.oldRPMs)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return pkgs
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pkgs.dir != "" {
		os.RemoveAll(pkgs.dir)
	}
	os.Exit(code)
}

// The Debian 12 root the system tests boot. Changing anything here (or in
// prepareRoot) changes the cache key, so the next run builds a new root.
var (
	suite  = "bookworm"
	mirror = envOr("TELECLAUDE_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
	// systemd to boot, with D-Bus, logind and polkit for the sessions'
	// polkit rule; what the package depends on (tmux, procps for kill) and
	// man-db, so that systemd-analyze verify finds the Documentation= pages;
	// a PostgreSQL for peer authentication; Debian's rpm for the .rpm; rpmlint, which runs inside
	// the root (see TestRpmlint). python3-cffi-backend is named because
	// debootstrap cannot pick a provider for the virtual package that
	// rpmlint's python3-zstandard needs. libnss-extrausers gives accounts
	// that NSS knows and /etc/passwd does not, as LDAP or SSSD would.
	rootPackages = []string{"systemd", "systemd-sysv", "dbus", "libpam-systemd", "polkitd",
		"tmux", "procps", "man-db", "postgresql-15", "rpm", "rpmlint", "python3-cffi-backend",
		"libnss-extrausers"}
	// Timers that could start apt or other work while a test runs.
	rootMasked = []string{"apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
		"e2scrub_all.timer", "man-db.timer", "fstrim.timer"}
)

const rootRecipe = 2 // raise when prepareRoot changes

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func cacheDir() string { return envOr("TELECLAUDE_TEST_CACHE", "/var/cache/teleclaude-test") }

func rootKey() string {
	h := sha256.New()
	fmt.Fprintln(h, rootRecipe, suite, mirror, runtime.GOARCH, strings.Join(rootPackages, ","), strings.Join(rootMasked, ","))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

var (
	rootOnce sync.Once
	rootPath string
	rootErr  error
)

// debianRoot returns the cached root, making it first if needed. Several
// test processes may ask at once: a lock file serialises them.
func debianRoot(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	tool(t, "debootstrap", "debootstrap")
	rootOnce.Do(func() { rootPath, rootErr = ensureRoot(t) })
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return rootPath
}

func ensureRoot(t *testing.T) (string, error) {
	base := cacheDir()
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(base, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	dir := filepath.Join(base, "debian12-"+rootKey())
	stamp := filepath.Join(dir, ".teleclaude-root-ok")
	if _, err := os.Stat(stamp); err == nil {
		now := time.Now()
		os.Chtimes(stamp, now, now) // last used: see the pruning below
		return dir, nil
	}
	// Roots of other recipes (other branches may still use theirs) go once
	// nobody has used them for two days.
	others, _ := filepath.Glob(filepath.Join(base, "debian12-*"))
	for _, o := range others {
		if st, err := os.Stat(filepath.Join(o, ".teleclaude-root-ok")); err != nil || time.Since(st.ModTime()) > 48*time.Hour {
			if o != dir {
				os.RemoveAll(o)
			}
		}
	}
	start := time.Now()
	tmp := dir + ".tmp" // left over if a build was interrupted
	os.RemoveAll(tmp)
	cmd := exec.Command("debootstrap", "--variant=minbase", "--include="+strings.Join(rootPackages, ","), suite, tmp, mirror)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("debootstrap (the mirror is %s; set TELECLAUDE_TEST_DEBIAN_MIRROR for another): %v\n%s", mirror, err, tail(log.String(), 40))
	}
	if err := prepareRoot(tmp); err != nil {
		return "", fmt.Errorf("prepare the root: %w\n%s", err, tail(log.String(), 20))
	}
	if err := os.WriteFile(filepath.Join(tmp, filepath.Base(stamp)), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	t.Logf("made the Debian 12 root %s in %s", dir, time.Since(start).Round(time.Second))
	return dir, nil
}

// prepareRoot checks that debootstrap really finished (it leaves a fake
// start-stop-daemon and a policy-rc.d that refuses every service when a
// package fails to configure) and makes the boot quiet: no PostgreSQL until a
// test starts it, no timers.
func prepareRoot(r string) error {
	if out, err := exec.Command("chroot", r, "dpkg", "--audit").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		return fmt.Errorf("packages left unconfigured: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(r, "usr/sbin/policy-rc.d")); err == nil {
		return errors.New("debootstrap left usr/sbin/policy-rc.d behind")
	}
	if _, err := os.Stat(filepath.Join(r, "sbin/start-stop-daemon.REAL")); err == nil {
		return errors.New("debootstrap left its fake start-stop-daemon behind")
	}
	for _, args := range [][]string{
		{"systemctl", "--root=" + r, "disable", "postgresql.service"},
		append([]string{"systemctl", "--root=" + r, "mask"}, rootMasked...),
		{"chroot", r, "apt-get", "clean"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return os.WriteFile(filepath.Join(r, "etc/hostname"), []byte("pkgtest\n"), 0o644)
}

// overlay mounts a throwaway copy of the root and returns its path; the
// cleanup unmounts it and deletes what the test wrote.
func overlay(t *testing.T, lower string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tc-root-")
	if err != nil {
		t.Fatal(err)
	}
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(merged, 0); err != nil {
			// A process of the container may still hold it; detach.
			syscall.Unmount(merged, syscall.MNT_DETACH)
		}
		os.RemoveAll(dir)
	})
	return merged
}

// copyInto copies files into dir inside the root.
func copyInto(t *testing.T, root, dir string, files ...string) {
	t.Helper()
	dst := filepath.Join(root, dir)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// bootAndRun boots the root with systemd as PID 1 and runs script (a file
// of testdata, with lib.sh beside it) as a oneshot unit that powers the
// container off when it is done. It returns the container's console output.
func bootAndRun(t *testing.T, root, script string, limit time.Duration) string {
	t.Helper()
	nspawn := tool(t, "systemd-nspawn", "systemd-container")
	copyInto(t, root, "root/pkgtest", "testdata/lib.sh", "testdata/"+script)
	unit := `[Unit]
Description=TeleClaude package test
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh /root/pkgtest/` + script + `
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=append:/root/pkgtest/log
StandardError=inherit
TimeoutStartSec=15min

[Install]
WantedBy=multi-user.target
`
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/pkgtest.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	os.MkdirAll(wants, 0o755)
	// A root booted a second time (see TestBootedReboot) has the link.
	if err := os.Symlink("/etc/systemd/system/pkgtest.service", filepath.Join(wants, "pkgtest.service")); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	// --private-network: the root's PostgreSQL must not meet the host's.
	// --keep-unit runs the container in the cgroup it was started in: each
	// gets one of its own (ownCgroups). Otherwise the containers booted
	// side by side share one tree, one's systemd moves or removes cgroups
	// the others' units are in, and a unit starting then fails with
	// 219/CGROUP.
	args := []string{nspawn, "--quiet", "--register=no", "--keep-unit", "--private-network", "-D", root, "-b"}
	procs, cgroups := ownCgroups(t)
	defer func() {
		for _, dir := range cgroups {
			removeCgroup(t, dir)
		}
	}()
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `for p in $PKGTEST_CGROUPS; do echo $$ > "$p"; done; exec "$@"`, "sh"}, args...)...)
	cmd.Env = append(os.Environ(), "PKGTEST_CGROUPS="+strings.Join(procs, " "))
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // halts the container
	cmd.WaitDelay = 30 * time.Second
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	start := time.Now()
	err := cmd.Run()
	t.Logf("the container ran for %s", time.Since(start).Round(100*time.Millisecond))
	if ctx.Err() != nil {
		t.Errorf("the container was still running after %s; stopped it", limit)
	} else if err != nil {
		t.Errorf("systemd-nspawn: %v", err)
	}
	return console.String()
}

// report turns the scenario's result lines into subtests, and shows the
// scenario's log and the journal when something failed.
func report(t *testing.T, root, console string) {
	t.Helper()
	res, err := os.ReadFile(filepath.Join(root, "root/pkgtest/results"))
	if err != nil {
		t.Fatalf("no results from the container (%v); its console:\n%s", err, tail(console, 80))
	}
	done := false
	for _, line := range strings.Split(strings.TrimSpace(string(res)), "\n") {
		verdict, rest, _ := strings.Cut(line, " ")
		name, msg, _ := strings.Cut(rest, ": ")
		switch verdict {
		case "DONE":
			done = true
		case "PASS":
			t.Run(name, func(t *testing.T) {})
		case "SKIP":
			t.Run(name, func(t *testing.T) { t.Skip(msg) })
		case "FAIL":
			t.Run(name, func(t *testing.T) { t.Error(strings.ReplaceAll(msg, "|", "\n")) })
		default:
			t.Errorf("unexpected result line %q", line)
		}
	}
	if !done {
		t.Errorf("the scenario stopped before its end")
	}
	if t.Failed() {
		log, _ := os.ReadFile(filepath.Join(root, "root/pkgtest/log"))
		t.Logf("scenario log (end):\n%s", tail(string(log), 150))
		if j, err := exec.Command("journalctl", "-D", filepath.Join(root, "var/log/journal"), "--no-pager", "-o", "short-monotonic", "-u", "teleclaude.service", "-u", "teleclaude.socket", "-u", "pkgtest.service").CombinedOutput(); err == nil {
			t.Logf("journal (end):\n%s", tail(string(j), 80))
		}
		t.Logf("console (end):\n%s", tail(console, 40))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ownCgroups makes a cgroup of its own for one container beside this
// process's, in the hierarchies systemd uses (name=systemd of a v1 or
// hybrid host, and the v2 one), and returns their cgroup.procs files and
// the cgroups, to be removed once the container is gone. A host with
// neither gets none.
func ownCgroups(t *testing.T) (procs, dirs []string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	// One name in every hierarchy: on a hybrid host nspawn makes its
	// payload and supervisor cgroups in name=systemd at its v2 path.
	var rnd [8]byte
	rand.Read(rnd[:])
	name := "pkgtest-" + hex.EncodeToString(rnd[:])
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var mnt string
		switch {
		case f[1] == "name=systemd":
			mnt = "/sys/fs/cgroup/systemd"
		case f[0] == "0" && f[1] == "":
			mnt = "/sys/fs/cgroup/unified"
			if _, err := os.Stat(mnt); err != nil {
				mnt = "/sys/fs/cgroup"
			}
		default:
			continue
		}
		dir := filepath.Join(mnt, f[2], name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("a cgroup for the container: %v", err)
		}
		procs, dirs = append(procs, filepath.Join(dir, "cgroup.procs")), append(dirs, dir)
	}
	return procs, dirs
}

// removeCgroup removes an emptied cgroup and what the container's systemd
// made in it, deepest first (cgroups are removed with rmdir alone). The
// container's last processes may still be on their way out: it tries for
// a few seconds.
func removeCgroup(t *testing.T, dir string) {
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var dirs []string
		filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		err = nil
		for i := len(dirs) - 1; i >= 0; i-- {
			if e := syscall.Rmdir(dirs[i]); e != nil && !errors.Is(e, syscall.ENOENT) {
				err = fmt.Errorf("rmdir %s: %w", dirs[i], e)
			}
		}
		if err == nil {
			return
		}
	}
	t.Logf("the container's cgroup is left behind: %v", err)
}
