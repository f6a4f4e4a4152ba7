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
	// fromFactor and toFactor are the same move for second factors'
	// secrets (TOTP keys), sealed under their own derived key.
	fromFactor, toFactor *FactorSealer
}

// NewResealer returns a Resealer opening with from and sealing with to.
func NewResealer(from, to MasterKey) *Resealer {
	f, err1 := newKeySealer(from)
	t, err2 := newKeySealer(to)
	if err := errors.Join(err1, err2); err != nil {
		// AES-256-GCM with a 32-byte key cannot fail to initialise.
		panic(err)
	}
	return &Resealer{from: f, to: t, fromFactor: NewFactorSealer(from), toFactor: NewFactorSealer(to)}
}

// ResealFactor returns f's secret sealed under the new master key, as
// Reseal does for signing keys: a secret already under it is returned as
// it is, one neither key opens is an error.
func (r *Resealer) ResealFactor(f store.Factor) ([]byte, error) {
	secret, err := r.fromFactor.Open(f.TenantID, f.ID, f.Secret)
	if err != nil {
		if _, errNew := r.toFactor.Open(f.TenantID, f.ID, f.Secret); errNew == nil {
			return f.Secret, nil
		}
		return nil, fmt.Errorf("token: reseal: %w", err)
	}
	defer clear(secret)
	return r.toFactor.Seal(f.TenantID, f.ID, secret), nil
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
	s, err := newKeySealer(mk)
	if err != nil {
		return false
	}
	der, err := s.open(k.TenantID, k.ID, k.PrivateKey)
	clear(der)
	return err == nil
}
