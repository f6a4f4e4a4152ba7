package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// sealPurpose names the derived key that encrypts signing keys at rest.
const sealPurpose = "signing-key-encryption"

// sealAADLabel versions the additional data, so a future format cannot open
// today's ciphertexts by accident (nor the reverse).
const sealAADLabel = "tessera signing key v1"

// sealKind is what sets one kind of stored secret apart from the others.
// purpose and label are part of the at-rest format: changing either makes
// every secret sealed under them unreadable.
type sealKind struct {
	purpose string // names the key derived from the master key
	label   string // heads the additional data
	// noun names the secret in errors; rowNoun names one row's secret,
	// ahead of its id.
	noun, rowNoun string
}

// sealer encrypts one kind of secret for storage. Built once per user (a
// Keyring, a Provider) so the hot path does not redo HKDF and AES key
// expansion.
type sealer struct {
	aead cipher.AEAD
	kind sealKind
}

func newKeySealer(mk MasterKey) (*sealer, error) {
	return newSealer(mk, sealKind{purpose: sealPurpose, label: sealAADLabel, noun: "signing key", rowNoun: "signing key"})
}

func newSealer(mk MasterKey, kind sealKind) (*sealer, error) {
	key := mk.Derive(kind.purpose)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("token: %s cipher: %w", kind.noun, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: %s cipher: %w", kind.noun, err)
	}
	return &sealer{aead: aead, kind: kind}, nil
}

// aad binds a ciphertext to its row. Length prefixes keep the encoding
// unambiguous whatever characters tenant ids and row ids contain.
func (s *sealer) aad(tenantID, id string) []byte {
	b := make([]byte, 0, len(s.kind.label)+8+len(tenantID)+len(id))
	b = append(b, s.kind.label...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(id)))
	b = append(b, id...)
	return b
}

// seal returns nonce || AES-256-GCM(plaintext), with the tenant and row id
// as additional data so that a secret copied to another row does not open.
func (s *sealer) seal(tenantID, id string, plaintext []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+s.aead.Overhead())
	// A random 96-bit nonce is safe here: a row is sealed once when it is
	// made and once per master-key rotation, far below GCM's 2^32
	// random-nonce limit.
	_, _ = rand.Read(out)
	return s.aead.Seal(out, out[:ns], plaintext, s.aad(tenantID, id))
}

func (s *sealer) open(tenantID, id string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, fmt.Errorf("token: sealed %s too short", s.kind.noun)
	}
	pt, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], s.aad(tenantID, id))
	if err != nil {
		// Wrong master key, or a ciphertext that belongs to another row.
		return nil, fmt.Errorf("token: open %s %s of tenant %s: %w", s.kind.rowNoun, id, tenantID, err)
	}
	return pt, nil
}
