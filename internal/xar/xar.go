// Package xar writes xar archives, the container of a macOS flat package
// (.pkg). An archive is a 28-byte header, a zlib-compressed XML table of
// contents (TOC), and a heap holding the TOC's checksum followed by each
// file's data:
//
//	magic "xar!" | header size 28 | version 1 | TOC length compressed |
//	TOC length uncompressed | checksum algorithm (1 = SHA-1)
//
// The TOC names every file and directory, and for each file where its data
// lies in the heap, how it is encoded, and the SHA-1 of its stored
// ("archived") and original ("extracted") bytes. Readers (Installer,
// pkgutil, bsdtar) check the TOC against the checksum at the start of the
// heap and each file's data against its checksums.
//
// A signed archive (Signer) carries the two signatures productsign writes,
// both over the TOC checksum and both naming the signing certificate chain
// (leaf first) in an XML-DSig KeyInfo in the TOC; the heap holds the TOC
// checksum, then the RSA signature, then the CMS one, then the files:
//
//   - <signature style="RSA">: PKCS #1 v1.5 over the TOC checksum taken as
//     a SHA-1 digest, as xar's --digestinfo-to-sign makes it.
//   - <x-signature style="CMS">: a detached CMS SignedData whose content is
//     the TOC checksum's 20 bytes, SHA-256 digested, with signed attributes
//     (content type, message digest, signing time) and the chain as its
//     certificates. Installer and pkgutil read this one.
//
// Whoever holds the leaf's public key checks the TOC, and through the TOC's
// checksums every file.
package xar

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// File is one file of the archive. Its parent directories are created
// implicitly (root-owned, 0755).
type File struct {
	Name     string // slash-separated path, e.g. "teleclaude.pkg/Payload"
	Data     []byte
	Mode     fs.FileMode // permission bits
	Compress bool        // store zlib-compressed, as xar's "application/x-gzip" encoding
}

const (
	headerSize = 28
	magic      = 0x78617221 // "xar!"
	algSHA1    = 1
)

// Signer signs an archive: an RSA key and the certificate chain to name in
// the TOC, the key's certificate first, then its issuers up to the root.
type Signer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// size is the length of the signature the key makes.
func (s *Signer) size() (int, error) {
	pub, ok := s.Key.Public().(*rsa.PublicKey)
	if !ok {
		return 0, errors.New("xar: only RSA keys can sign a package")
	}
	if len(s.Chain) == 0 {
		return 0, errors.New("xar: no certificate to sign with")
	}
	if !pub.Equal(s.Chain[0].PublicKey) {
		return 0, errors.New("xar: the key does not belong to the first certificate of the chain")
	}
	return pub.Size(), nil
}

// cms makes the x-signature over the TOC checksum. Its signing time is the
// moment of signing, as productsign's is, so unlike the rest of a signed
// archive these bytes differ from one build to the next; their length does
// not (fixed-length time, digest and RSA signature), which Write relies on
// to place it before the TOC is final.
func (s *Signer) cms(tocSum []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(tocSum)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.Chain[0], s.Key, s.Chain[1:], pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("xar: CMS signature: %w", err)
	}
	// The library names the signature sha256WithRSAEncryption; RFC 3370
	// has CMS signers name plain rsaEncryption (NULL parameters), the form
	// every verifier takes and the one Apple's own signers write. The
	// signature value is the same either way.
	for i := range sd.GetSignedData().SignerInfos {
		sd.GetSignedData().SignerInfos[i].DigestEncryptionAlgorithm = pkix.AlgorithmIdentifier{
			Algorithm: pkcs7.OIDEncryptionAlgorithmRSA, Parameters: asn1.NullRawValue}
	}
	sd.Detach()
	return sd.Finish()
}

