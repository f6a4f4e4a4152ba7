// Package passkey is Tessera's WebAuthn relying party: it begins and
// checks the two ceremonies a passkey takes part in, registration (from the
// account page) and sign-in (a second factor after the password, or alone,
// passwordless), on top of github.com/go-webauthn/webauthn, which does the
// specification's verification steps.
//
// Like the sign-in interaction, a ceremony in progress is kept by the
// browser, not the server: its challenge is sealed into the page and comes
// back with the authenticator's answer, bound to the tenant and to the
// caller's context (the interaction or the account session), so a
// challenge from one sign-in does not open in another. What makes an
// assertion count once is the signature counter, moved by a
// compare-and-swap in the store, and the challenge, kept on the store's
// replay list once answered.
//
// The relying party id is the public host, shared by every tenant of the
// server (tenants are paths, and WebAuthn scopes credentials by host); a
// credential is looked up in the tenant whose page asks, so another
// tenant's passkey is simply unknown there.
package passkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// ceremonyLifetime bounds how long a begun ceremony may be finished: long
// enough to find a security key, short enough that a captured page is
// soon useless.
const ceremonyLifetime = 5 * time.Minute

// maxResponse bounds an authenticator's answer before it is parsed: real
// ones are a few kilobytes.
const maxResponse = 64 << 10

// ErrRefused is returned (wrapped, with the reason for the log) when an
// authenticator's answer is not accepted: malformed, for another
// challenge, origin or relying party, by an unknown or another user's
// credential, without the user verification asked for, or replayed.
var ErrRefused = errors.New("passkey: refused")

// Store is what the relying party reads and writes. Passkeys are second
// factors of kind store.FactorPasskey: the factor's id is FactorID of the
// credential id, its Data the credential record, its Counter the
// authenticator's signature counter.
type Store interface {
	GetFactor(ctx context.Context, tenantID, factorID string) (store.Factor, error)
	ListFactors(ctx context.Context, tenantID, userID string) ([]store.Factor, error)
	AdvanceFactorCounter(ctx context.Context, tenantID, factorID string, counter int64, now time.Time) error
	UseAssertionID(ctx context.Context, tenantID, clientID, jti string, expiresAt time.Time) error
}

