package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/xar/xartest"
	"software.sslmate.com/src/go-pkcs12"
)

// p12 writes an identity as Keychain Access exports it, with its CA
// certificates, and its password file; it returns the environment that
// names them.
func p12(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, cas []*x509.Certificate, password string) map[string]string {
	t.Helper()
	data, err := pkcs12.Modern.Encode(key, cert, cas, password)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "id.p12"), data, 0o600)
	os.WriteFile(filepath.Join(dir, "pw"), []byte(password+"\n"), 0o600)
	return map[string]string{EnvInstallerP12: filepath.Join(dir, "id.p12"), EnvP12Password: filepath.Join(dir, "pw")}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestInstallerIdentity: a good identity gives the chain up to the root;
// each bad one is refused with a clear error before anything is built, and
// no package, signed-looking or not, is left.
func TestInstallerIdentity(t *testing.T) {
	good := xartest.NewChain(t, xartest.LeafOptions{})
	env := p12(t, good.Key, good.Leaf, []*x509.Certificate{good.Intermediate, good.Root}, "s3cret")
	s, err := installerSigner(envOf(env), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Chain) != 3 || !s.Chain[0].Equal(good.Leaf) || !s.Chain[1].Equal(good.Intermediate) || !s.Chain[2].Equal(good.Root) {
		t.Errorf("chain of %d certificates, want leaf, intermediate, root", len(s.Chain))
	}
	// The CA certificates may come from a PEM file instead.
	chainFile := filepath.Join(t.TempDir(), "chain.pem")
	os.WriteFile(chainFile, xartest.PEM(good.Intermediate, good.Root), 0o644)
	env2 := p12(t, good.Key, good.Leaf, nil, "s3cret")
	env2[EnvChain] = chainFile
	if s, err := installerSigner(envOf(env2), time.Now()); err != nil || len(s.Chain) != 3 {
		t.Errorf("with %s: %v", EnvChain, err)
	}
	if s, err := installerSigner(noEnv, time.Now()); s != nil || err != nil {
		t.Errorf("without identity: %v, %v; want an unsigned build", s, err)
	}

	expired := xartest.NewChain(t, xartest.LeafOptions{NotAfter: time.Now().Add(-time.Hour)})
	app := xartest.NewChain(t, xartest.LeafOptions{CommonName: "Developer ID Application: Test (TEAM123456)", Marker: xartest.OIDDeveloperIDApplication})
	other := xartest.NewChain(t, xartest.LeafOptions{})
	wrongPW := p12(t, good.Key, good.Leaf, []*x509.Certificate{good.Intermediate, good.Root}, "s3cret")
	os.WriteFile(wrongPW[EnvP12Password], []byte("guess\n"), 0o600)
	notP12 := map[string]string{EnvInstallerP12: chainFile}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong password", wrongPW, "the password (from " + EnvP12Password + ") is wrong"},
		{"expired", p12(t, expired.Key, expired.Leaf, []*x509.Certificate{expired.Intermediate, expired.Root}, "pw"), "expired on"},
		{"application certificate", p12(t, app.Key, app.Leaf, []*x509.Certificate{app.Intermediate, app.Root}, "pw"),
			"is a Developer ID Application certificate; this needs a Developer ID Installer one"},
		{"key of another certificate", p12(t, other.Key, good.Leaf, []*x509.Certificate{good.Intermediate, good.Root}, "pw"), "the key does not belong to the certificate"},
		{"no root", p12(t, good.Key, good.Leaf, []*x509.Certificate{good.Intermediate}, "pw"), "does not lead to a root"},
		{"another root", p12(t, good.Key, good.Leaf, []*x509.Certificate{good.Intermediate, other.Root}, "pw"), "does not lead to a root"},
		{"not a p12", notP12, "not a readable .p12 identity"},
		{"missing file", map[string]string{EnvInstallerP12: "/nonexistent.p12"}, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "x.pkg")
			// The programs are never read: the identity is checked first.
			err := run([]string{"-version", "1", "-o", out, "-arm64", dir, "-amd64", dir}, &bytes.Buffer{}, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestDevIDSigned: the Go linker's ad-hoc signature is not a Developer ID
// one, and a program without any is refused too.
func TestDevIDSigned(t *testing.T) {
	if err := checkSigned("x", []byte("not mach-o")); err == nil {
		t.Error("checkSigned accepted garbage")
	}
}
