package main

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// throwawayKey is what the errors about the key tell a developer to do.
const throwawayKey = `For a local test, make a throwaway key (never publish a repository signed with it):
  export GNUPGHOME=$(mktemp -d)
  gpg --batch --passphrase '' --quick-gen-key 'TeleClaude test <test@example.invalid>' rsa3072 sign 1y
  gpg --armor --export-secret-keys >/tmp/teleclaude-test.key
  make repo TELECLAUDE_SIGNING_KEY=/tmp/teleclaude-test.key`

// signer is the release key, checked and unlocked, with the one time that
// every signature of a build carries.
type signer struct {
	entity *openpgp.Entity
	key    openpgp.Key // the (sub)key that signs
	// at is the signatures' creation time: the commit's time, or the signing
	// key's creation if that is later (no verifier accepts a signature
	// older than its key). One time for the whole build makes the
	// signatures of RSA and EdDSA keys, which are deterministic,
	// byte-identical from one build of a commit to the next.
	at time.Time
}

// loadSigner reads the armored secret key at path, unlocks it with
// passphrase and checks that it can sign at the build's time and now.
func loadSigner(path, passphrase string, epoch time.Time, now time.Time) (*signer, error) {
	if path == "" {
		return nil, errors.New("TELECLAUDE_SIGNING_KEY is not set: it names the file with the armored OpenPGP secret key that signs the repository and the .rpm packages (its passphrase, if any, in TELECLAUDE_SIGNING_PASSPHRASE).\n" + throwawayKey)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("TELECLAUDE_SIGNING_KEY: %w", err)
	}
	defer f.Close()
	list, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		return nil, fmt.Errorf("TELECLAUDE_SIGNING_KEY=%s is not an armored OpenPGP key (gpg --armor --export-secret-keys KEYID writes one): %v", path, err)
	}
	var secret []*openpgp.Entity
	for _, e := range list {
		if e.PrivateKey != nil {
			secret = append(secret, e)
		}
	}
	switch {
	case len(secret) == 0:
		return nil, fmt.Errorf("TELECLAUDE_SIGNING_KEY=%s holds only a public key; export the secret one (gpg --armor --export-secret-keys KEYID)", path)
	case len(secret) > 1:
		return nil, fmt.Errorf("TELECLAUDE_SIGNING_KEY=%s holds %d secret keys; export only the release key (gpg --armor --export-secret-keys KEYID)", path, len(secret))
	}
	e := secret[0]
	fp := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)

	if locked(e) {
		if passphrase == "" {
			return nil, fmt.Errorf("the signing key %s is protected by a passphrase: set TELECLAUDE_SIGNING_PASSPHRASE", fp)
		}
		if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			return nil, fmt.Errorf("the signing key %s: wrong passphrase in TELECLAUDE_SIGNING_PASSPHRASE (%v)", fp, err)
		}
	}

	if e.Revoked(now) {
		return nil, fmt.Errorf("the signing key %s is revoked: users' package managers would refuse what it signs; sign with the current release key (docs/PACKAGING.md, \"Rotating the key\")", fp)
	}
	self, _ := e.PrimarySelfSignature()
	if self == nil {
		return nil, fmt.Errorf("the signing key %s has no valid self-signature", fp)
	}
	if e.PrimaryKey.KeyExpired(self, now) || self.SigExpired(now) {
		return nil, fmt.Errorf("the signing key %s expired on %s: extend it (gpg --quick-set-expire %s 2y) and publish the public key again, or rotate it (docs/PACKAGING.md)", fp, expiry(e.PrimaryKey.CreationTime, self.KeyLifetimeSecs), fp)
	}
	k, ok := e.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("the key %s has no usable signing key: neither it nor a subkey may sign (or each one that may is expired or revoked); add one (gpg --quick-add-key %s rsa3072 sign 2y)", fp, fp)
	}
	if k.PrivateKey == nil || k.PrivateKey.Dummy() {
		return nil, fmt.Errorf("the signing subkey %X of %s has no secret part in TELECLAUDE_SIGNING_KEY (a stub, as on a smartcard)", k.PublicKey.Fingerprint, fp)
	}
	at := epoch
	if k.PublicKey.CreationTime.After(at) {
		at = k.PublicKey.CreationTime
	}
	if at.After(now) {
		return nil, fmt.Errorf("the signing key %s was created in the future (%s): check the clock", fp, k.PublicKey.CreationTime.UTC().Format(time.RFC3339))
	}
	if k2, ok := e.SigningKey(at); !ok || k2.PublicKey.KeyId != k.PublicKey.KeyId {
		return nil, fmt.Errorf("the signing key %s cannot sign at the commit's time %s", fp, at.UTC().Format(time.RFC3339))
	}
	return &signer{entity: e, key: k, at: at.UTC()}, nil
}

