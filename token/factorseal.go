package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// factorSealPurpose names the derived key that encrypts second-factor
// secrets at rest; factorSealLabel versions their additional data.
const (
	factorSealPurpose = "factor-secret-encryption"
	factorSealLabel   = "tessera factor secret v1"
)

// FactorSealer encrypts the secrets of second factors (a TOTP key, which
// must be recovered to compute codes, so it cannot be hashed) for the
// store, as signing keys are sealed: AES-256-GCM under a key derived from
// the master key, the row's tenant and factor id bound as additional
// data, so a secret copied into another row does not open. A random
// 96-bit nonce is safe: one seal per enrolment.
type FactorSealer struct {
	aead cipher.AEAD
}

// NewFactorSealer derives the factor key from the master key.
func NewFactorSealer(mk MasterKey) *FactorSealer {
	key := mk.Derive(factorSealPurpose)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		// Only for a key that is not 16, 24 or 32 bytes; Derive's are 32.
		panic("token: factor cipher: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("token: factor cipher: " + err.Error())
	}
	return &FactorSealer{aead: aead}
}

func factorAAD(tenantID, factorID string) []byte {
	b := make([]byte, 0, len(factorSealLabel)+8+len(tenantID)+len(factorID))
	b = append(b, factorSealLabel...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(factorID)))
	b = append(b, factorID...)
	return b
}

// Seal returns nonce || AES-256-GCM(secret) for the factor's row.
func (s *FactorSealer) Seal(tenantID, factorID string, secret []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(secret)+s.aead.Overhead())
	_, _ = rand.Read(out)
	return s.aead.Seal(out, out[:ns], secret, factorAAD(tenantID, factorID))
}

// Open decrypts what Seal returned for the same row.
func (s *FactorSealer) Open(tenantID, factorID string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, errors.New("token: sealed factor secret too short")
	}
	pt, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], factorAAD(tenantID, factorID))
	if err != nil {
		return nil, fmt.Errorf("token: open secret of factor %s of tenant %s: %w", factorID, tenantID, err)
	}
	return pt, nil
}
