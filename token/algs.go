package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"

	"github.com/go-jose/go-jose/v4"
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

// signingAlg is one algorithm tenants may sign with: how its keys are made
// and which keys fit it. It is the one list that key generation, token
// verification and the admin's validation of a tenant's algorithm read, so
// adding an algorithm cannot leave one of them refusing it.
type signingAlg struct {
	name     string
	generate func() (crypto.Signer, error)
	fits     func(key any) bool
}

// signingAlgs returns the list, by value: callers cannot change it for
// each other.
func signingAlgs() [3]signingAlg {
	return [...]signingAlg{
		{RS256, func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, rsaBits) }, func(key any) bool {
			switch key.(type) {
			case *rsa.PrivateKey, *rsa.PublicKey:
				return true
			}
			return false
		}},
		{ES256, func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }, func(key any) bool {
			switch k := key.(type) {
			case *ecdsa.PrivateKey:
				return k.Curve == elliptic.P256()
			case *ecdsa.PublicKey:
				return k.Curve == elliptic.P256()
			}
			return false
		}},
		{EdDSA, func() (crypto.Signer, error) {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			return priv, err
		}, func(key any) bool {
			switch key.(type) {
			case ed25519.PrivateKey, ed25519.PublicKey:
				return true
			}
			return false
		}},
	}
}

func lookupSigningAlg(name string) (signingAlg, bool) {
	for _, a := range signingAlgs() {
		if a.name == name {
			return a, true
		}
	}
	return signingAlg{}, false
}

// SigningAlgs lists the algorithms a tenant may sign with, the default
// (RS256, which every relying party accepts) first.
func SigningAlgs() []string {
	all := signingAlgs()
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.name
	}
	return names
}

// IsSigningAlg reports whether a tenant may sign with alg.
func IsSigningAlg(alg string) bool {
	_, ok := lookupSigningAlg(alg)
	return ok
}

// SigningAlgChoices names the algorithms for people: "RS256, ES256 or
// EdDSA", for messages and help texts.
func SigningAlgChoices() string {
	names := SigningAlgs()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// joseSigningAlgs is the list as go-jose names it, for parsing tokens: a
// token signed otherwise ("none", HMAC) is refused before any key is read.
func joseSigningAlgs() []jose.SignatureAlgorithm {
	all := signingAlgs()
	out := make([]jose.SignatureAlgorithm, len(all))
	for i, a := range all {
		out[i] = jose.SignatureAlgorithm(a.name)
	}
	return out
}

// algMatchesKey reports whether a key of this type can sign or verify alg.
func algMatchesKey(alg string, key any) bool {
	a, ok := lookupSigningAlg(alg)
	return ok && a.fits(key)
}