// FactorID names a credential as a factor: the hash of its id, of a fixed
// length whatever the authenticator chose (credential ids run to 1,023
// bytes), base64url.
func FactorID(credentialID []byte) string {
	sum := sha256.Sum256(credentialID)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// usedChallenges is the replay list's client id under which answered
// sign-in challenges are kept until they expire: no app's client id, as
// apps' are UUIDs.
const usedChallenges = "urn:tessera:passkey-challenge"

// RelyingParty runs the ceremonies of every tenant.
type RelyingParty struct {
	store  Store
	sealer *token.StateSealer
	name   string
	now    func() time.Time
}

// New returns a relying party that shows itself to authenticators as name
// and seals ceremonies with sealer.
func New(s Store, sealer *token.StateSealer, name string, now func() time.Time) *RelyingParty {
	if now == nil {
		now = time.Now
	}
	return &RelyingParty{store: s, sealer: sealer, name: name, now: now}
}

// Ceremony says where a ceremony runs: the tenant, the origin of the page
// (https://host[:port], whose host is the relying party id), and Context,
// which the caller names (the sign-in interaction's id, the account
// session's), so a ceremony begun in one does not finish in another.
type Ceremony struct {
	TenantID string
	Origin   string
	Context  string
}

// User is the account a ceremony is for.
type User struct {
	ID       string // the user handle: the object id
	Username string
	Name     string
	// Factors are the user's factors; their passkeys among them count.
	Factors []store.Factor
}

// Challenge is a begun ceremony: Options go to the browser's
// navigator.credentials.create or .get (as the JSON form WebAuthn Level 3
// parses), State comes back with the authenticator's answer.
type Challenge struct {
	Options json.RawMessage
	State   string
}

// SignIn is an accepted passkey sign-in.
type SignIn struct {
	UserID   string
	FactorID string
	// Verified says the authenticator verified the user (a PIN or a
	// biometric), which makes the passkey two factors on its own.
	Verified bool
	// Synced says the credential may be copied to other devices (backup
	// eligible): a software-held key rather than one bound to hardware.
	Synced bool
}

// AMR is the sign-in's authentication methods (RFC 8176): the key's
// proof of possession, "hwk" or "swk", with "user" and "mfa" when the
// authenticator verified the user.
func (s SignIn) AMR() []string {
	key := "hwk"
	if s.Synced {
		key = "swk"
	}
	if s.Verified {
		return []string{key, "user", "mfa"}
	}
	return []string{key}
}

// webauthnUser adapts User to the library.
type webauthnUser struct {
	u     User
	creds []webauthn.Credential
}

func (w webauthnUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w webauthnUser) WebAuthnName() string                       { return w.u.Username }
func (w webauthnUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func newUser(u User) (webauthnUser, error) {
	w := webauthnUser{u: u}
	if w.u.Name == "" {
		w.u.Name = u.Username
	}
	for _, f := range u.Factors {
		if f.Kind != store.FactorPasskey {
			continue
		}
		c, err := decodeCredential(f)
		if err != nil {
			return w, err
		}
		w.creds = append(w.creds, c)
	}
	return w, nil
}

func decodeCredential(f store.Factor) (webauthn.Credential, error) {
	var c webauthn.Credential
	if err := json.Unmarshal(f.Data, &c); err != nil {
		return c, fmt.Errorf("decode passkey %s: %w", f.ID, err)
	}
	// The counter lives in its own column, moved by compare-and-swap.
	c.Authenticator.SignCount = uint32(f.Counter)
	return c, nil
}

// Count is how many passkeys are among fs.
func Count(fs []store.Factor) int {
	n := 0
	for _, f := range fs {
		if f.Kind == store.FactorPasskey {
			n++
		}
	}
	return n
}

// relyingParty configures the library for one origin.
func (rp *RelyingParty) relyingParty(origin string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Hostname() != "localhost") {
		return nil, fmt.Errorf("passkey: origin %q is not a secure origin", origin)
	}
	// Browsers scope passkeys to a domain name; an address cannot be a
	// relying party id.
	if net.ParseIP(u.Hostname()) != nil {
		return nil, fmt.Errorf("passkey: origin %q is an address, not a domain name", origin)
	}
	return webauthn.New(&webauthn.Config{
		RPID:                  u.Hostname(),
		RPDisplayName:         rp.name,
		RPOrigins:             []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		// The library's clock is not the relying party's: the expiry is
		// set and checked here (seal, open), on one clock.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyLifetime},
		},
	})
}

// sealedCeremony is what Challenge.State carries.
type sealedCeremony struct {
	Kind    string               `json:"k"` // "register" or "signin"
	UserID  string               `json:"u,omitempty"`
	Session webauthn.SessionData `json:"s"`
}

func sealLabel(c Ceremony, kind string) string {
	return "tessera passkey ceremony v1\x00" + kind + "\x00" + c.TenantID + "\x00" + c.Context
}

func (rp *RelyingParty) seal(c Ceremony, kind, userID string, options any, sd *webauthn.SessionData) (Challenge, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return Challenge{}, fmt.Errorf("encode passkey options: %w", err)
	}
	sd.Expires = rp.now().Add(ceremonyLifetime)
	raw, err := json.Marshal(sealedCeremony{Kind: kind, UserID: userID, Session: *sd})
	if err != nil {
		return Challenge{}, fmt.Errorf("encode passkey ceremony: %w", err)
	}
	return Challenge{Options: opts, State: rp.sealer.Seal(sealLabel(c, kind), raw)}, nil
}

