package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// sealPurpose names the derived key that encrypts signing keys at rest.
const sealPurpose = "signing-key-encryption"

// sealAADLabel versions the additional data, so a future format cannot open
// today's ciphertexts by accident (nor the reverse).
const sealAADLabel = "tessera signing key v1"

// sealer encrypts private keys for storage. Built once per Keyring so the
// hot path does not redo HKDF and AES key expansion.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(mk MasterKey) (*sealer, error) {
	key := mk.Derive(sealPurpose)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("token: seal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: seal cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// sealAAD binds a ciphertext to its row. Length prefixes keep the encoding
// unambiguous whatever characters tenant ids and kids contain.
func sealAAD(tenantID, kid string) []byte {
	b := make([]byte, 0, len(sealAADLabel)+8+len(tenantID)+len(kid))
	b = append(b, sealAADLabel...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(kid)))
	b = append(b, kid...)
	return b
}

// seal returns nonce || AES-256-GCM(plaintext), with the tenant and kid as
// additional data so that a sealed key copied to another row does not open.
func (s *sealer) seal(tenantID, kid string, plaintext []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+s.aead.Overhead())
	// A random 96-bit nonce is safe here: a key is sealed once per
	// generated signing key, far below GCM's 2^32 random-nonce limit.
	_, _ = rand.Read(out)
	return s.aead.Seal(out, out[:ns], plaintext, sealAAD(tenantID, kid))
}

func (s *sealer) open(tenantID, kid string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, errors.New("token: sealed signing key too short")
	}
	pt, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], sealAAD(tenantID, kid))
	if err != nil {
		// Wrong master key, or a ciphertext that belongs to another row.
		return nil, fmt.Errorf("token: open signing key %s of tenant %s: %w", kid, tenantID, err)
	}
	return pt, nil
}
