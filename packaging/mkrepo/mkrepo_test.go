//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bad inputs of `make repo`: each gives a clear error before anything
// is built, and leaves no repository, whole or half, behind. The keys are
// made by gpg, as docs/PACKAGING.md tells a maintainer to make one; the
// building itself is tested in packaging/pkgtest.

func needGPG(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gpg is missing (Debian package gpg); .ci/run should have installed it")
		}
		t.Skip("no gpg (apt-get install gpg)")
	}
}

// gpgKey runs gpg's key commands in a fresh home and returns the armored
// export of the secret key.
func gpgKey(t *testing.T, passphrase string, steps ...[]string) string {
	t.Helper()
	needGPG(t)
	home := t.TempDir()
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	gpg := func(args ...string) string {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", passphrase}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}
	for _, s := range steps {
		gpg(s...)
	}
	path := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(path, []byte(gpg("--armor", "--export-secret-keys")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fingerprint(t *testing.T, home string) string {
	t.Helper()
	out, err := exec.Command("gpg", "--homedir", home, "--with-colons", "--list-keys").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "fpr:") {
			return strings.Split(l, ":")[9]
		}
	}
	t.Fatal("no fingerprint")
	return ""
}

// mkrepo runs run() as `make repo` would, with the given key, into a fresh
// dist/ under a temporary directory, and returns the error.
func mkrepo(t *testing.T, key, passphrase, out string, replace bool) error {
	t.Helper()
	t.Setenv("TELECLAUDE_SIGNING_KEY", key)
	t.Setenv("TELECLAUDE_SIGNING_PASSPHRASE", passphrase)
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	// -in an empty directory: everything up to the packages is checked.
	return run(t.TempDir(), "", out, defaultURL, replace, "")
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("the error does not say %q:\n%v", p, err)
		}
	}
	t.Logf("mkrepo: %v", err)
}

// nothingLeft: the output does not exist, and nothing temporary is beside it.
func nothingLeft(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was made", out)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range ents {
		t.Errorf("left behind: %s", filepath.Join(filepath.Dir(out), e.Name()))
	}
}

func TestNoKeySaysHowToMakeOne(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist", "repo")
	err := mkrepo(t, "", "", out, false)
	wantErr(t, err, "TELECLAUDE_SIGNING_KEY is not set", "gpg --batch --passphrase '' --quick-gen-key", "make repo TELECLAUDE_SIGNING_KEY=")
	if _, err := os.Stat(filepath.Dir(out)); err == nil {
		t.Errorf("%s was made without a key", filepath.Dir(out))
	}
}

func TestBadKeys(t *testing.T) {
	const uid = "Bad key <bad@example.invalid>"
	past := time.Now().AddDate(-2, 0, 0).UTC().Format("20060102T150405")
	for _, tc := range []struct {
		name       string
		passphrase string // the key's
		given      string // TELECLAUDE_SIGNING_PASSPHRASE
		steps      [][]string
		want       []string
	}{
		{name: "missing-passphrase", passphrase: "right",
			steps: [][]string{{"--quick-gen-key", uid, "ed25519", "sign", "1y"}},
			want:  []string{"protected by a passphrase", "TELECLAUDE_SIGNING_PASSPHRASE"}},
		{name: "wrong-passphrase", passphrase: "right", given: "wrong",
			steps: [][]string{{"--quick-gen-key", uid, "ed25519", "sign", "1y"}},
			want:  []string{"wrong passphrase"}},
		{name: "expired",
			steps: [][]string{{"--faked-system-time", past, "--quick-gen-key", uid, "ed25519", "sign", "1d"}},
			want:  []string{"expired on", "--quick-set-expire"}},
		{name: "no-signing-capability",
			steps: [][]string{{"--quick-gen-key", uid, "ed25519", "cert", "1y"}},
			want:  []string{"no usable signing key", "--quick-add-key"}},
		{name: "public-only",
			want: []string{"only a public key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var key string
			if tc.name == "public-only" {
				needGPG(t)
				home := t.TempDir()
				t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
				exec.Command("gpg", "--batch", "--homedir", home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "1y").Run()
				pub, err := exec.Command("gpg", "--homedir", home, "--armor", "--export").Output()
				if err != nil {
					t.Fatal(err)
				}
				key = filepath.Join(home, "pub.asc")
				os.WriteFile(key, pub, 0o600)
			} else {
				key = gpgKey(t, tc.passphrase, tc.steps...)
			}
			out := filepath.Join(t.TempDir(), "repo")
			wantErr(t, mkrepo(t, key, tc.given, out, false), tc.want...)
			nothingLeft(t, out)
		})
	}
}

