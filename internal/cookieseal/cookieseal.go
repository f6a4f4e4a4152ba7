// Package cookieseal encrypts the state a first-party page keeps in the
// browser instead of in one process's memory, so that any instance behind
// the load balancer, or this one after a restart, can read it: the
// portal's and the account page's sessions and pending sign-ins, each
// under its own labels.
//
// XChaCha20-Poly1305 rather than AES-GCM, as token.StateSealer explains:
// a page seals once per sign-in for the master key's whole life, and
// 192-bit random nonces stay safe at any such count where GCM's 96-bit
// ones would not.
package cookieseal

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrBadCookie is a cookie that does not open: altered, truncated, of
// another tenant or kind, or sealed under another key.
var ErrBadCookie = errors.New("cookieseal: cookie does not open")

// MaxLen is the most a browser keeps of one cookie; a longer value is
// refused before decoding, which bounds the work a forged one costs.
const MaxLen = 4096

// Labels name a cookie format: both are part of it, and changing either
// makes every cookie sealed before unreadable.
type Labels struct {
	// Key + " " + purpose is the HKDF info each kind's subkey is derived
	// with, so that two pages' cookies, or two kinds, never share a key.
	Key string
	// AAD versions the additional data: a later format does not open
	// today's cookies by accident, nor the reverse.
	AAD string
}

// Sealer seals values of a fixed set of kinds (purposes). Each kind has
// its own subkey and its own additional data, so one kind never opens as
// another.
type Sealer struct {
	label string                 // Labels.AAD
	aead  map[string]cipher.AEAD // by purpose; filled in New, read-only after
}

// New derives a subkey of key (32 bytes) for each purpose.
func New(key []byte, labels Labels, purposes ...string) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("cookieseal: the key is %d bytes, want 32", len(key))
	}
	s := &Sealer{label: labels.AAD, aead: map[string]cipher.AEAD{}}
	for _, purpose := range purposes {
		sub, err := hkdf.Key(sha256.New, key, nil, labels.Key+" "+purpose, chacha20poly1305.KeySize)
		if err != nil {
			return nil, fmt.Errorf("cookieseal: derive the %s key: %w", purpose, err)
		}
		aead, err := chacha20poly1305.NewX(sub)
		clear(sub)
		if err != nil {
			return nil, fmt.Errorf("cookieseal: %s cipher: %w", purpose, err)
		}
		s.aead[purpose] = aead
	}
	return s, nil
}

// aad binds a sealed value to the format, its kind and its tenant. Length
// prefixes keep the encoding unambiguous.
func (s *Sealer) aad(purpose, tenantID string) []byte {
	b := make([]byte, 0, len(s.label)+8+len(purpose)+len(tenantID))
	b = append(b, s.label...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(purpose)))
	b = append(b, purpose...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(tenantID)))
	b = append(b, tenantID...)
	return b
}

// Seal returns v as JSON, encrypted for purpose and tenant, base64url: a
// cookie value.
func (s *Sealer) Seal(purpose, tenantID string, v any) (string, error) {
	aead, ok := s.aead[purpose]
	if !ok {
		return "", fmt.Errorf("cookieseal: no key for %q", purpose)
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cookieseal: encode %s cookie: %w", purpose, err)
	}
	ns := aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+aead.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails since Go 1.24
	out = aead.Seal(out, out[:ns], plain, s.aad(purpose, tenantID))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal returned for the same purpose and tenant into v.
func (s *Sealer) Open(purpose, tenantID, value string, v any) error {
	aead, ok := s.aead[purpose]
	if !ok || len(value) > MaxLen {
		return ErrBadCookie
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	ns := aead.NonceSize()
	if err != nil || len(raw) < ns+aead.Overhead() {
		return ErrBadCookie
	}
	plain, err := aead.Open(nil, raw[:ns], raw[ns:], s.aad(purpose, tenantID))
	if err != nil {
		return ErrBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		// Authentic but unreadable: only a change of format does that.
		return fmt.Errorf("cookieseal: decode %s cookie: %w", purpose, err)
	}
	return nil
}
