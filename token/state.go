package token

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"
)

// statePurpose names the derived key that seals state handed to browsers.
const statePurpose = "browser-state-encryption"

// ErrBadState is returned for sealed state that does not open: altered,
// truncated, sealed for another purpose, or under another master key.
var ErrBadState = errors.New("token: sealed state does not open")

// StateSealer encrypts state the server gives a browser to bring back (a
// pending sign-in request), so that the server keeps no row for it: an
// anonymous request costs nothing to store, however many arrive.
//
// XChaCha20-Poly1305, because its 192-bit random nonces stay safe for any
// number of messages under one key; AES-GCM's 96-bit ones would not, at one
// seal per authorization request over a master key's life.
type StateSealer struct {
	aead cipher.AEAD
}

// NewStateSealer derives the state key from the master key. Every instance
// sharing the master key opens what any of them sealed.
func NewStateSealer(mk MasterKey) *StateSealer {
	key := mk.Derive(statePurpose)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		// NewX fails only for a key that is not 32 bytes; Derive's are.
		panic("token: state cipher: " + err.Error())
	}
	return &StateSealer{aead: aead}
}

// Seal encrypts plaintext for one use, named by label (bound as additional
// data, so state sealed for one use does not open for another), and
// returns it base64url-encoded for a URL or form field.
func (s *StateSealer) Seal(label string, plaintext []byte) string {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(out[:ns])
	out = s.aead.Seal(out, out[:ns], plaintext, []byte(label))
	return base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts what Seal returned for the same label.
func (s *StateSealer) Open(label, sealed string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns+s.aead.Overhead() {
		return nil, ErrBadState
	}
	pt, err := s.aead.Open(nil, raw[:ns], raw[ns:], []byte(label))
	if err != nil {
		return nil, ErrBadState
	}
	return pt, nil
}