// A revoked key: gpg's own revocation certificate, imported.
func TestRevokedKey(t *testing.T) {
	needGPG(t)
	home := t.TempDir()
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	gpg := func(args ...string) []byte {
		out, err := exec.Command("gpg", append([]string{"--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
		return out
	}
	gpg("--quick-gen-key", "Revoked <revoked@example.invalid>", "ed25519", "sign", "1y")
	fpr := fingerprint(t, home)
	cert, err := os.ReadFile(filepath.Join(home, "openpgp-revocs.d", fpr+".rev"))
	if err != nil {
		t.Fatal(err)
	}
	// gpg guards the stored certificate with a leading colon.
	rev := filepath.Join(home, "rev.asc")
	os.WriteFile(rev, []byte(strings.Replace(string(cert), ":-----BEGIN", "-----BEGIN", 1)), 0o600)
	gpg("--import", rev)
	key := filepath.Join(home, "key.asc")
	os.WriteFile(key, gpg("--armor", "--export-secret-keys"), 0o600)
	out := filepath.Join(t.TempDir(), "repo")
	wantErr(t, mkrepo(t, key, "", out, false), "is revoked")
	nothingLeft(t, out)
}

// An output directory nobody may write to: a read-only mount (root writes
// anywhere else).
func TestUnwritableOutput(t *testing.T) {
	key := gpgKey(t, "", []string{"--quick-gen-key", "Ok <ok@example.invalid>", "ed25519", "sign", "1y"})
	dir := t.TempDir()
	if os.Getuid() == 0 {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, "size=1m"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Unmount(dir, 0) })
	} else {
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	wantErr(t, mkrepo(t, key, "", filepath.Join(dir, "repo"), false), "cannot write the repository beside", filepath.Join(dir, "repo"))
}

// An output that mkrepo did not make is not replaced silently; one that it
// made for another version is refused in packaging/pkgtest
// (TestRepoRefusesMixing), where there are packages to build one.
func TestForeignOutputRefused(t *testing.T) {
	key := gpgKey(t, "", []string{"--quick-gen-key", "Ok <ok@example.invalid>", "ed25519", "sign", "1y"})
	out := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "index.html"), []byte("someone's"), 0o644)
	wantErr(t, mkrepo(t, key, "", out, false), "not a repository mkrepo made")
	if b, err := os.ReadFile(filepath.Join(out, "index.html")); err != nil || string(b) != "someone's" {
		t.Errorf("the existing output changed: %q %v", b, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("left beside the output: %v", ents)
	}
}

// A build that fails half-way (here: no packages where -in says) leaves
// the published repository as it was, and nothing beside it.
func TestFailedBuildLeavesOldRepo(t *testing.T) {
	key := gpgKey(t, "", []string{"--quick-gen-key", "Ok <ok@example.invalid>", "ed25519", "sign", "1y"})
	out := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(out, 0o755)
	stamp := "version 1.0.0-1\n"
	os.WriteFile(filepath.Join(out, stampName), []byte(stamp), 0o644)
	wantErr(t, mkrepo(t, key, "", out, true), "want one teleclaude_*_amd64.deb")
	if b, _ := os.ReadFile(filepath.Join(out, stampName)); string(b) != stamp {
		t.Errorf("the old repository changed: %q", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("left beside the output: %v", ents)
	}
}

// -sign, as make release runs it on SHA256SUMS: a detached signature that
// gpgv verifies with the published key, the same on a second run, and
// none at all with a bad key.
func TestSignFile(t *testing.T) {
	needGPG(t)
	home := t.TempDir()
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	gpg := func(args ...string) []byte {
		out, err := exec.Command("gpg", append([]string{"--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...).Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return out
	}
	gpg("--quick-gen-key", "Release <release@example.invalid>", "rsa3072", "sign", "1y")
	key := filepath.Join(home, "key.asc")
	os.WriteFile(key, gpg("--armor", "--export-secret-keys"), 0o600)
	keyring := filepath.Join(home, "pub.gpg")
	os.WriteFile(keyring, gpg("--export"), 0o644)

	sums := filepath.Join(t.TempDir(), "SHA256SUMS")
	os.WriteFile(sums, []byte("0123  teleclaude_1.0.0_darwin_arm64.pkg\n"), 0o644)
	t.Setenv("TELECLAUDE_SIGNING_KEY", key)
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	var sigs []string
	for i := 0; i < 2; i++ {
		if err := run("", "", "", defaultURL, false, sums); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(sums + ".asc")
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, string(b))
	}
	if sigs[0] != sigs[1] {
		t.Errorf("two signatures of one file at one time differ")
	}
	if out, err := exec.Command("gpgv", "--keyring", keyring, sums+".asc", sums).CombinedOutput(); err != nil {
		t.Errorf("gpgv SHA256SUMS.asc: %v\n%s", err, out)
	}
	os.WriteFile(sums, []byte("0124  teleclaude_1.0.0_darwin_arm64.pkg\n"), 0o644)
	if out, err := exec.Command("gpgv", "--keyring", keyring, sums+".asc", sums).CombinedOutput(); err == nil {
		t.Errorf("gpgv accepts a changed SHA256SUMS:\n%s", out)
	}
}
