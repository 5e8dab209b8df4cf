// Package xartest makes throwaway signing identities shaped like Apple's
// Developer ID ones, and checks a signed xar archive with openssl, which
// shares no code with the writer.
package xartest

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/testenv"
)

// Apple's marker extensions of Developer ID leaf certificates.
var (
	OIDDeveloperIDApplication = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 13}
	OIDDeveloperIDInstaller   = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 14}
)

// Chain is a throwaway root CA, an intermediate and a leaf with its key.
type Chain struct {
	Root, Intermediate, Leaf *x509.Certificate
	Key                      *rsa.PrivateKey
}

// LeafOptions shape the leaf.
type LeafOptions struct {
	CommonName string                // "Developer ID Installer: Test (TEAM123456)" when empty
	Marker     asn1.ObjectIdentifier // OIDDeveloperIDInstaller when nil
	NotAfter   time.Time             // a year from now when zero
}

var serial int64

func cert(t testing.TB, tmpl, parent *x509.Certificate, pub any, signer *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func key(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewChain makes a root CA ("Test Root CA"), an intermediate shaped like
// "Developer ID Certification Authority", and a leaf as o says.
func NewChain(t testing.TB, o LeafOptions) *Chain {
	t.Helper()
	now := time.Now()
	rootKey, interKey, leafKey := key(t), key(t), key(t)
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"TeleClaude tests"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	rootTmpl := ca("Test Root CA")
	root := cert(t, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	inter := cert(t, ca("Developer ID Certification Authority"), root, &interKey.PublicKey, rootKey)
	if o.CommonName == "" {
		o.CommonName = "Developer ID Installer: Test (TEAM123456)"
	}
	if o.Marker == nil {
		o.Marker = OIDDeveloperIDInstaller
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(365 * 24 * time.Hour)
	}
	leaf := cert(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: o.CommonName, OrganizationalUnit: []string{"TEAM123456"}, Organization: []string{"Test"}},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: o.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: o.Marker, Critical: true, Value: []byte{5, 0}}},
	}, inter, &leafKey.PublicKey, interKey)
	return &Chain{Root: root, Intermediate: inter, Leaf: leaf, Key: leafKey}
}

// PEM encodes certificates.
func PEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

type sigElem struct {
	Style  string   `xml:"style,attr"`
	Offset int64    `xml:"offset"`
	Size   int64    `xml:"size"`
	Certs  []string `xml:"KeyInfo>X509Data>X509Certificate"`
}

// Verify checks a signed archive with openssl against root as the only
// trusted certificate: that the TOC checksum in the heap is the SHA-1 of
// the compressed TOC, that the RSA signature in the heap verifies over
// that digest with the public key of the first certificate the TOC names,
// and that the named chain leads from that certificate to root; and that
// the CMS x-signature, right after the RSA one and naming the same chain,
// verifies (openssl cms) as a detached signature of the TOC checksum by a
// signer whose chain, taken from the CMS's own certificates, leads to root.
// It returns the TOC's certificates.
func Verify(t testing.TB, archive []byte, root *x509.Certificate) ([]*x509.Certificate, error) {
	t.Helper()
	openssl := testenv.Tool(t, "openssl")
	if len(archive) < 28 || string(archive[:4]) != "xar!" {
		return nil, fmt.Errorf("not a xar archive")
	}
	clen := binary.BigEndian.Uint64(archive[8:])
	if 28+clen > uint64(len(archive)) {
		return nil, fmt.Errorf("TOC past the end")
	}
	ztoc, heap := archive[28:28+clen], archive[28+clen:]
	zr, err := zlib.NewReader(bytes.NewReader(ztoc))
	if err != nil {
		return nil, fmt.Errorf("TOC: %v", err)
	}
	x, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("TOC: %v", err)
	}
	var doc struct {
		TOC struct {
			Checksum struct {
				Style  string `xml:"style,attr"`
				Offset int64  `xml:"offset"`
				Size   int64  `xml:"size"`
			} `xml:"checksum"`
			Signature  *sigElem `xml:"signature"`
			XSignature *sigElem `xml:"x-signature"`
		} `xml:"toc"`
	}
	if err := xml.Unmarshal(x, &doc); err != nil {
		return nil, fmt.Errorf("TOC: %v", err)
	}
	sig := doc.TOC.Signature
	cs := doc.TOC.Checksum
	if sig == nil || sig.Style != "RSA" || len(sig.Certs) == 0 || cs.Style != "sha1" {
		return nil, fmt.Errorf("no RSA signature with certificates in the TOC (checksum %q)", cs.Style)
	}
	xsig := doc.TOC.XSignature
	if xsig == nil || xsig.Style != "CMS" {
		return nil, fmt.Errorf("no CMS x-signature in the TOC")
	}
	if xsig.Offset != sig.Offset+sig.Size || strings.Join(xsig.Certs, "|") != strings.Join(sig.Certs, "|") {
		return nil, fmt.Errorf("the x-signature (at %d, %d certificates) does not follow the RSA one (%d+%d, %d certificates)",
			xsig.Offset, len(xsig.Certs), sig.Offset, sig.Size, len(sig.Certs))
	}
	part := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > int64(len(heap)) {
			return nil, fmt.Errorf("heap range %d+%d out of bounds", off, n)
		}
		return heap[off : off+n], nil
	}
	stored, err := part(cs.Offset, cs.Size)
	if err != nil {
		return nil, err
	}
	signature, err := part(sig.Offset, sig.Size)
	if err != nil {
		return nil, err
	}
	cms, err := part(xsig.Offset, xsig.Size)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, b64 := range sig.Certs {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
		if err != nil {
			return nil, fmt.Errorf("certificate: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate: %v", err)
		}
		certs = append(certs, c)
	}

	dir := t.TempDir()
	files := map[string][]byte{"toc.z": ztoc, "stored": stored, "sig": signature, "cms.der": cms, "leaf.pem": PEM(certs[0]),
		"untrusted.pem": PEM(certs[1:]...), "root.pem": PEM(root)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("openssl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return out, nil
	}
	digest, err := run("dgst", "-sha1", "-binary", "toc.z")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(digest, stored) {
		return nil, fmt.Errorf("the TOC checksum in the heap (%x) is not the TOC's SHA-1 (%x)", stored, digest)
	}
	os.WriteFile(filepath.Join(dir, "digest"), digest, 0o600)
	pub, err := run("x509", "-in", "leaf.pem", "-noout", "-pubkey")
	if err != nil {
		return nil, err
	}
	os.WriteFile(filepath.Join(dir, "pub.pem"), pub, 0o600)
	if _, err := run("pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-in", "digest", "-sigfile", "sig", "-pkeyopt", "digest:sha1"); err != nil {
		return nil, err
	}
	// Apple marks its Developer ID extension critical, as the leaf here
	// does; openssl knows nothing of it.
	args := []string{"verify", "-ignore_critical", "-CAfile", "root.pem"}
	if len(certs) > 1 {
		args = append(args, "-untrusted", "untrusted.pem")
	}
	if out, err := run(append(args, "leaf.pem")...); err != nil || !strings.Contains(string(out), "leaf.pem: OK") {
		return nil, fmt.Errorf("chain: %v %s", err, out)
	}
	// -ignore_critical as above; no -certfile, so the intermediate must
	// come from the CMS's certificates.
	if _, err := run("cms", "-verify", "-inform", "DER", "-in", "cms.der", "-binary", "-content", "stored",
		"-ignore_critical", "-CAfile", "root.pem", "-out", "content"); err != nil {
		return nil, fmt.Errorf("x-signature: %v", err)
	}
	return certs, nil
}
