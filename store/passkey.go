package store

import "time"

// Passkey is a WebAuthn credential a user registered: a key pair held by an
// authenticator (a security key, a phone, the platform's keychain) whose
// public half Tessera keeps to check the user's sign-in assertions.
type Passkey struct {
	TenantID string
	UserID   string
	// ID is the credential id, base64url without padding: unique in the
	// tenant, as the authenticator names the credential in an assertion.
	ID   string
	Name string // the user's name for it ("YubiKey", "Phone")
	// Credential is the verified credential record (public key, flags,
	// authenticator AAGUID and transports) as package passkey encodes it;
	// the store keeps it opaque.
	Credential []byte
	// SignCount is the authenticator's signature counter as of the last
	// use: an assertion whose counter does not move past it is a clone or
	// a replay. Authenticators that keep no counter always send 0.
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}
