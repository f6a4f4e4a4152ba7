package oauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

// ClientAssertionType is RFC 7523's client_assertion_type for JWTs.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AuthPrivateKeyJWT is the discovery name of client assertion auth.
const AuthPrivateKeyJWT = "private_key_jwt"

// maxAssertionLifetime bounds how long a client assertion may be valid,
// and so how long its jti must be remembered.
const maxAssertionLifetime = time.Hour

// algEd25519 is RFC 9864's fully specified name for EdDSA with Ed25519,
// which oauth4webapi (and so openid-client 6) puts in the assertions it
// signs with an Ed25519 key. go-jose v4 knows only the polymorphic
// "EdDSA", so Tessera verifies these itself (verifyEd25519).
const algEd25519 = jose.SignatureAlgorithm("Ed25519")

// assertionAlgs are the algorithms accepted for client assertions: MSAL
// signs certificate credentials with RS256 or PS256.
func assertionAlgs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA, algEd25519}
}

// assertionAlgNames are the names of assertionAlgs, for discovery.
func assertionAlgNames() []string {
	algs := assertionAlgs()
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	return names
}

type assertionClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Expiry    *int64          `json:"exp"`
	NotBefore *int64          `json:"nbf"`
	IssuedAt  *int64          `json:"iat"`
	ID        string          `json:"jti"`
}

// audiences reads aud as a string or an array of strings.
func (c assertionClaims) audiences() []string {
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(c.Audience, &many)
	return many
}

// assertionSubject reads iss/sub of an assertion without verifying it, to
// know which client's keys to verify it with.
func assertionSubject(raw string) string {
	sig, err := jose.ParseSignedCompact(raw, assertionAlgs())
	if err != nil {
		return ""
	}
	var c assertionClaims
	if json.Unmarshal(sig.UnsafePayloadWithoutVerification(), &c) != nil {
		return ""
	}
	return c.Subject
}

// verifyClientAssertion authenticates app by a JWT signed with one of its
// registered keys (RFC 7523 §3): iss and sub are the client id, aud names
// this tenant's token endpoint or issuer, the lifetime is short, and the
// jti is used once.
func (p *Provider) verifyClientAssertion(ctx context.Context, ep Endpoint, app store.App, raw string) *Error {
	bad := func(format string, args ...any) *Error {
		return invalidClient(CodeClientAuthRequired, "The client assertion is not valid: "+format, args...)
	}
	sig, err := jose.ParseSignedCompact(raw, assertionAlgs())
	if err != nil || len(sig.Signatures) != 1 {
		return bad("it is not a compact JWS signed with RS256, PS256, ES256, EdDSA or Ed25519.")
	}
	creds, err := p.store.ListAppCredentials(ctx, app.TenantID, app.ClientID)
	if err != nil {
		return ServerError(err)
	}
	now := p.now()
	h := sig.Signatures[0].Header
	verify := sig.Verify
	if h.Algorithm == string(algEd25519) {
		verify = func(key any) ([]byte, error) { return verifyEd25519(raw, sig, key) }
	}
	candidates, named := candidateCredentials(creds, h)
	if named != "" && len(candidates) == 0 {
		return bad("its %s header names no certificate registered for app '%s'.", named, app.ClientID)
	}
	var payload []byte
	for _, c := range candidates {
		if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
			continue
		}
		key, err := credentialKey(c)
		if err != nil {
			p.log.WarnContext(ctx, "unreadable app credential", "client", app.ClientID, "credential", c.ID, "err", err)
			continue
		}
		if out, err := verify(key); err == nil {
			payload = out
			break
		}
	}
	if payload == nil {
		return bad("no unexpired key registered for app '%s' verifies its signature.", app.ClientID)
	}
	var c assertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("its claims are malformed.")
	}
	switch {
	case c.Issuer != app.ClientID || c.Subject != app.ClientID:
		return bad("iss and sub must both be the client id.")
	case c.Expiry == nil:
		return bad("it has no exp.")
	case !now.Before(time.Unix(*c.Expiry, 0).Add(clockSkew)):
		return bad("it has expired.")
	case time.Unix(*c.Expiry, 0).Sub(now) > maxAssertionLifetime+clockSkew:
		return bad("it is valid for more than %s.", maxAssertionLifetime)
	case c.NotBefore != nil && now.Add(clockSkew).Before(time.Unix(*c.NotBefore, 0)):
		return bad("it is not valid yet.")
	case c.ID == "" || len(c.ID) > 256:
		return bad("it has no usable jti.")
	}
	if !p.assertionAudienceOK(ep, c.audiences()) {
		return bad("its aud must be this tenant's token endpoint (%s) or issuer.", ep.Base+"/oauth2/v2.0/token")
	}
	err = p.store.UseAssertionID(ctx, app.TenantID, app.ClientID, c.ID, time.Unix(*c.Expiry, 0).Add(clockSkew))
	if errors.Is(err, store.ErrConflict) {
		return bad("its jti was already used; sign a new assertion for every request.")
	}
	if err != nil {
		return ServerError(err)
	}
	return nil
}

