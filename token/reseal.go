package token

import (
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/store"
)

// Resealer moves sealed signing keys from one master key to another, for
// a master-key rotation.
type Resealer struct {
	from, to *sealer
}

// NewResealer returns a Resealer opening with from and sealing with to.
func NewResealer(from, to MasterKey) *Resealer {
	f, err1 := newSealer(from)
	t, err2 := newSealer(to)
	if err := errors.Join(err1, err2); err != nil {
		// AES-256-GCM with a 32-byte key cannot fail to initialise.
		panic(err)
	}
	return &Resealer{from: f, to: t}
}

// Reseal returns k's private key sealed under the new master key. A key
// already sealed under it (a rotation run again after an interruption)
// is returned as it is; one neither key opens is an error.
func (r *Resealer) Reseal(k store.SigningKey) ([]byte, error) {
	der, err := r.from.open(k.TenantID, k.ID, k.PrivateKey)
	if err != nil {
		if _, errNew := r.to.open(k.TenantID, k.ID, k.PrivateKey); errNew == nil {
			return k.PrivateKey, nil
		}
		return nil, fmt.Errorf("token: reseal: %w", err)
	}
	defer clear(der)
	return r.to.seal(k.TenantID, k.ID, der), nil
}

// Opens reports whether mk opens k's private key.
func (mk MasterKey) Opens(k store.SigningKey) bool {
	s, err := newSealer(mk)
	if err != nil {
		return false
	}
	der, err := s.open(k.TenantID, k.ID, k.PrivateKey)
	clear(der)
	return err == nil
}
