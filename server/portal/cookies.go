package portal

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
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeyPurpose names the key, derived from the server's master key
// (token.MasterKey.Derive), that seals the portal's cookies. Every instance
// on one store shares the master key, so each opens what another sealed;
// the name is part of the cookie format: changing it signs every portal
// user out.
const KeyPurpose = "portal-cookie-encryption"

// The two kinds of sealed cookie. Each has its own subkey and its own
// additional data, so one kind never opens as the other.
const (
	purposeSession = "session"
	purposePending = "pending-sign-in"
)

// cookieAADLabel versions the additional data: a later format does not
// open today's cookies by accident, nor the reverse.
const cookieAADLabel = "tessera portal cookie v1"

// errBadCookie is a cookie that does not open: altered, truncated, of
// another tenant or kind, or sealed under another master key.
var errBadCookie = errors.New("portal: cookie does not open")

// sealer encrypts the state the portal keeps in the browser instead of in
// one process's memory, so that any instance behind the load balancer,
// or this one after a restart, can read it.
//
// XChaCha20-Poly1305 rather than AES-GCM, as token.StateSealer explains:
// the portal seals once per sign-in for the master key's whole life, and
// 192-bit random nonces stay safe at any such count where GCM's 96-bit
// ones would not.
type sealer struct {
	aead map[string]cipher.AEAD // by purpose; filled in newSealer, read-only after
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("portal: the cookie key is %d bytes, want 32 (derive it from the master key for %q)", len(key), KeyPurpose)
	}
	s := &sealer{aead: map[string]cipher.AEAD{}}
	for _, purpose := range []string{purposeSession, purposePending} {
		sub, err := hkdf.Key(sha256.New, key, nil, "tessera portal "+purpose, chacha20poly1305.KeySize)
		if err != nil {
			return nil, fmt.Errorf("portal: derive the %s key: %w", purpose, err)
		}
		aead, err := chacha20poly1305.NewX(sub)
		clear(sub)
		if err != nil {
			return nil, fmt.Errorf("portal: %s cipher: %w", purpose, err)
		}
		s.aead[purpose] = aead
	}
	return s, nil
}

// cookieAAD binds a sealed value to its kind and its tenant. Length
// prefixes keep the encoding unambiguous.
func cookieAAD(purpose, tenantID string) []byte {
	b := make([]byte, 0, len(cookieAADLabel)+8+len(purpose)+len(tenantID))
	b = append(b, cookieAADLabel...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(purpose)))
	b = append(b, purpose...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(tenantID)))
	b = append(b, tenantID...)
	return b
}

// seal returns v as JSON, encrypted for purpose and tenant, base64url:
// a cookie value.
func (s *sealer) seal(purpose, tenantID string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("portal: encode %s cookie: %w", purpose, err)
	}
	aead := s.aead[purpose]
	ns := aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+aead.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails since Go 1.24
	out = aead.Seal(out, out[:ns], plain, cookieAAD(purpose, tenantID))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open decrypts what seal returned for the same purpose and tenant into v.
func (s *sealer) open(purpose, tenantID, value string, v any) error {
	aead := s.aead[purpose]
	// A cookie can be no longer than a browser stores (4 KB); refusing
	// longer ones before decoding bounds the work a forged one costs.
	if len(value) > maxCookieLen {
		return errBadCookie
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	ns := aead.NonceSize()
	if err != nil || len(raw) < ns+aead.Overhead() {
		return errBadCookie
	}
	plain, err := aead.Open(nil, raw[:ns], raw[ns:], cookieAAD(purpose, tenantID))
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		// Authentic but unreadable: only a change of format does that.
		return fmt.Errorf("portal: decode %s cookie: %w", purpose, err)
	}
	return nil
}

// maxCookieLen is the most a browser keeps of one cookie.
const maxCookieLen = 4096

// sealedSession is a signed-in portal user, as the session cookie carries
// it. The tenant is in the additional data, not here.
type sealedSession struct {
	// AccessToken is the admin API token the portal got for the user. It
	// reaches the browser only sealed: the browser holds it but cannot
	// read or use it.
	AccessToken string `json:"at"`
	// SessionID is the SSO session the token was issued in (its "sid"):
	// sign-out ends it, which ends this portal session on every instance.
	SessionID string `json:"sid"`
	CSRF      string `json:"csrf"`
	Expires   int64  `json:"exp"` // Unix seconds
}

// sealedPending is a sign-in sent to the authorize endpoint, awaiting its
// code, as the pending sign-in cookie carries it.
type sealedPending struct {
	State    string `json:"st"`
	Verifier string `json:"cv"`
	Nonce    string `json:"n"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"exp"` // Unix seconds
}

// tokenSessionID reads the "sid" claim of a JWT the provider has just
// issued in process. The signature is not checked: the token never left
// this process, and every request checks it in full (authorize).
func tokenSessionID(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		SessionID string `json:"sid"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.SessionID
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }
