package token

import (
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/store"
)

// Resealer moves sealed signing keys, and second factors' secrets (TOTP
// keys), from one master key to another, for a master-key rotation.
type Resealer struct {
	keys, factors resealing
}

// resealing is one kind of secret's pair of sealers: signing keys and
// factor secrets move by the same steps, each under its own derived keys.
type resealing struct{ from, to *sealer }

// NewResealer returns a Resealer opening with from and sealing with to.
func NewResealer(from, to MasterKey) *Resealer {
	kf, err1 := newKeySealer(from)
	kt, err2 := newKeySealer(to)
	ff, err3 := newFactorSealer(from)
	ft, err4 := newFactorSealer(to)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		// AES-256-GCM with a 32-byte key cannot fail to initialise.
		panic(err)
	}
	return &Resealer{keys: resealing{kf, kt}, factors: resealing{ff, ft}}
}

// ResealFactor returns f's secret sealed under the new master key, as
// Reseal does for signing keys: a secret already under it is returned as
// it is, one neither key opens is an error.
func (r *Resealer) ResealFactor(f store.Factor) ([]byte, error) {
	return r.factors.reseal(f.TenantID, f.ID, f.Secret)
}

// Reseal returns k's private key sealed under the new master key. A key
// already sealed under it (a rotation run again after an interruption)
// is returned as it is; one neither key opens is an error.
func (r *Resealer) Reseal(k store.SigningKey) ([]byte, error) {
	return r.keys.reseal(k.TenantID, k.ID, k.PrivateKey)
}

func (m resealing) reseal(tenantID, id string, sealed []byte) ([]byte, error) {
	plain, err := m.from.open(tenantID, id, sealed)
	if err != nil {
		if _, errNew := m.to.open(tenantID, id, sealed); errNew == nil {
			return sealed, nil
		}
		return nil, fmt.Errorf("token: reseal: %w", err)
	}
	defer clear(plain)
	return m.to.seal(tenantID, id, plain), nil
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
