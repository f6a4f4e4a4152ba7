package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

// Signing algorithms a tenant may use.
const (
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// rsaBits is the modulus size of generated RSA keys: the floor that every
// relying party accepts, and the cheapest to sign with.
const rsaBits = 2048

// GenerateSigningKey makes a new signing key for a tenant, its private half
// sealed under mk and bound to (tenantID, kid). alg is RS256, ES256 or EdDSA.
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

	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return store.SigningKey{}, fmt.Errorf("token: generate signing key: unsupported alg %q", alg)
	}
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

	s, err := newSealer(mk)
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

// algMatchesKey reports whether a key of this type can sign or verify alg.
func algMatchesKey(alg string, key any) bool {
	switch k := key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return alg == RS256
	case *ecdsa.PrivateKey:
		return alg == ES256 && k.Curve == elliptic.P256()
	case *ecdsa.PublicKey:
		return alg == ES256 && k.Curve == elliptic.P256()
	case ed25519.PrivateKey, ed25519.PublicKey:
		return alg == EdDSA
	}
	return false
}
