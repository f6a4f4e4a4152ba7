// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options package passkey hands a browser the way a security
// key behind navigator.credentials would (ES256, attestation "none"), so
// the relying party's checks run on real signatures without a browser,
// and a test can forge what a browser never would: another relying party,
// a replayed answer, another user's credential.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds credentials like a security key.
type Authenticator struct {
	// Origin is the page the browser reports in clientDataJSON; RPID, when
	// set, overrides the relying party id the options ask for (a phishing
	// site's authenticator would sign for its own).
	Origin string
	RPID   string
	// Verified sets the user-verified flag; BackupEligible marks the
	// credentials syncable.
	Verified       bool
	BackupEligible bool
	// FrozenCounter makes the authenticator send its counter without
	// moving it, as a clone would.
	FrozenCounter bool

	creds []*Credential
}

// Credential is one key pair the authenticator made.
type Credential struct {
	ID         []byte
	UserHandle []byte
	RPID       string
	Counter    uint32
	key        *ecdsa.PrivateKey
}

// Credentials returns what the authenticator holds.
func (a *Authenticator) Credentials() []*Credential { return a.creds }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (a *Authenticator) flags(attested bool) byte {
	f := byte(protocol.FlagUserPresent)
	if a.Verified {
		f |= byte(protocol.FlagUserVerified)
	}
	if a.BackupEligible {
		f |= byte(protocol.FlagBackupEligible)
	}
	if attested {
		f |= byte(protocol.FlagAttestedCredentialData)
	}
	return f
}

func clientData(kind, challenge, origin string) []byte {
	raw, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return raw
}

// Create answers registration options (navigator.credentials.create).
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o protocol.PublicKeyCredentialCreationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("creation options: %w", err)
	}
	rpID := o.RelyingParty.ID
	if a.RPID != "" {
		rpID = a.RPID
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	userID, _ := o.User.ID.(protocol.URLEncodedBase64)
	if userID == nil {
		if s, ok := o.User.ID.(string); ok {
			userID, _ = base64.RawURLEncoding.DecodeString(s)
		}
	}
	c := &Credential{ID: id, UserHandle: userID, RPID: rpID, key: key}
	pub, _ := key.PublicKey.Bytes() // 0x04 || X || Y
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		return nil, err
	}
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append(rpHash[:], a.flags(true))
	auth = binary.BigEndian.AppendUint32(auth, c.Counter)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return json.Marshal(map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64(clientData("webauthn.create", b64(o.Challenge), a.Origin)),
			"attestationObject": b64(att),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Get answers sign-in options (navigator.credentials.get) with c, or with
// the first credential the options allow when c is nil.
func (a *Authenticator) Get(options []byte, c *Credential) ([]byte, error) {
	var o protocol.PublicKeyCredentialRequestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	if c == nil {
		for _, have := range a.creds {
			for _, allowed := range o.AllowedCredentials {
				if string(allowed.CredentialID) == string(have.ID) {
					c = have
				}
			}
		}
		if c == nil && len(o.AllowedCredentials) == 0 && len(a.creds) > 0 {
			c = a.creds[0]
		}
		if c == nil {
			return nil, fmt.Errorf("no credential for these options")
		}
	}
	rpID := c.RPID
	if a.RPID != "" {
		rpID = a.RPID
	}
	if !a.FrozenCounter {
		c.Counter++
	}
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append(rpHash[:], a.flags(false))
	auth = binary.BigEndian.AppendUint32(auth, c.Counter)
	cd := clientData("webauthn.get", b64(o.Challenge), a.Origin)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64(c.ID), "rawId": b64(c.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64(cd),
			"authenticatorData": b64(auth),
			"signature":         b64(sig),
			"userHandle":        b64(c.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}