func (rp *RelyingParty) open(c Ceremony, kind, state string) (sealedCeremony, error) {
	var sc sealedCeremony
	if len(state) > maxResponse {
		return sc, fmt.Errorf("%w: ceremony state too large", ErrRefused)
	}
	raw, err := rp.sealer.Open(sealLabel(c, kind), state)
	if err != nil {
		return sc, fmt.Errorf("%w: ceremony state does not open here", ErrRefused)
	}
	if err := json.Unmarshal(raw, &sc); err != nil || sc.Kind != kind {
		return sc, fmt.Errorf("%w: ceremony state is not a %s", ErrRefused, kind)
	}
	if !rp.now().Before(sc.Session.Expires) {
		return sc, fmt.Errorf("%w: ceremony expired", ErrRefused)
	}
	return sc, nil
}

// BeginRegistration starts registering a new passkey for u: a discoverable
// credential (so it can sign in alone), without attestation, never one of
// the authenticators u has registered already.
func (rp *RelyingParty) BeginRegistration(c Ceremony, u User) (Challenge, error) {
	wa, err := rp.relyingParty(c.Origin)
	if err != nil {
		return Challenge{}, err
	}
	w, err := newUser(u)
	if err != nil {
		return Challenge{}, err
	}
	creation, sd, err := wa.BeginRegistration(w,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(w.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return Challenge{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	return rp.seal(c, "register", u.ID, creation.Response, sd)
}

// FinishRegistration checks the authenticator's answer to a registration
// begun for u and returns the passkey to store as a factor, named name.
func (rp *RelyingParty) FinishRegistration(c Ceremony, u User, state string, response []byte, name string) (store.Factor, error) {
	sc, err := rp.open(c, "register", state)
	if err != nil {
		return store.Factor{}, err
	}
	if sc.UserID != u.ID {
		return store.Factor{}, fmt.Errorf("%w: registration begun for another user", ErrRefused)
	}
	if len(response) > maxResponse {
		return store.Factor{}, fmt.Errorf("%w: answer too large", ErrRefused)
	}
	wa, err := rp.relyingParty(c.Origin)
	if err != nil {
		return store.Factor{}, err
	}
	w, err := newUser(u)
	if err != nil {
		return store.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Factor{}, fmt.Errorf("%w: %w", ErrRefused, detailed(err))
	}
	cred, err := wa.CreateCredential(w, sc.Session, parsed)
	if err != nil {
		return store.Factor{}, fmt.Errorf("%w: %w", ErrRefused, detailed(err))
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return store.Factor{}, fmt.Errorf("encode passkey: %w", err)
	}
	now := rp.now().UTC()
	return store.Factor{
		TenantID: c.TenantID, UserID: u.ID, ID: FactorID(cred.ID), Kind: store.FactorPasskey, Name: name,
		Data: record, Counter: int64(cred.Authenticator.SignCount), CreatedAt: now,
	}, nil
}

// BeginSignIn starts a sign-in with a passkey. For a user known already
// (a second factor after the password) only their passkeys are allowed
// and user verification is preferred; for nobody yet (passwordless) the
// authenticator picks a discoverable credential and must verify the user.
func (rp *RelyingParty) BeginSignIn(c Ceremony, u *User) (Challenge, error) {
	wa, err := rp.relyingParty(c.Origin)
	if err != nil {
		return Challenge{}, err
	}
	if u == nil {
		assertion, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return Challenge{}, fmt.Errorf("begin passkey sign-in: %w", err)
		}
		return rp.seal(c, "signin", "", assertion.Response, sd)
	}
	w, err := newUser(*u)
	if err != nil {
		return Challenge{}, err
	}
	if len(w.creds) == 0 {
		return Challenge{}, fmt.Errorf("begin passkey sign-in: the user has no passkey")
	}
	assertion, sd, err := wa.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return Challenge{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return rp.seal(c, "signin", u.ID, assertion.Response, sd)
}

// FinishSignIn checks the authenticator's answer to a sign-in begun with
// BeginSignIn and, when it holds, moves the passkey's counter: an answer
// whose counter did not move past the stored one (a replay, or a cloned
// authenticator) is refused, as is a second use of the same answer.
func (rp *RelyingParty) FinishSignIn(ctx context.Context, c Ceremony, state string, response []byte) (SignIn, error) {
	sc, err := rp.open(c, "signin", state)
	if err != nil {
		return SignIn{}, err
	}
	if len(response) > maxResponse {
		return SignIn{}, fmt.Errorf("%w: answer too large", ErrRefused)
	}
	wa, err := rp.relyingParty(c.Origin)
	if err != nil {
		return SignIn{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return SignIn{}, fmt.Errorf("%w: %w", ErrRefused, detailed(err))
	}
	key, err := rp.store.GetFactor(ctx, c.TenantID, FactorID(parsed.RawID))
	if errors.Is(err, store.ErrNotFound) || (err == nil && key.Kind != store.FactorPasskey) {
		return SignIn{}, fmt.Errorf("%w: unknown credential", ErrRefused)
	}
	if err != nil {
		return SignIn{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	// The credential must be the expected user's: the one who typed the
	// password, or, passwordless, the one the authenticator names.
	if sc.UserID != "" && key.UserID != sc.UserID {
		return SignIn{}, fmt.Errorf("%w: credential of another user", ErrRefused)
	}
	if h := parsed.Response.UserHandle; len(h) > 0 && !bytes.Equal(h, []byte(key.UserID)) {
		return SignIn{}, fmt.Errorf("%w: user handle does not match the credential", ErrRefused)
	}
	factors, err := rp.store.ListFactors(ctx, c.TenantID, key.UserID)
	if err != nil {
		return SignIn{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	w, err := newUser(User{ID: key.UserID, Factors: factors})
	if err != nil {
		return SignIn{}, err
	}
	var cred *webauthn.Credential
	if sc.UserID == "" {
		cred, err = wa.ValidateDiscoverableLogin(func(_, _ []byte) (webauthn.User, error) { return w, nil }, sc.Session, parsed)
	} else {
		cred, err = wa.ValidateLogin(w, sc.Session, parsed)
	}
	if err != nil {
		return SignIn{}, fmt.Errorf("%w: %w", ErrRefused, detailed(err))
	}
	if cred.Authenticator.CloneWarning {
		return SignIn{}, fmt.Errorf("%w: signature counter %d did not move past %d (replay or cloned authenticator)",
			ErrRefused, parsed.Response.AuthenticatorData.Counter, key.Counter)
	}
	// Authenticators that keep no counter (most synced passkeys) send 0
	// every time, so the counter alone cannot refuse a replayed answer:
	// each challenge is answered once.
	err = rp.store.UseAssertionID(ctx, c.TenantID, usedChallenges, sc.Session.Challenge, sc.Session.Expires)
	if errors.Is(err, store.ErrConflict) {
		return SignIn{}, fmt.Errorf("%w: challenge answered before", ErrRefused)
	}
	if err != nil {
		return SignIn{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	// A counter that stays 0 is an authenticator that keeps none: there
	// is nothing to move, and the challenge above is the replay guard.
	if count := int64(cred.Authenticator.SignCount); count > 0 || key.Counter > 0 {
		err = rp.store.AdvanceFactorCounter(ctx, c.TenantID, key.ID, count, rp.now().UTC())
		if errors.Is(err, store.ErrNotLive) || errors.Is(err, store.ErrNotFound) {
			return SignIn{}, fmt.Errorf("%w: the counter moved or the passkey went while signing in", ErrRefused)
		}
		if err != nil {
			return SignIn{}, fmt.Errorf("passkey sign-in: %w", err)
		}
	}
	flags := parsed.Response.AuthenticatorData.Flags
	return SignIn{UserID: key.UserID, FactorID: key.ID, Verified: flags.HasUserVerified(), Synced: flags.HasBackupEligible()}, nil
}

// detailed keeps the library's developer detail, which says which check
// failed, in the error for the log.
func detailed(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w (%s)", err, pe.DevInfo)
	}
	return err
}
