package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// A compact JWS is three base64url parts; Tessera writes it itself rather
// than through go-jose because, with ES256 and EdDSA, go-jose's generic
// path (header maps marshalled per call, a JSONWebSignature value, a second
// serialization) costs a tenth of the signature on every token. The header
// of a (key, typ) pair never changes, so it is encoded once. Verification
// stays with go-jose.

// jwsHeader returns the base64url protected header for alg, kid and typ
// (omitted when empty), members in a fixed order.
func jwsHeader(alg, kid, typ string) (string, error) {
	h := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{alg, kid, typ}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("token: encode JWS header: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// compactJWS returns header.payload.signature, with header already
// base64url-encoded and payload the raw claims JSON.
func compactJWS(key crypto.Signer, alg, header string, payload []byte) (string, error) {
	plen := base64.RawURLEncoding.EncodedLen(len(payload))
	// The signature's encoded length is at most that of an RSA-4096 one.
	buf := make([]byte, 0, len(header)+1+plen+1+base64.RawURLEncoding.EncodedLen(512))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, payload)
	sig, err := signJWS(key, alg, buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, sig)
	return string(buf), nil
}

// signJWS returns the JWS signature (RFC 7518 §3) of the signing input.
func signJWS(key crypto.Signer, alg string, input []byte) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != RS256 {
			break
		}
		d := sha256.Sum256(input)
		return rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
	case *ecdsa.PrivateKey:
		if alg != ES256 || k.Curve.Params().BitSize != 256 {
			break
		}
		d := sha256.Sum256(input)
		der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			return nil, err
		}
		return ecdsaRaw(der, 32)
	case ed25519.PrivateKey:
		if alg != EdDSA {
			break
		}
		return ed25519.Sign(k, input), nil
	}
	return nil, fmt.Errorf("token: %T cannot sign %s", key, alg)
}

// ecdsaRaw turns an ASN.1 ECDSA signature into JWS's fixed-width R || S.
func ecdsaRaw(der []byte, size int) ([]byte, error) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, fmt.Errorf("token: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	if !putFixed(out[:size], r) || !putFixed(out[size:], s) {
		return nil, fmt.Errorf("token: ECDSA signature component too long")
	}
	return out, nil
}

// putFixed writes the big-endian integer v right-aligned into dst.
func putFixed(dst, v []byte) bool {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > len(dst) {
		return false
	}
	copy(dst[len(dst)-len(v):], v)
	return true
}
