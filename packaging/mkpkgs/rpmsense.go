package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The scriptlet contexts of a Requires (rpm's RPMSENSE_SCRIPT_*): what
// Requires(pre), Requires(post), Requires(preun) and Requires(postun) write.
// rpm then installs the dependency before running that scriptlet, and
// keeps it until the scriptlet has run on erase.
const (
	sensePre    = 1 << 9
	sensePost   = 1 << 10
	sensePreun  = 1 << 11
	sensePostun = 1 << 12
)

// scriptletRequires are the rpm's scriptlet dependencies, which nfpm
// v2.45.2 cannot write (its relations carry version comparisons only):
// each name is a plain Requires in nfpm.yaml's rpm overrides, and
// setScriptletSenses adds these contexts to it. systemd-sysusers in %pre;
// systemctl and systemd-tmpfiles in %post, %preun and %postun (Fedora's
// %{?systemd_requires}); useradd and groupadd in %pre where
// systemd-sysusers is missing.
var scriptletRequires = map[string]uint32{
	"systemd":      sensePre | sensePost | sensePreun | sensePostun,
	"shadow-utils": sensePre,
}

// rpm header tags and types used here.
const (
	tagRequireFlags = 1048
	tagRequireName  = 1049
	sigSHA1         = 269
	sigSHA256       = 273
	sigMD5          = 1004
	typeInt32       = 4
	typeStringArray = 8
)

// signatureTags are the signatures over the header (DSA, RSA) or header
// and payload (PGP, GPG): a changed header would void them.
var signatureTags = map[uint32]string{267: "DSA", 268: "RSA", 1002: "PGP", 1005: "GPG"}

// rpmHeader is one header structure of an rpm file: its place in the file
// and its index entries.
type rpmHeader struct {
	start, end int // the header's bytes, magic included
	store      int // where its data store begins
	entries    []rpmEntry
}

type rpmEntry struct{ tag, typ, offset, count uint32 }

func parseHeader(b []byte, at int) (rpmHeader, error) {
	if len(b) < at+16 || !bytes.Equal(b[at:at+4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return rpmHeader{}, fmt.Errorf("no rpm header at byte %d", at)
	}
	n := int(binary.BigEndian.Uint32(b[at+8:]))
	size := int(binary.BigEndian.Uint32(b[at+12:]))
	h := rpmHeader{start: at, store: at + 16 + 16*n}
	h.end = h.store + size
	if n > 1<<16 || h.end > len(b) {
		return rpmHeader{}, fmt.Errorf("rpm header at byte %d runs past the file", at)
	}
	for i := 0; i < n; i++ {
		e := b[at+16+16*i:]
		h.entries = append(h.entries, rpmEntry{binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])})
	}
	return h, nil
}

func (h rpmHeader) find(tag uint32) (rpmEntry, bool) {
	for _, e := range h.entries {
		if e.tag == tag {
			return e, true
		}
	}
	return rpmEntry{}, false
}

// setScriptletSenses adds scriptlet contexts to the named Requires of the
// rpm at path, and recomputes the digests of the signature header that
// cover the main header. The header keeps its size: only flag bits change.
// A signed package is refused, since its signature would no longer match;
// signing comes after this.
func setScriptletSenses(path string, senses map[string]uint32) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const lead = 96
	sig, err := parseHeader(b, lead)
	if err != nil {
		return fmt.Errorf("%s: signature header: %w", path, err)
	}
	for _, e := range sig.entries {
		if name, ok := signatureTags[e.tag]; ok {
			return fmt.Errorf("%s carries a %s signature already: scriptlet dependencies must be set before signing", path, name)
		}
	}
	hdr, err := parseHeader(b, sig.end+(8-(sig.end-lead)%8)%8)
	if err != nil {
		return fmt.Errorf("%s: main header: %w", path, err)
	}
	names, ok1 := hdr.find(tagRequireName)
	flags, ok2 := hdr.find(tagRequireFlags)
	if !ok1 || !ok2 || names.typ != typeStringArray || flags.typ != typeInt32 || names.count != flags.count {
		return fmt.Errorf("%s: no Requires to mark", path)
	}
	list := strings.SplitN(string(b[hdr.store+int(names.offset):hdr.end]), "\x00", int(names.count)+1)
	if len(list) <= int(names.count) {
		return fmt.Errorf("%s: Requires names run past the header", path)
	}
	done := map[string]bool{}
	for i, name := range list[:names.count] {
		add, ok := senses[name]
		if !ok {
			continue
		}
		at := hdr.store + int(flags.offset) + 4*i
		if at+4 > hdr.end {
			return fmt.Errorf("%s: Requires flags run past the header", path)
		}
		binary.BigEndian.PutUint32(b[at:], binary.BigEndian.Uint32(b[at:])|add)
		done[name] = true
	}
	for name := range senses {
		if !done[name] {
			return fmt.Errorf("%s does not require %s: add it to the rpm's depends in nfpm.yaml", path, name)
		}
	}

	header := b[hdr.start:hdr.end]
	for _, e := range sig.entries {
		at := sig.store + int(e.offset)
		var sum []byte
		switch e.tag {
		case sigSHA1:
			s := sha1.Sum(header)
			sum = []byte(hex.EncodeToString(s[:]))
		case sigSHA256:
			s := sha256.Sum256(header)
			sum = []byte(hex.EncodeToString(s[:]))
		case sigMD5:
			s := md5.Sum(b[hdr.start:])
			sum = s[:]
		default:
			continue
		}
		if at+len(sum) > sig.end {
			return errors.New(path + ": a digest runs past the signature header")
		}
		copy(b[at:], sum)
	}
	return os.WriteFile(path, b, 0o644)
}
