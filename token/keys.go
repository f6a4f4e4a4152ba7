package token

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

// GenerateSigningKey makes a new signing key for a tenant, its private half
// sealed under mk and bound to (tenantID, kid). alg is one of SigningAlgs.
// The caller stores the result (AddSigningKey or RotateSigningKeys).
func GenerateSigningKey(tenantID, alg string, mk MasterKey, now time.Time, status store.KeyStatus) (store.SigningKey, error) {
	switch status {
	case store.KeyNext, store.KeyActive, store.KeyRetired:
	default:
		return store.SigningKey{}, fmt.Errorf("token: generate signing key: unknown status %q", status)
	}
	if tenantID == "" {
		return store.SigningKey{}, fmt.Errorf("token: generate signing key: empty tenant id")
	}

	a, ok := lookupSigningAlg(alg)
	if !ok {
		return store.SigningKey{}, fmt.Errorf("token: generate signing key: unsupported alg %q", alg)
	}
	priv, err := a.generate()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: generate %s key: %w", alg, err)
	}

	kid := newKeyID()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: encode %s key: %w", alg, err)
	}
	defer clear(der)

	jwk, err := jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: encode %s public key: %w", alg, err)
	}

	s, err := newKeySealer(mk)
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{
		TenantID:   tenantID,
		ID:         kid,
		Alg:        alg,
		Status:     status,
		PrivateKey: s.seal(tenantID, kid, der),
		PublicJWK:  jwk,
		CreatedAt:  now,
	}, nil
}

// newKeyID returns 128 random bits as 22 URL-safe characters: unguessable, so
// kids never collide across tenants or instances without coordination.
func newKeyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
