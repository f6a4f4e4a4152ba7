package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// NewOpaque returns a fresh opaque secret (refresh token, authorization code,
// device code, client secret): 256 random bits, 43 base64url characters.
func NewOpaque() string {
	var b [32]byte
	// crypto/rand.Read never fails since Go 1.24.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash is how an opaque secret is stored and looked up. Plain SHA-256 is
// enough: the input has 256 bits of entropy, so there is nothing for a slow
// hash to protect, and it keeps the token endpoint cheap.
func Hash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// Equal compares two hashes in constant time, so that the time taken does not
// tell an attacker how many leading bytes of a guess were right.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// successorPurpose names the derived key for refresh token successors.
const successorPurpose = "refresh-successor"

// Successors derives refresh token successors. The HMAC key is derived once,
// since derivation sits on the token endpoint's hot path. Safe for concurrent
// use.
type Successors struct {
	key []byte
}

// NewSuccessors derives the successor key from mk.
func NewSuccessors(mk MasterKey) *Successors {
	return &Successors{key: mk.Derive(successorPurpose)}
}

// Derive returns the secret of the refresh token that replaces parent:
// base64url(HMAC-SHA256(key, parent)), the same shape as NewOpaque.
//
// It is deterministic on purpose. When a client's refresh response is lost
// and it retries with the same parent inside the grace window, the server
// must return the SAME successor it already stored, or the client would hold
// a token the server never issued and the family would be lost. Recomputing
// the secret from the parent achieves that while the store keeps only hashes:
// no successor secret is ever written anywhere. Without the master key the
// successor stays unpredictable, even to someone holding the parent.
func (s *Successors) Derive(parent string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(parent))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// DeriveSuccessor is Successors.Derive for one-off use; it derives the HMAC
// key on every call, so hot paths should keep a Successors instead.
func DeriveSuccessor(mk MasterKey, parent string) string {
	return NewSuccessors(mk).Derive(parent)
}
