package xar

import (
	"bytes"
	"compress/zlib"
	"crypto/x509"
	"encoding/binary"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/testenv"
	"github.com/instruktai/teleclaude/internal/xar/xartest"
)

var when = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sample() []File {
	return []File{
		{Name: "Distribution", Data: []byte("<installer-gui-script/>\n"), Mode: 0o644, Compress: true},
		{Name: "p.pkg/Payload", Data: bytes.Repeat([]byte("payload "), 1000), Mode: 0o644},
		{Name: "p.pkg/Bom", Data: []byte("BOMStore..."), Mode: 0o644, Compress: true},
		{Name: "p.pkg/Empty", Mode: 0o600},
		{Name: "p.pkg/Scripts", Data: []byte{0x1f, 0x8b, 0, 1, 2, 3}, Mode: 0o644},
	}
}

func archive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, sample(), when, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bsdtar(t *testing.T, archive []byte, args ...string) (string, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "a.xar")
	if err := os.WriteFile(f, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testenv.Tool(t, "bsdtar"), append(args, "-f", f)...).CombinedOutput()
	return string(out), err
}

// TestBsdtarListsAndExtracts reads the archive with libarchive: the TOC
// checksum must verify for the listing, and every file's checksums for the
// extraction, which must give back the data byte for byte.
func TestBsdtarListsAndExtracts(t *testing.T) {
	a := archive(t)
	out, err := bsdtar(t, a, "-t")
	if err != nil {
		t.Fatalf("bsdtar -t: %v: %s", err, out)
	}
	got := strings.Fields(out)
	want := []string{"Distribution", "p.pkg", "p.pkg/Bom", "p.pkg/Empty", "p.pkg/Payload", "p.pkg/Scripts"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("bsdtar -t lists %q, want %q", got, want)
	}
	dir := t.TempDir()
	if out, err := bsdtar(t, a, "-x", "-C", dir); err != nil || out != "" {
		t.Fatalf("bsdtar -x: %v: %s", err, out)
	}
	for _, f := range sample() {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || !bytes.Equal(b, f.Data) {
			t.Errorf("%s extracted as %d bytes (%v), want %d", f.Name, len(b), err, len(f.Data))
		}
		if st, err := os.Stat(filepath.Join(dir, f.Name)); err == nil && st.Mode().Perm() != f.Mode {
			t.Errorf("%s mode %v, want %v", f.Name, st.Mode().Perm(), f.Mode)
		}
	}
}

// TestBsdtarCatchesDamage proves that the checksums are checked at all: a
// flipped byte in the heap's TOC checksum or in a file's data is refused.
func TestBsdtarCatchesDamage(t *testing.T) {
	a := archive(t)
	heap := headerSize + int(binary.BigEndian.Uint64(a[8:16]))

	badTOC := bytes.Clone(a)
	badTOC[heap+5] ^= 1
	if out, err := bsdtar(t, badTOC, "-t"); err == nil {
		t.Errorf("bsdtar -t accepted a wrong TOC checksum: %s", out)
	}

	badData := bytes.Clone(a)
	i := bytes.Index(badData[heap:], []byte("payload payload"))
	badData[heap+i+3] ^= 1
	out, err := bsdtar(t, badData, "-x", "-C", t.TempDir())
	if err == nil || !strings.Contains(out, "Sumcheck") {
		t.Errorf("bsdtar -x of damaged data: err %v, output %q; want a Sumcheck error", err, out)
	}
}

func TestHeaderAndReproducible(t *testing.T) {
	a := archive(t)
	if string(a[:4]) != "xar!" || binary.BigEndian.Uint16(a[4:]) != headerSize || binary.BigEndian.Uint16(a[6:]) != 1 ||
		binary.BigEndian.Uint32(a[24:]) != algSHA1 {
		t.Errorf("header % x", a[:headerSize])
	}
	if !bytes.Equal(a, archive(t)) {
		t.Error("two archives of the same files differ")
	}
}

func TestRejectsBadNames(t *testing.T) {
	for _, files := range [][]File{
		{{Name: "/abs"}},
		{{Name: "a//b"}},
		{{Name: "dir/"}},
		{{Name: "a"}, {Name: "a"}},
		{{Name: "a"}, {Name: "a/b"}},
	} {
		if err := Write(&bytes.Buffer{}, files, when, nil); err == nil {
			t.Errorf("Write(%+v) succeeded", files)
		}
	}
}

