//go:build linux

package pkgtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The repositories' tests: packaging/mkrepo, as `make repo` runs it, on the
// packages of packages(), with throwaway keys made by gpg as the README
// tells a maintainer to make one.

// repoURL is where the booted root serves the repositories (repo.sh).
const repoURL = "http://127.0.0.1:8080/current"

type repoBuild struct {
	dir        string
	key, other string // armored secret keys: the release key, another one
	otherHome  string // GNUPGHOME holding the other key
	mkrepo     string // the program
	v1, v2     string // dist/repo of oldVersion and of newVersion
	// mixing is mkrepo's answer when asked to put newVersion over v1's
	// output without -replace.
	mixing    string
	mixingErr error
}

var (
	repoOnce sync.Once
	repoErr  error
	repoB    repoBuild
)

func gpgIn(home string, args ...string) ([]byte, error) {
	cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", home, "--pinentry-mode", "loopback"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// newKey makes a key in a fresh GNUPGHOME under dir and exports its secret
// part; it returns the export's path and the home.
func newKey(dir, name string, genArgs ...string) (string, string, error) {
	home := filepath.Join(dir, "gnupg-"+name)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", err
	}
	defer exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
	if _, err := gpgIn(home, append([]string{"--passphrase", ""}, genArgs...)...); err != nil {
		return "", "", err
	}
	out, err := gpgIn(home, "--passphrase", "", "--armor", "--export-secret-keys")
	if err != nil {
		return "", "", err
	}
	path := filepath.Join(dir, name+".key")
	return path, home, os.WriteFile(path, out, 0o600)
}

// repos builds the repositories once per test binary.
func repos(t *testing.T) repoBuild {
	t.Helper()
	tool(t, "gpg", "gpg")
	tool(t, "apt-ftparchive", "apt-utils")
	tool(t, "createrepo_c", "createrepo-c")
	tool(t, "rpmsign", "rpm")
	p := packages(t)
	root := repoRoot(t)
	repoOnce.Do(func() { repoErr = buildRepos(root, p) })
	if repoErr != nil {
		t.Fatal(repoErr)
	}
	return repoB
}

func buildRepos(root string, p built) error {
	b := &repoB
	b.dir = filepath.Join(p.dir, "repo")
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	var err error
	if b.key, _, err = newKey(b.dir, "release", "--quick-gen-key", "TeleClaude test <test@example.invalid>", "rsa3072", "sign", "1y"); err != nil {
		return err
	}
	if b.other, b.otherHome, err = newKey(b.dir, "other", "--quick-gen-key", "Someone else <other@example.invalid>", "ed25519", "sign", "1y"); err != nil {
		return err
	}
	b.mkrepo = filepath.Join(b.dir, "mkrepo")
	build := exec.Command("go", "build", "-o", b.mkrepo, "./packaging/mkrepo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build mkrepo: %v\n%s", err, out)
	}

	// The new version for both architectures: packages() makes it for
	// this one only.
	newAll := filepath.Join(b.dir, "new-pkgs")
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	cmd := exec.Command("go", "run", "./packaging/mkpkgs", "-version", newVersion, "-arch", other, "-out", newAll)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mkpkgs %s %s: %v\n%s", newVersion, other, err, out)
	}
	for _, f := range []string{p.newDeb, p.newRPM} {
		if out, err := exec.Command("cp", f, newAll+"/").CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v %s", err, out)
		}
	}

	// One output directory, as a maintainer's dist/repo: v1, then v2
	// refused over it, then v2 replacing it.
	out := filepath.Join(b.dir, "dist", "repo")
	if _, err := b.run("-in", filepath.Join(p.dir, "old"), "-out", out, "-url", repoURL); err != nil {
		return err
	}
	b.v1 = filepath.Join(b.dir, "v1")
	if err := copyTree(out, b.v1); err != nil {
		return err
	}
	var mixing []byte
	mixing, b.mixingErr = b.run("-in", newAll, "-out", out, "-url", repoURL)
	b.mixing = string(mixing)
	if _, err := b.run("-in", newAll, "-out", out, "-url", repoURL, "-replace"); err != nil {
		return err
	}
	b.v2 = filepath.Join(b.dir, "v2")
	return copyTree(out, b.v2)
}

