package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/macho"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/xar"
	"software.sslmate.com/src/go-pkcs12"
)

// The signing inputs, files named by environment variables so that no
// secret is on a command line. Without them the package is unsigned.
const (
	// EnvInstallerP12 names the Developer ID Installer identity (its
	// certificate and key, as Keychain Access exports them) that signs the
	// package.
	EnvInstallerP12 = "TELECLAUDE_PKG_INSTALLER_P12"
	// EnvAppP12 names the Developer ID Application identity that signs the
	// programs, through rcodesign, with the hardened runtime.
	EnvAppP12 = "TELECLAUDE_PKG_APP_P12"
	// EnvP12Password names a file holding both identities' password.
	EnvP12Password = "TELECLAUDE_PKG_P12_PASSWORD_FILE"
	// EnvChain names a PEM file with the certificates that lead from the
	// Installer certificate to a root (Apple's "Developer ID
	// Certification Authority" and "Apple Root CA"), when the .p12 lacks
	// them.
	EnvChain = "TELECLAUDE_PKG_CHAIN"
)

// Apple's marker extensions of Developer ID certificates.
var (
	oidDeveloperIDApplication = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 13}
	oidDeveloperIDInstaller   = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 14}
)

// identity loads the .p12 file named by env, checking that it holds a
// Developer ID certificate of the kind marker says, valid at now, with the
// matching RSA key.
func identity(getenv func(string) string, env string, marker asn1.ObjectIdentifier, kind string, now time.Time) (*rsa.PrivateKey, *x509.Certificate, []*x509.Certificate, error) {
	file := getenv(env)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", env, err)
	}
	password := ""
	if pwFile := getenv(EnvP12Password); pwFile != "" {
		pw, err := os.ReadFile(pwFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", EnvP12Password, err)
		}
		password = strings.TrimRight(string(pw), "\r\n")
	}
	key, cert, cas, err := pkcs12.DecodeChain(data, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, nil, nil, fmt.Errorf("%s (%s): the password (from %s) is wrong", env, file, EnvP12Password)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s (%s): not a readable .p12 identity: %w", env, file, err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%s (%s): the key is a %T; Developer ID identities are RSA", env, file, key)
	}
	if !rsaKey.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, nil, fmt.Errorf("%s (%s): the key does not belong to the certificate %q", env, file, cert.Subject.CommonName)
	}
	has := func(oid asn1.ObjectIdentifier) bool {
		return slices.ContainsFunc(cert.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oid) })
	}
	if !has(marker) {
		what := "not a Developer ID certificate"
		if has(oidDeveloperIDApplication) {
			what = "a Developer ID Application certificate"
		} else if has(oidDeveloperIDInstaller) {
			what = "a Developer ID Installer certificate"
		}
		return nil, nil, nil, fmt.Errorf("%s (%s): %q is %s; this needs a %s one", env, file, cert.Subject.CommonName, what, kind)
	}
	if now.After(cert.NotAfter) {
		return nil, nil, nil, fmt.Errorf("%s (%s): %q expired on %s", env, file, cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(cert.NotBefore) {
		return nil, nil, nil, fmt.Errorf("%s (%s): %q is not valid before %s", env, file, cert.Subject.CommonName, cert.NotBefore.UTC().Format(time.DateOnly))
	}
	return rsaKey, cert, cas, nil
}

// installerSigner returns the signer of the package, or nil for an
// unsigned build. The chain it names runs from the certificate up to a
// self-signed root, found among the .p12's certificates and EnvChain's.
func installerSigner(getenv func(string) string, now time.Time) (*xar.Signer, error) {
	if getenv(EnvInstallerP12) == "" {
		return nil, nil
	}
	key, leaf, cas, err := identity(getenv, EnvInstallerP12, oidDeveloperIDInstaller, "Developer ID Installer", now)
	if err != nil {
		return nil, err
	}
	if f := getenv(EnvChain); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvChain, err)
		}
		for {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", EnvChain, f, err)
			}
			cas = append(cas, c)
		}
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range cas {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	// Go's verifier refuses extensions it does not know when they are
	// critical; Apple's marker is one, and was checked above.
	check := *leaf
	check.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(leaf.UnhandledCriticalExtensions), func(o asn1.ObjectIdentifier) bool {
		return o.Equal(oidDeveloperIDInstaller)
	})
	chains, err := check.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("%s: the certificate %q does not lead to a root among the .p12's and %s's certificates (give Apple's Developer ID Certification Authority and Apple Root CA there): %w",
			EnvInstallerP12, leaf.Subject.CommonName, EnvChain, err)
	}
	chain := append([]*x509.Certificate{leaf}, chains[0][1:]...)
	return &xar.Signer{Key: key, Chain: chain}, nil
}

