package token

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
)

// HalfHash computes an OpenID Connect at_hash or c_hash: the left half of the
// hash of value's ASCII octets, base64url without padding. The hash follows
// the signing algorithm: SHA-256 for *256, SHA-384 for *384, and SHA-512 for
// EdDSA (Ed25519 signs with SHA-512, as the OpenID errata settled).
func HalfHash(alg, value string) (string, error) {
	var h hash.Hash
	switch alg {
	case "RS256", "ES256", "PS256":
		h = sha256.New()
	case "RS384", "ES384", "PS384":
		h = sha512.New384()
	case "RS512", "ES512", "PS512", "EdDSA":
		h = sha512.New()
	default:
		return "", fmt.Errorf("token: half hash: unsupported alg %q", alg)
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}