// run runs mkrepo with the release key.
func (b *repoBuild) run(args ...string) ([]byte, error) {
	cmd := exec.Command(b.mkrepo, args...)
	cmd.Env = append(os.Environ(), "TELECLAUDE_SIGNING_KEY="+b.key, "SOURCE_DATE_EPOCH=1767225600") // 2026-01-01
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("mkrepo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

func copyTree(src, dst string) error {
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s %s: %v %s", src, dst, err, out)
	}
	return nil
}

// badRepos makes, from v1, the repositories apt must refuse: Packages
// changed after signing (same size, so only the hash tells), Release
// signed by another key, and no signature at all.
func badRepos(t *testing.T, b repoBuild, www string) {
	t.Helper()
	for _, name := range []string{"tampered", "otherkey", "unsigned"} {
		if err := copyTree(b.v1, filepath.Join(www, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{"amd64", "arm64"} {
		idx := filepath.Join(www, "tampered", "deb", "dists", "stable", "main", "binary-"+a)
		p, err := os.ReadFile(filepath.Join(idx, "Packages"))
		if err != nil {
			t.Fatal(err)
		}
		q := bytes.Replace(p, []byte("Version: 1.0.0-1\n"), []byte("Version: 1.0.9-1\n"), 1)
		if bytes.Equal(p, q) {
			t.Fatalf("no version line to change in %s", idx)
		}
		writeFile(t, filepath.Join(idx, "Packages"), q)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(q)
		zw.Close()
		writeFile(t, filepath.Join(idx, "Packages.gz"), gz.Bytes())
	}
	dists := filepath.Join(www, "otherkey", "deb", "dists", "stable")
	release := filepath.Join(dists, "Release")
	for _, f := range []string{"InRelease", "Release.gpg"} {
		os.Remove(filepath.Join(dists, f))
		os.Remove(filepath.Join(www, "unsigned", "deb", "dists", "stable", f))
	}
	if _, err := gpgIn(b.otherHome, "--passphrase", "", "--clearsign", "--output", filepath.Join(dists, "InRelease"), release); err != nil {
		t.Fatal(err)
	}
	if _, err := gpgIn(b.otherHome, "--passphrase", "", "--armor", "--detach-sign", "--output", filepath.Join(dists, "Release.gpg"), release); err != nil {
		t.Fatal(err)
	}
	exec.Command("gpgconf", "--homedir", b.otherHome, "--kill", "gpg-agent").Run()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRepoApt boots the root with the repositories in it and runs
// testdata/repo.sh: apt refuses the bad ones, installs teleclaude by name
// from the signed one, and upgrades to the newer release published in its
// place with a session running on.
func TestRepoApt(t *testing.T) {
	t.Parallel()
	b := repos(t)
	root := overlay(t, debianRoot(t))
	www := filepath.Join(root, "root/pkgtest/www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"v1": b.v1, "v2": b.v2} {
		if err := copyTree(src, filepath.Join(www, name)); err != nil {
			t.Fatal(err)
		}
	}
	badRepos(t, b, www)
	console := bootAndRun(t, root, "repo.sh", 10*time.Minute)
	report(t, root, console)
}

// TestRepoRefusesMixing: a dist/repo of another version is not built over
// without -replace (REPO_REPLACE=1), and is left as it was.
func TestRepoRefusesMixing(t *testing.T) {
	t.Parallel()
	b := repos(t)
	if b.mixingErr == nil {
		t.Fatalf("mkrepo built v1.0.1 over the repository of v1.0.0:\n%s", b.mixing)
	}
	if !strings.Contains(b.mixing, "holds the repository of version 1.0.0-1, and this build is 1.0.1-1") {
		t.Errorf("mkrepo's refusal does not say which versions:\n%s", b.mixing)
	}
	t.Logf("mkrepo: %s", b.mixing)
}

// TestRepoRPM: every .rpm verifies against the published key with rpm -K
// and fails with a byte flipped; repomd.xml.asc verifies; Debian's dnf,
// with gpgcheck and repo_gpgcheck, finds teleclaude by name through the
// repository on a loopback server and downloads it, and refuses the
// repository once repomd.xml changed after signing.
func TestRepoRPM(t *testing.T) {
	t.Parallel()
	rpmTool := tool(t, "rpm", "rpm")
	dnf := tool(t, "dnf", "dnf")
	gpgv := tool(t, "gpgv", "gpgv")
	b := repos(t)
	work := t.TempDir()
	// dnf checks repomd.xml.asc through gpgme, which starts a gpg-agent
	// for the keyring it keeps in its cache; it ends with the test.
	t.Cleanup(func() {
		homes, _ := filepath.Glob(filepath.Join(work, "dnf-*", "cache", "*", "pubring"))
		for _, h := range homes {
			exec.Command("gpgconf", "--homedir", h, "--kill", "gpg-agent").Run()
		}
	})

	db := filepath.Join(work, "rpmdb")
	os.MkdirAll(db, 0o755)
	if out, err := exec.Command(rpmTool, "--dbpath", db, "--import", filepath.Join(b.v1, "teleclaude.asc")).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import teleclaude.asc: %v\n%s", err, out)
	}
	rpms, _ := filepath.Glob(filepath.Join(b.v1, "rpm", "*", "*.rpm"))
	if len(rpms) != 2 {
		t.Fatalf("want an .rpm per architecture, have %v", rpms)
	}
	for _, f := range rpms {
		out, err := exec.Command(rpmTool, "--dbpath", db, "-Kv", f).CombinedOutput()
		t.Logf("rpm -Kv %s:\n%s", filepath.Base(f), out)
		if err != nil || !regexp.MustCompile(`Header V4 (RSA|EdDSA)/SHA256 Signature, key ID [0-9a-f]+: OK`).Match(out) {
			t.Errorf("rpm -K does not verify the signature of %s: %v\n%s", filepath.Base(f), err, out)
		}
		if bytes.Contains(out, []byte("NOKEY")) || bytes.Contains(out, []byte("BAD")) {
			t.Errorf("rpm -K %s:\n%s", filepath.Base(f), out)
		}
		// A byte flipped in the payload, the end of the file.
		raw, _ := os.ReadFile(f)
		raw[len(raw)-100] ^= 0xff
		bad := filepath.Join(work, "flipped-"+filepath.Base(f))
		writeFile(t, bad, raw)
		out, err = exec.Command(rpmTool, "--dbpath", db, "-K", bad).CombinedOutput()
		if err == nil {
			t.Errorf("rpm -K accepts %s with a byte flipped:\n%s", filepath.Base(f), out)
		} else {
			t.Logf("rpm -K refuses the flipped byte: %s", bytes.TrimSpace(out))
		}
	}

	repodata := filepath.Join(b.v1, "rpm", "repodata")
	if out, err := exec.Command(gpgv, "--keyring", filepath.Join(b.v1, "teleclaude-archive-keyring.gpg"),
		filepath.Join(repodata, "repomd.xml.asc"), filepath.Join(repodata, "repomd.xml")).CombinedOutput(); err != nil {
		t.Errorf("gpgv repomd.xml.asc: %v\n%s", err, out)
	}

	// The loopback server: the release as published, and a copy whose
	// repomd.xml changed after signing.
	www := filepath.Join(work, "www")
	os.MkdirAll(www, 0o755)
	for _, n := range []string{"good", "tampered"} {
		if err := copyTree(b.v1, filepath.Join(www, n)); err != nil {
			t.Fatal(err)
		}
	}
	md := filepath.Join(www, "tampered", "rpm", "repodata", "repomd.xml")
	x, _ := os.ReadFile(md)
	y := regexp.MustCompile(`<revision>\d+</revision>`).ReplaceAll(x, []byte("<revision>1</revision>"))
	if bytes.Equal(x, y) {
		t.Fatalf("no revision in repomd.xml:\n%s", x)
	}
	writeFile(t, md, y)
	srv := httptest.NewServer(http.FileServer(http.Dir(www))) // 127.0.0.1
	defer srv.Close()

	dnfRun := func(name string, args ...string) ([]byte, error) {
		dir := filepath.Join(work, "dnf-"+name)
		repos := filepath.Join(dir, "repos.d")
		os.MkdirAll(repos, 0o755)
		// The user's .repo, pointed at the server and the key's copy here.
		repo, _ := os.ReadFile(filepath.Join(b.v1, "teleclaude.repo"))
		repo = bytes.ReplaceAll(repo, []byte(repoURL), []byte(srv.URL+"/"+name))
		repo = bytes.ReplaceAll(repo, []byte("file:///etc/pki/rpm-gpg/RPM-GPG-KEY-teleclaude"), []byte("file://"+filepath.Join(b.v1, "teleclaude.asc")))
		writeFile(t, filepath.Join(repos, "teleclaude.repo"), repo)
		// Debian's dnf brings a "local" plugin whose repository does not
		// exist here; skip_if_unavailable=False makes a refused
		// repository an error, not a warning.
		base := []string{"-y", "--disableplugin=local", "--setopt=skip_if_unavailable=False", "--installroot=" + filepath.Join(dir, "root"), "--releasever=40",
			"--setopt=reposdir=" + repos, "--setopt=cachedir=" + filepath.Join(dir, "cache"),
			"--setopt=logdir=" + dir, "--setopt=persistdir=" + filepath.Join(dir, "persist")}
		cmd := exec.Command(dnf, append(base, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		return cmd.CombinedOutput()
	}
	out, err := dnfRun("good", "repoquery", "--location", "teleclaude")
	t.Logf("dnf repoquery --location teleclaude:\n%s", out)
	loc := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(srv.URL) + `/good/rpm/\S+/teleclaude-1\.0\.0-1\.\S+\.rpm$`).Find(out)
	if err != nil || loc == nil {
		t.Fatalf("dnf did not find teleclaude by name: %v\n%s", err, out)
	}
	dest := filepath.Join(work, "downloaded")
	rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	out, err = dnfRun("good", "download", "--arch="+rpmArch, "--destdir="+dest, "teleclaude")
	t.Logf("dnf download teleclaude:\n%s", out)
	got, _ := filepath.Glob(filepath.Join(dest, "teleclaude-1.0.0-1.*.rpm"))
	if len(got) != 1 {
		t.Errorf("dnf downloaded no teleclaude (%v)", err)
	} else if out, err := exec.Command(rpmTool, "--dbpath", db, "-K", got[0]).CombinedOutput(); err != nil {
		t.Errorf("rpm -K on what dnf downloaded: %v\n%s", err, out)
	}

	out, err = dnfRun("tampered", "repoquery", "--location", "teleclaude")
	t.Logf("dnf on the tampered repository:\n%s", out)
	if err == nil || bytes.Contains(out, []byte("teleclaude-1.0.0")) {
		t.Errorf("dnf accepted a repomd.xml changed after signing (%v):\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("repomd.xml GPG signature verification error: Bad GPG signature")) {
		t.Errorf("dnf did not refuse for the signature; it said:\n%s", out)
	}
}
