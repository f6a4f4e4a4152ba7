package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// authorizationCode redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.6). The
// code is single-use: a second redemption is refused and revokes the
// refresh family the first one started, since one of the two callers is
// not the client.
func (p *Provider) authorizationCode(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error) {
	code := tc.params.Get("code")
	if code == "" {
		return nil, MissingParameter("code")
	}
	hash := token.Hash(code)
	c, err := p.store.GetAuthCode(ctx, tc.ep.Tenant.ID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant(CodeGrantInvalid, "The authorization code is not valid. Request a new one.")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if subtle.ConstantTimeCompare([]byte(c.ClientID), []byte(tc.client.ClientID)) != 1 {
		return nil, invalidGrant(CodeGrantInvalid, "The authorization code was issued to another client.")
	}
	if tc.unauthenticated && (!publicRedirect(tc.client, c.RedirectURI) || c.CodeChallenge == "") {
		// A code sent to a Web redirect URI is the confidential client's:
		// without its credentials, whoever holds the code is not it, and
		// a replay check would let them revoke what the client redeemed.
		return nil, invalidClient(CodeClientAuthRequired, "The request body must contain 'client_secret' or 'client_assertion' (or an HTTP Basic Authorization header): the code was sent to a Web redirect URI of confidential application '%s', or without a code_challenge.", tc.client.ClientID)
	}
	if !c.UsedAt.IsZero() {
		return nil, p.codeReplayed(ctx, tc, c)
	}
	now := p.now()
	if !now.Before(c.ExpiresAt) {
		return nil, invalidGrant(CodeCodeExpired, "The authorization code has expired. Request a new one.")
	}
	if e := checkRedirect(c, tc.params.Get("redirect_uri")); e != nil {
		return nil, e
	}
	if e := checkVerifier(c, tc.params.Get("code_verifier")); e != nil {
		return nil, e
	}
	user, err := p.store.GetUser(ctx, tc.ep.Tenant.ID, c.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return nil, deadGrant(CodeUserDisabled, "The user account is disabled or was removed.")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if e := p.sessionLive(ctx, tc.ep, c.SessionID, now); e != nil {
		return nil, e
	}
	grant, e := p.codeGrant(ctx, tc, c)
	if e != nil {
		return nil, e
	}
	if tc.unauthenticated {
		grant.PublicVia = publicPlatform(tc.client, c.RedirectURI)
	}

	red, refresh := p.newRedemption(tc, user.ID, c.SessionID, c.AuthTime, c.AMR, grant, now)
	err = p.store.RedeemAuthCode(ctx, tc.ep.Tenant.ID, hash, now, red)
	if errors.Is(err, store.ErrNotLive) {
		// Another request redeemed it between our read and our write.
		c, err = p.store.GetAuthCode(ctx, tc.ep.Tenant.ID, hash)
		if err != nil {
			return nil, ServerError(err)
		}
		return nil, p.codeReplayed(ctx, tc, c)
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if e := p.sessionEndedMeanwhile(ctx, tc.ep, c.SessionID, red, now); e != nil {
		return nil, e
	}
	var resource *store.App
	if grant.ResourceID != "" {
		r, err := p.store.GetApp(ctx, tc.ep.Tenant.ID, grant.ResourceID)
		if err != nil {
			return nil, ServerError(err)
		}
		resource = &r
	}
	return p.mint(ctx, issuance{
		ep: tc.ep, client: tc.client, user: &user, resource: resource, grant: grant,
		authTime: c.AuthTime, amr: c.AMR, sessionID: c.SessionID, nonce: c.Nonce, refreshToken: refresh,
		clientInfo: tc.wantsClientInfo(), accessID: red.AccessTokenID, issuedAt: now, familyID: familyOf(red),
	})
}

// sessionLive refuses what was issued in a sign-in session that has ended
// since (signed out, or expired): a code lives minutes, but the user who
// signed out meant every grant of that session to end, and one redeemed
// after the sign-out would start a refresh family that outlives it.
func (p *Provider) sessionLive(ctx context.Context, ep Endpoint, sessionID string, now time.Time) *Error {
	if sessionID == "" {
		return nil
	}
	ended, err := p.sessionEnded(ctx, ep, sessionID, now)
	if err != nil {
		return ServerError(err)
	}
	if ended {
		return deadGrant(CodeSessionEnded, "The sign-in session this grant was issued in has ended (the user signed out). Sign in again.")
	}
	return nil
}

// sessionEndedMeanwhile looks at the session again once a redemption is
// written: a sign-out between the first look and the write revoked the
// session's families before this one existed, so it would outlive the
// sign-out. A sign-out after this look finds the family and revokes it.
func (p *Provider) sessionEndedMeanwhile(ctx context.Context, ep Endpoint, sessionID string, red store.Redemption, now time.Time) *Error {
	e := p.sessionLive(ctx, ep, sessionID, now)
	if e == nil || e.Code == ErrServerError {
		return e
	}
	if red.Family != nil {
		if err := p.store.RevokeRefreshFamily(ctx, ep.Tenant.ID, red.Family.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return ServerError(err)
		}
	}
	if err := p.store.RevokeAccessToken(ctx, ep.Tenant.ID, red.AccessTokenID, red.AccessTokenExpiresAt); err != nil {
		return ServerError(err)
	}
	return e
}

// newRedemption prepares what spending a code issues: the access token's
// id (recorded so a replay can revoke it) and, when offline_access is
// granted, a new refresh family with its first token.
func (p *Provider) newRedemption(tc *tokenContext, userID, sessionID string, authTime time.Time, amr []string, grant store.Grant, now time.Time) (store.Redemption, string) {
	r := store.Redemption{AccessTokenID: ids.New(), AccessTokenExpiresAt: now.Add(p.accessLifetime(tc.client))}
	if !slices.Contains(grant.OIDCScopes, ScopeOfflineAccess) {
		return r, ""
	}
	absolute, idle := p.refreshLifetimes(tc.client)
	refresh := token.NewOpaque()
	r.Family = &store.RefreshFamily{
		ID: ids.New(), TenantID: tc.ep.Tenant.ID, ClientID: tc.client.ClientID, UserID: userID,
		SessionID: sessionID, AuthTime: authTime, AMR: amr, CreatedAt: now, ExpiresAt: now.Add(absolute),
	}
	r.First = &store.RefreshToken{
		Hash: token.Hash(refresh), TenantID: tc.ep.Tenant.ID, FamilyID: r.Family.ID, Generation: 1,
		Grant: grant, CreatedAt: now, ExpiresAt: successorExpiry(*r.Family, now, idle),
	}
	return r, refresh
}

func (p *Provider) codeReplayed(ctx context.Context, tc *tokenContext, c store.AuthCode) *Error {
	if c.FamilyID != "" {
		if err := p.store.RevokeRefreshFamily(ctx, tc.ep.Tenant.ID, c.FamilyID, p.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return ServerError(err)
		}
	}
	if c.AccessTokenID != "" {
		if err := p.store.RevokeAccessToken(ctx, tc.ep.Tenant.ID, c.AccessTokenID, c.AccessTokenExpiresAt); err != nil {
			return ServerError(err)
		}
	}
	p.log.WarnContext(ctx, "authorization code replayed", "tenant", tc.ep.Tenant.ID, "client", tc.client.ClientID, "family", c.FamilyID)
	return invalidGrant(CodeCodeRedeemed, "The authorization code has already been redeemed. Tokens issued from it have been revoked; sign in again.")
}

// checkRedirect enforces RFC 6749 §4.1.3: the redirect_uri of the token
// request must be the one the code was sent to.
func checkRedirect(c store.AuthCode, given string) *Error {
	if given == "" {
		return MissingParameter("redirect_uri")
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(c.RedirectURI)) != 1 {
		return invalidGrant(CodeRedirectMismatch, "The redirect_uri does not match the one used in the authorization request.")
	}
	return nil
}

// checkVerifier enforces PKCE (RFC 7636 §4.6). A verifier sent for a code
// issued without a challenge is refused too (RFC 9700 §2.1.1): accepting
// it would let an attacker who strips the challenge go unnoticed.
func checkVerifier(c store.AuthCode, verifier string) *Error {
	if c.CodeChallenge == "" {
		if verifier != "" {
			return invalidGrant(CodePKCEMismatch, "A code_verifier was sent, but the authorization request had no code_challenge.")
		}
		return nil
	}
	if verifier == "" {
		return MissingParameter("code_verifier")
	}
	if len(verifier) < 43 || len(verifier) > 128 || !isPKCEChars(verifier) {
		return invalidGrant(CodePKCEMismatch, "The code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].")
	}
	computed := verifier
	if c.CodeChallengeMethod == PKCES256 {
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(computed), []byte(c.CodeChallenge)) != 1 {
		return invalidGrant(CodePKCEMismatch, "The code_verifier does not match the code_challenge supplied in the authorization request.")
	}
	return nil
}

// codeGrant is what this redemption grants: the code's grant, narrowed by
// the token request's scope if it has one. The token leg may not widen the
// code's resource scopes; OIDC scopes it names that the code lacks are
// dropped, so "offline_access" asked only here yields no refresh token
// unless the user granted it at the authorize step (seeds 002 and 003).
func (p *Provider) codeGrant(ctx context.Context, tc *tokenContext, c store.AuthCode) (store.Grant, *Error) {
	g := c.Grant
	raw := tc.params.Get("scope")
	if raw == "" {
		return g, nil
	}
	sr, e := p.parseScope(ctx, tc.ep.Tenant.ID, raw)
	if e != nil {
		return store.Grant{}, e
	}
	out := store.Grant{ResourceID: g.ResourceID, ResourceName: g.ResourceName, Scopes: g.Scopes, Default: g.Default}
	if sr.resource != nil {
		if sr.resource.ClientID != g.ResourceID {
			return store.Grant{}, invalidScope("The scope names the resource '%s', but the authorization code was issued for another resource.", truncate(sr.prefix, 200))
		}
		out.ResourceName = sr.prefix
		if !sr.isDefault {
			for _, v := range sr.values {
				if !slices.Contains(g.Scopes, v) {
					return store.Grant{}, invalidScope("The scope '%s/%s' was not granted in the authorization request; the token request may only narrow it.", truncate(sr.prefix, 200), v)
				}
			}
			out.Scopes, out.Default = sr.values, false
		}
	}
	oidc := map[string]bool{}
	for s := range sr.oidc {
		if slices.Contains(g.OIDCScopes, s) {
			oidc[s] = true
		}
	}
	out.OIDCScopes = orderOIDC(oidc)
	return out, nil
}