// Code-signature blobs (<Kernel/kern/cs_blobs.h>).
const (
	csMagicEmbeddedSignature = 0xfade0cc0
	csMagicCodeDirectory     = 0xfade0c02
	csMagicBlobWrapper       = 0xfade0b01
	csFlagAdhoc              = 0x2
	csFlagRuntime            = 0x10000
)

// devIDSigned reports whether a thin program carries a Developer ID style
// signature: a CMS signature blob with content, a code directory that is
// not ad hoc, and the hardened runtime, which the notary requires.
func devIDSigned(f *macho.File, data []byte) error {
	var off, size uint32
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) >= 16 && f.ByteOrder.Uint32(raw) == lcCodeSignature {
			off, size = f.ByteOrder.Uint32(raw[8:]), f.ByteOrder.Uint32(raw[12:])
		}
	}
	if size == 0 || uint64(off)+uint64(size) > uint64(len(data)) || size < 12 {
		return errors.New("has no code signature")
	}
	sb := data[off : off+size]
	be := binary.BigEndian
	if be.Uint32(sb) != csMagicEmbeddedSignature {
		return errors.New("has a damaged code signature")
	}
	n := be.Uint32(sb[8:])
	var cms, runtime, adhoc, cd bool
	for i := uint32(0); i < n && 12+8*i+8 <= uint32(len(sb)); i++ {
		bo := be.Uint32(sb[12+8*i+4:])
		if uint64(bo)+8 > uint64(len(sb)) {
			return errors.New("has a damaged code signature")
		}
		blob := sb[bo:]
		switch be.Uint32(blob) {
		case csMagicCodeDirectory:
			if len(blob) >= 16 {
				flags := be.Uint32(blob[12:])
				cd, adhoc, runtime = true, flags&csFlagAdhoc != 0, flags&csFlagRuntime != 0
			}
		case csMagicBlobWrapper:
			cms = be.Uint32(blob[4:]) > 8
		}
	}
	switch {
	case !cd:
		return errors.New("has no code directory in its signature")
	case adhoc || !cms:
		return errors.New("is signed ad hoc (as Go's linker signs), not with a Developer ID Application identity")
	case !runtime:
		return errors.New("is signed without the hardened runtime, which notarization requires")
	}
	return nil
}

// signPrograms signs universal programs in place with the Developer ID
// Application identity through rcodesign (apple-codesign), which signs
// Mach-O files on any platform. It is the only step that needs a tool
// from outside the module: no kept pure-Go Mach-O signer is served by the
// module proxy.
func signPrograms(getenv func(string) string, now time.Time, programs map[string]*[]byte) error {
	if getenv(EnvAppP12) == "" {
		return nil
	}
	if _, _, _, err := identity(getenv, EnvAppP12, oidDeveloperIDApplication, "Developer ID Application", now); err != nil {
		return err
	}
	rcodesign, err := exec.LookPath("rcodesign")
	if err != nil {
		return fmt.Errorf("%s is set, but rcodesign is not on PATH: install it (cargo install apple-codesign, or its release binary) to sign the programs", EnvAppP12)
	}
	dir, err := os.MkdirTemp("", "mkpkg-sign-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, data := range programs {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, *data, 0o755); err != nil {
			return err
		}
		args := []string{"sign", "--p12-file", getenv(EnvAppP12), "--code-signature-flags", "runtime", "--for-notarization"}
		if pw := getenv(EnvP12Password); pw != "" {
			args = append(args, "--p12-password-file", pw)
		}
		cmd := exec.Command(rcodesign, append(args, file)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("rcodesign signing %s: %v\n%s", name, err, out)
		}
		if *data, err = os.ReadFile(file); err != nil {
			return err
		}
	}
	return nil
}

// checkSigned fails unless every slice of a universal program is signed
// with a Developer ID identity and the hardened runtime.
func checkSigned(name string, fat []byte) error {
	ff, err := macho.NewFatFile(bytes.NewReader(fat))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer ff.Close()
	for _, a := range ff.Arches {
		if err := devIDSigned(a.File, fat[a.Offset:a.Offset+a.Size]); err != nil {
			return fmt.Errorf("%s (%v) %v; a signed package needs programs signed with a Developer ID Application identity and the hardened runtime: set %s (with rcodesign on PATH), or sign them before", name, a.Cpu, err, EnvAppP12)
		}
	}
	return nil
}