func locked(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

func expiry(created time.Time, lifetime *uint32) string {
	if lifetime == nil {
		return "(no date)"
	}
	return created.Add(time.Duration(*lifetime) * time.Second).UTC().Format(time.RFC3339)
}

func (s *signer) config() *packet.Config {
	// go-crypto salts v4 signatures with a random notation unless told
	// not to; the salt hardens EdDSA against fault attacks on the signing
	// machine, and would make every build's signatures differ. gpg, which
	// signs the .rpm, does not salt v4 signatures either.
	deterministic := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA256,
		SigningKeyId:                          s.key.PublicKey.KeyId,
		Time:                                  func() time.Time { return s.at },
		NonDeterministicSignaturesViaNotation: &deterministic,
	}
}

// fingerprint is the primary key's, as users compare it.
func (s *signer) fingerprint() string { return fmt.Sprintf("%X", s.entity.PrimaryKey.Fingerprint) }

// detach writes an armored detached signature of data (Release.gpg,
// repomd.xml.asc, SHA256SUMS.asc).
func (s *signer) detach(data []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, s.entity, bytes.NewReader(data), s.config()); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// clearsign writes data with an inline signature (InRelease).
func (s *signer) clearsign(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := clearsign.Encode(&b, s.key.PrivateKey, s.config())
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return withChecksum(b.Bytes())
}

// withChecksum re-armors the signature block of a clearsigned text with
// the armor checksum line, which go-crypto's clearsign leaves out (RFC 9580
// allows that) and gpgv 2.2, which apt runs on Debian 12 and Ubuntu 22.04,
// stumbles over ("invalid radix64 character 2D skipped", exit 2). The
// signed text is left as go-crypto wrote it.
func withChecksum(signed []byte) ([]byte, error) {
	const begin = "\n-----BEGIN PGP SIGNATURE-----"
	i := bytes.Index(signed, []byte(begin))
	if i < 0 {
		return nil, errors.New("clearsign wrote no signature block")
	}
	blk, err := armor.Decode(bytes.NewReader(signed[i+1:]))
	if err != nil {
		return nil, err
	}
	sig, err := io.ReadAll(blk.Body)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(signed[:i+1])
	w, err := armor.EncodeWithChecksumOption(&b, "PGP SIGNATURE", nil, true)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(sig); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// publicKeys returns the public key, binary (for apt's Signed-By) and
// armored (for rpm --import and dnf's gpgkey=).
func (s *signer) publicKeys() (binary, armored []byte, err error) {
	var bin bytes.Buffer
	if err := s.entity.Serialize(&bin); err != nil {
		return nil, nil, err
	}
	var arm bytes.Buffer
	w, err := armor.Encode(&arm, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, nil, err
	}
	if _, err := io.Copy(w, bytes.NewReader(bin.Bytes())); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	arm.WriteByte('\n')
	return bin.Bytes(), arm.Bytes(), nil
}

// exportSecret writes the unlocked secret key for gpg, which rpmsign runs.
func (s *signer) exportSecret(w io.Writer) error {
	aw, err := armor.Encode(w, openpgp.PrivateKeyType, nil)
	if err != nil {
		return err
	}
	if err := s.entity.SerializePrivateWithoutSigning(aw, nil); err != nil {
		return err
	}
	return aw.Close()
}