// verifyEd25519 checks a compact JWS with alg "Ed25519" (RFC 9864 §2.2),
// the same signature as go-jose's "EdDSA" with an Ed25519 key, and returns
// its payload. A header with crit or b64 (RFC 7797) is refused: verifying
// it needs extensions this path does not implement, and go-jose's own
// path refuses what it does not understand too.
func verifyEd25519(raw string, sig *jose.JSONWebSignature, key any) ([]byte, error) {
	pub, ok := key.(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("alg Ed25519 needs an Ed25519 key, not %T", key)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	input := raw[:len(parts[0])+1+len(parts[1])]
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(hb, &members); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	for _, name := range []string{"crit", "b64"} {
		if _, ok := members[name]; ok {
			return nil, fmt.Errorf("header %q is not supported with alg Ed25519", name)
		}
	}
	if !ed25519.Verify(pub, []byte(input), sig.Signatures[0].Signature) {
		return nil, errors.New("ed25519 signature does not verify")
	}
	return sig.UnsafePayloadWithoutVerification(), nil
}

// assertionAudienceOK accepts the token endpoint or issuer under any name
// of the tenant, and the Authgear-style alias endpoint.
func (p *Provider) assertionAudienceOK(ep Endpoint, auds []string) bool {
	var accepted []string
	for _, iss := range ep.issuers() {
		base := strings.TrimSuffix(iss, "/v2.0")
		accepted = append(accepted, iss, base, base+"/oauth2/v2.0/token")
	}
	accepted = append(accepted, ep.Origin+"/oauth2/token")
	for _, a := range auds {
		if slices.Contains(accepted, strings.TrimSuffix(a, "/")) || slices.Contains(accepted, a) {
			return true
		}
	}
	return false
}

// candidateCredentials returns the app's keys that may have signed an
// assertion with header h. A certificate thumbprint (x5t#S256, x5t) names
// one certificate: when the header has one, only the certificates matching
// every thumbprint it has are candidates, and thumbprint is the header that
// named them ("" without one), so that no match is a failure rather than a
// reason to try every key. Without a thumbprint, a kid equal to a key's id
// (its RFC 7638 thumbprint) selects that key; any other kid is the client's
// own label, and every key is tried. MSAL Go encodes x5t#S256 in padded standard base64 rather
// than base64url, so thumbprints are decoded leniently; one that decodes in
// no base64 alphabet matches nothing.
func candidateCredentials(creds []store.AppCredential, h jose.Header) (candidates []store.AppCredential, thumbprint string) {
	type hint struct {
		name string
		want []byte
		has  func(store.AppCredential) []byte
	}
	var hints []hint
	for _, x := range []struct {
		name string
		has  func(store.AppCredential) []byte
	}{
		{"x5t#S256", func(c store.AppCredential) []byte { return c.SHA256Thumbprint }},
		{"x5t", func(c store.AppCredential) []byte { return c.SHA1Thumbprint }},
	} {
		if v, ok := h.ExtraHeaders[jose.HeaderKey(x.name)]; ok {
			hints = append(hints, hint{name: x.name, want: decodeThumbprint(v), has: x.has})
		}
	}
	if len(hints) > 0 {
		names := make([]string, 0, len(hints))
		for _, x := range hints {
			names = append(names, x.name)
		}
		for _, c := range creds {
			if !slices.ContainsFunc(hints, func(x hint) bool { return x.want == nil || !bytes.Equal(x.want, x.has(c)) }) {
				candidates = append(candidates, c)
			}
		}
		return candidates, strings.Join(names, " and ")
	}
	for _, c := range creds {
		if h.KeyID != "" && h.KeyID == c.ID {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) == 0 {
		candidates = creds
	}
	return candidates, ""
}

func decodeThumbprint(v any) []byte {
	s, ok := v.(string)
	if !ok || s == "" || len(s) > 128 {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// credentialKey is the public key of a registered credential.
func credentialKey(c store.AppCredential) (any, error) {
	switch c.Kind {
	case store.CredentialCertificate:
		cert, err := x509.ParseCertificate(c.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert.PublicKey, nil
	case store.CredentialJWK:
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(c.PublicKey); err != nil {
			return nil, fmt.Errorf("parse JWK: %w", err)
		}
		return k.Key, nil
	}
	return nil, fmt.Errorf("unknown credential kind %q", c.Kind)
}