// TestSigned signs with a throwaway chain: openssl verifies the signature
// over the TOC checksum with the leaf's key and the chain up to the test's
// root, and openssl cms verifies the CMS x-signature over the same checksum
// with the chain it carries; bsdtar still reads and checks the archive; a
// byte flipped in the TOC, the stored checksum, either signature or a file
// fails verification.
func TestSigned(t *testing.T) {
	c := xartest.NewChain(t, xartest.LeafOptions{})
	var buf bytes.Buffer
	signer := &Signer{Key: c.Key, Chain: []*x509.Certificate{c.Leaf, c.Intermediate, c.Root}}
	if err := Write(&buf, sample(), when, signer); err != nil {
		t.Fatal(err)
	}
	a := buf.Bytes()
	certs, err := xartest.Verify(t, a, c.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 || !certs[0].Equal(c.Leaf) || !certs[1].Equal(c.Intermediate) || !certs[2].Equal(c.Root) {
		t.Errorf("the TOC names %d certificates, want leaf, intermediate, root", len(certs))
	}
	if out, err := bsdtar(t, a, "-xO"); err != nil || !strings.Contains(out, string(sample()[1].Data)) {
		t.Errorf("bsdtar reading the signed archive: %v: %.300s", err, out)
	}
	tocLen := int(binary.BigEndian.Uint64(a[8:]))
	heap := headerSize + tocLen
	zr, err := zlib.NewReader(bytes.NewReader(a[headerSize:heap]))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TOC toc `xml:"toc"`
	}
	if err := xml.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	xs := doc.TOC.XSignature
	cmsAt, cmsEnd := heap+int(xs.Offset), heap+int(xs.Offset+xs.Size)

	// Only the CMS signature's signing time may differ between two
	// signings; its length and everything around it stay the same.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	var again bytes.Buffer
	if err := Write(&again, sample(), when, signer); err != nil {
		t.Fatal(err)
	}
	b := again.Bytes()
	if len(b) != len(a) || !bytes.Equal(b[:cmsAt], a[:cmsAt]) || !bytes.Equal(b[cmsEnd:], a[cmsEnd:]) {
		t.Errorf("signing twice gave archives that differ outside the CMS signature")
	}
	if bytes.Equal(b[cmsAt:cmsEnd], a[cmsAt:cmsEnd]) {
		t.Errorf("two signings a second apart gave the same CMS signature: no signing time in it?")
	}
	if _, err := xartest.Verify(t, b, c.Root); err != nil {
		t.Errorf("the second signing: %v", err)
	}
	// Another root does not vouch for the chain.
	if _, err := xartest.Verify(t, a, xartest.NewChain(t, xartest.LeafOptions{}).Root); err == nil {
		t.Error("the chain verified against an unrelated root")
	}

	for name, at := range map[string]int{
		"TOC":              headerSize + tocLen/2,
		"stored checksum":  heap + 3,
		"signature":        heap + 20 + 100,
		"last byte of sig": heap + 20 + 255,
		"CMS signature":    cmsAt + (cmsEnd-cmsAt)/2,
		"last byte of CMS": cmsEnd - 1,
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Clone(a)
			bad[at] ^= 0x01
			_, err := xartest.Verify(t, bad, c.Root)
			if err == nil {
				t.Fatalf("a byte flipped in the %s still verifies", name)
			}
			// The RSA signature is untouched there: the CMS check caught it.
			if at >= cmsAt && !strings.Contains(err.Error(), "x-signature") {
				t.Errorf("a byte flipped in the %s: %v, want the x-signature to fail", name, err)
			}
		})
	}
	t.Run("file data", func(t *testing.T) {
		bad := bytes.Clone(a)
		bad[len(bad)-3] ^= 0x01 // in the last file, p.pkg/Scripts
		if _, err := xartest.Verify(t, bad, c.Root); err != nil {
			t.Fatalf("the TOC no longer verifies: %v", err)
		}
		// The signed TOC holds the file's checksums, which catch it.
		if out, err := bsdtar(t, bad, "-xO"); err == nil {
			t.Errorf("bsdtar extracted a damaged file: %q", out)
		}
	})
}

func TestSignerRejects(t *testing.T) {
	c := xartest.NewChain(t, xartest.LeafOptions{})
	other := xartest.NewChain(t, xartest.LeafOptions{})
	for name, s := range map[string]*Signer{
		"key of another certificate": {Key: other.Key, Chain: []*x509.Certificate{c.Leaf}},
		"no certificate":             {Key: c.Key},
		// The root did not issue the leaf: the CMS chain would be broken.
		"chain out of order": {Key: c.Key, Chain: []*x509.Certificate{c.Leaf, c.Root, c.Intermediate}},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, sample(), when, s); err == nil {
			t.Errorf("%s: signed", name)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written", name, buf.Len())
		}
	}
}