// Write writes an archive of files to w, signed when signer is not nil.
// created is the TOC's creation time and every entry's modification time,
// so equal inputs give equal archives (and, RSA PKCS #1 v1.5 being
// deterministic, equal RSA signatures; see Signer.cms for the CMS one).
func Write(w io.Writer, files []File, created time.Time, signer *Signer) error {
	stamp := created.UTC().Format("2006-01-02T15:04:05Z")
	t := toc{CreationTime: created.UTC().Format("2006-01-02T15:04:05"),
		Checksum: tocChecksum{Style: "sha1", Offset: 0, Size: sha1.Size}}

	heap := &bytes.Buffer{}
	heap.Write(make([]byte, sha1.Size)) // the TOC checksum, filled in below
	if signer != nil {
		n, err := signer.size()
		if err != nil {
			return err
		}
		// A trial signature over a stand-in checksum gives the CMS
		// signature's length, and refuses a chain whose certificates do not
		// issue one another before anything is written.
		trial, err := signer.cms(make([]byte, sha1.Size))
		if err != nil {
			return err
		}
		var certs []string
		for _, c := range signer.Chain {
			certs = append(certs, base64.StdEncoding.EncodeToString(c.Raw))
		}
		t.Signature = &signature{Style: "RSA", Offset: sha1.Size, Size: int64(n), KeyInfo: keyInfo{Certs: certs}}
		t.XSignature = &signature{Style: "CMS", Offset: sha1.Size + int64(n), Size: int64(len(trial)), KeyInfo: keyInfo{Certs: certs}}
		heap.Write(make([]byte, n+len(trial))) // the signatures, made below
	}
	ids := 0
	dirs := map[string]*entry{}
	seen := map[string]bool{}
	var place func(name string) (*[]*entry, error)
	place = func(name string) (*[]*entry, error) {
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return &t.Files, nil
		}
		dir := name[:i]
		if d, ok := dirs[dir]; ok {
			return &d.Files, nil
		}
		if seen[dir] {
			return nil, fmt.Errorf("xar: %s is a file and a directory", dir)
		}
		parent, err := place(dir)
		if err != nil {
			return nil, err
		}
		ids++
		d := &entry{ID: ids, Name: dir[strings.LastIndexByte(dir, '/')+1:], Type: "directory"}
		d.setOwner(0o755, stamp)
		dirs[dir] = d
		*parent = append(*parent, d)
		return &d.Files, nil
	}

	sorted := append([]File(nil), files...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, f := range sorted {
		if f.Name == "" || strings.HasPrefix(f.Name, "/") || strings.HasSuffix(f.Name, "/") || strings.Contains(f.Name, "//") {
			return fmt.Errorf("xar: bad file name %q", f.Name)
		}
		if seen[f.Name] || dirs[f.Name] != nil {
			return fmt.Errorf("xar: %s is added twice", f.Name)
		}
		seen[f.Name] = true
		stored, encoding := f.Data, "application/octet-stream"
		if f.Compress {
			var zb bytes.Buffer
			zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
			zw.Write(f.Data)
			if err := zw.Close(); err != nil {
				return err
			}
			stored, encoding = zb.Bytes(), "application/x-gzip"
		}
		parent, err := place(f.Name)
		if err != nil {
			return err
		}
		ids++
		e := &entry{ID: ids, Name: f.Name[strings.LastIndexByte(f.Name, '/')+1:], Type: "file",
			Data: &data{
				Length: int64(len(stored)), Offset: int64(heap.Len()), Size: int64(len(f.Data)),
				Encoding:  encodingStyle{Style: encoding},
				Archived:  sum(stored),
				Extracted: sum(f.Data),
			}}
		e.setOwner(f.Mode.Perm(), stamp)
		heap.Write(stored)
		*parent = append(*parent, e)
	}

	x, err := xml.MarshalIndent(struct {
		XMLName xml.Name `xml:"xar"`
		TOC     toc      `xml:"toc"`
	}{TOC: t}, "", " ")
	if err != nil {
		return err
	}
	x = append([]byte(xml.Header), x...)
	var ztoc bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&ztoc, zlib.BestCompression)
	zw.Write(x)
	if err := zw.Close(); err != nil {
		return err
	}
	tocSum := sha1.Sum(ztoc.Bytes())
	copy(heap.Bytes(), tocSum[:])
	if signer != nil {
		sig, err := signer.Key.Sign(rand.Reader, tocSum[:], crypto.SHA1)
		if err != nil {
			return fmt.Errorf("xar: signing: %w", err)
		}
		if int64(len(sig)) != t.Signature.Size {
			return fmt.Errorf("xar: a signature of %d bytes, %d expected", len(sig), t.Signature.Size)
		}
		copy(heap.Bytes()[sha1.Size:], sig)
		cms, err := signer.cms(tocSum[:])
		if err != nil {
			return err
		}
		if int64(len(cms)) != t.XSignature.Size {
			return fmt.Errorf("xar: a CMS signature of %d bytes, %d expected", len(cms), t.XSignature.Size)
		}
		copy(heap.Bytes()[t.XSignature.Offset:], cms)
	}

	hdr := make([]byte, 0, headerSize)
	hdr = binary.BigEndian.AppendUint32(hdr, magic)
	hdr = binary.BigEndian.AppendUint16(hdr, headerSize)
	hdr = binary.BigEndian.AppendUint16(hdr, 1)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(ztoc.Len()))
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(x)))
	hdr = binary.BigEndian.AppendUint32(hdr, algSHA1)
	for _, part := range [][]byte{hdr, ztoc.Bytes(), heap.Bytes()} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

func sum(b []byte) hash {
	s := sha1.Sum(b)
	return hash{Style: "sha1", Value: hex.EncodeToString(s[:])}
}

type toc struct {
	CreationTime string      `xml:"creation-time"`
	Checksum     tocChecksum `xml:"checksum"`
	Signature    *signature  `xml:"signature,omitempty"`
	XSignature   *signature  `xml:"x-signature,omitempty"`
	Files        []*entry    `xml:"file"`
}

type signature struct {
	Style   string  `xml:"style,attr"`
	Offset  int64   `xml:"offset"`
	Size    int64   `xml:"size"`
	KeyInfo keyInfo `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo"`
}

type keyInfo struct {
	Certs []string `xml:"X509Data>X509Certificate"`
}

type tocChecksum struct {
	Style  string `xml:"style,attr"`
	Offset int64  `xml:"offset"`
	Size   int64  `xml:"size"`
}

type entry struct {
	ID    int      `xml:"id,attr"`
	Data  *data    `xml:"data,omitempty"`
	Name  string   `xml:"name"`
	Type  string   `xml:"type"`
	Mode  string   `xml:"mode"`
	UID   int      `xml:"uid"`
	User  string   `xml:"user"`
	GID   int      `xml:"gid"`
	Group string   `xml:"group"`
	MTime string   `xml:"mtime"`
	Files []*entry `xml:"file"`
}

// setOwner makes the entry root:wheel with mode perm.
func (e *entry) setOwner(perm fs.FileMode, stamp string) {
	e.Mode = fmt.Sprintf("%04o", uint32(perm))
	e.User, e.Group = "root", "wheel"
	e.MTime = stamp
}

type data struct {
	Length    int64         `xml:"length"`
	Offset    int64         `xml:"offset"`
	Size      int64         `xml:"size"`
	Encoding  encodingStyle `xml:"encoding"`
	Archived  hash          `xml:"archived-checksum"`
	Extracted hash          `xml:"extracted-checksum"`
}

type encodingStyle struct {
	Style string `xml:"style,attr"`
}

type hash struct {
	Style string `xml:"style,attr"`
	Value string `xml:",chardata"`
}
