package oauth

import (
	"context"
	"errors"
	"slices"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// maxRefreshLen bounds a presented refresh token before it is hashed.
const maxRefreshLen = 512

// refreshToken redeems a refresh token (RFC 6749 §6) with rotation: the
// presented token is spent and a successor returned, in one conditional
// write, so of any number of concurrent callers exactly one rotates and the
// rest fall into the grace window.
func (p *Provider) refreshToken(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error) {
	secret := tc.params.Get("refresh_token")
	if secret == "" {
		return nil, MissingParameter("refresh_token")
	}
	if len(secret) > maxRefreshLen {
		return nil, deadGrant(CodeGrantInvalid, "The refresh token is not valid. Sign in again.")
	}
	hash := token.Hash(secret)
	// Two passes at most: a lost race re-reads the token, which is then
	// used and handled as a retry inside the grace window.
	for attempt := 0; attempt < 2; attempt++ {
		tok, fam, err := p.store.GetRefreshToken(ctx, tc.ep.Tenant.ID, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil, deadGrant(CodeGrantInvalid, "The refresh token is not valid. Sign in again.")
		}
		if err != nil {
			return nil, ServerError(err)
		}
		if tc.unauthenticated && (fam.ClientID != tc.client.ClientID || !stillPublic(tc.client, tok.Grant.PublicVia)) {
			// Before the reuse check: without the client's credentials a
			// stolen confidential refresh token must not even revoke its
			// family. A public grant stays one while the app keeps the
			// platform or setting it came through.
			return nil, invalidClient(CodeClientAuthRequired, "The request body must contain 'client_secret' or 'client_assertion' (or an HTTP Basic Authorization header): this refresh token was issued to confidential application '%s' with its credentials.", tc.client.ClientID)
		}
		now := p.now()
		verdict := decideRefresh(tok, fam, tc.client.ClientID, now, p.cfg.RefreshGrace)
		switch verdict.action {
		case refreshDead:
			return nil, deadGrant(verdict.number, "%s", verdict.reason)
		case refreshReuse:
			return nil, p.revokeFamily(ctx, tc, fam, verdict)
		}

		user, grant, resource, e := p.refreshGrant(ctx, tc, tok, fam)
		if e != nil {
			return nil, e
		}
		// The family stays the public client's it was issued as.
		grant.PublicVia = tok.Grant.PublicVia
		next := p.successor(secret)
		nextHash := token.Hash(next)
		if verdict.action == refreshRetry {
			succ, _, err := p.store.GetRefreshToken(ctx, tc.ep.Tenant.ID, nextHash)
			if errors.Is(err, store.ErrNotFound) || (err == nil && !succ.UsedAt.IsZero()) {
				// The successor moved on: this is a replay, not a retry.
				return nil, p.revokeFamily(ctx, tc, fam, refreshVerdict{refreshReuse, CodeRefreshRevoked,
					"The refresh token was already used. Every token of its family has been revoked; sign in again."})
			}
			if err != nil {
				return nil, ServerError(err)
			}
		} else {
			_, idle := p.refreshLifetimes(tc.client)
			err := p.store.RotateRefreshToken(ctx, tc.ep.Tenant.ID, hash, store.RefreshToken{
				Hash: nextHash, TenantID: tc.ep.Tenant.ID, FamilyID: fam.ID, ParentHash: hash,
				Generation: tok.Generation + 1, Grant: grant, CreatedAt: now, ExpiresAt: successorExpiry(fam, now, idle),
			}, now)
			if errors.Is(err, store.ErrNotLive) {
				continue
			}
			if err != nil {
				return nil, ServerError(err)
			}
		}
		return p.mint(ctx, issuance{
			ep: tc.ep, client: tc.client, user: &user, resource: resource, grant: grant,
			authTime: fam.AuthTime, sessionID: fam.SessionID, refreshToken: next, clientInfo: tc.wantsClientInfo(),
			familyID: fam.ID,
		})
	}
	return nil, deadGrant(CodeGrantInvalid, "The refresh token is no longer valid. Sign in again.")
}

func (p *Provider) revokeFamily(ctx context.Context, tc *tokenContext, fam store.RefreshFamily, v refreshVerdict) *Error {
	if err := p.store.RevokeRefreshFamily(ctx, tc.ep.Tenant.ID, fam.ID, p.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return ServerError(err)
	}
	p.log.WarnContext(ctx, "refresh token reused; family revoked", "tenant", tc.ep.Tenant.ID, "client", tc.client.ClientID, "family", fam.ID)
	return deadGrant(v.number, "%s", v.reason)
}

// refreshGrant checks that the user may still get tokens and resolves what
// this redemption grants. A refresh token may be redeemed for any resource
// the user consented to for this client (Entra's multi-resource refresh
// token); OIDC scopes stay as first granted so every redemption returns an
// ID token with the same subject. Withdrawn consent or a disabled user ends
// the family.
func (p *Provider) refreshGrant(ctx context.Context, tc *tokenContext, tok store.RefreshToken, fam store.RefreshFamily) (store.User, store.Grant, *store.App, *Error) {
	fail := func(e *Error) (store.User, store.Grant, *store.App, *Error) {
		return store.User{}, store.Grant{}, nil, e
	}
	user, err := p.store.GetUser(ctx, tc.ep.Tenant.ID, fam.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		_ = p.store.RevokeRefreshFamily(ctx, tc.ep.Tenant.ID, fam.ID, p.now())
		return fail(deadGrant(CodeUserDisabled, "The user account is disabled or was removed."))
	}
	if err != nil {
		return fail(ServerError(err))
	}
	// An app that requires assignment keeps requiring it: a user whose
	// assignment was removed gets no more tokens from an old refresh
	// token. The family is not revoked, so that an assignment given back
	// lets it work again, as a disabled user's does not.
	if e := p.checkAssigned(ctx, tc.ep, tc.client, user.ID, ErrInvalidGrant); e != nil {
		return fail(e)
	}
	consents, err := p.loadConsents(ctx, tc.ep.Tenant.ID, tc.client.ClientID, user.ID)
	if err != nil {
		return fail(ServerError(err))
	}
	if !consents.oidc[ScopeOfflineAccess] {
		_ = p.store.RevokeRefreshFamily(ctx, tc.ep.Tenant.ID, fam.ID, p.now())
		return fail(deadGrant(CodeConsentRequired, "The user's consent for offline access by this application was withdrawn. Sign in again."))
	}

	oidc := map[string]bool{}
	for _, s := range tok.Grant.OIDCScopes {
		oidc[s] = consents.oidc[s]
	}
	raw := tc.params.Get("scope")
	if raw == "" {
		g := store.Grant{ResourceID: tok.Grant.ResourceID, ResourceName: tok.Grant.ResourceName, Default: tok.Grant.Default, OIDCScopes: orderOIDC(oidc)}
		for _, s := range tok.Grant.Scopes {
			if consents.hasScope(g.ResourceID, s) {
				g.Scopes = append(g.Scopes, s)
			}
		}
		if len(tok.Grant.Scopes) > 0 && len(g.Scopes) == 0 {
			// Every scope the token was for has been withdrawn: a token
			// for the resource with none in it is no token at all.
			return fail(consentRequired("The consent to every permission of this refresh token's resource was withdrawn. Ask for it interactively."))
		}
		var resource *store.App
		if g.ResourceID != "" {
			app, err := p.store.GetApp(ctx, tc.ep.Tenant.ID, g.ResourceID)
			if err != nil {
				return fail(ServerError(err))
			}
			resource = &app
		}
		return user, g, resource, nil
	}

	sr, e := p.parseScope(ctx, tc.ep.Tenant.ID, raw)
	if e != nil {
		return fail(e)
	}
	for s := range sr.oidc {
		oidc[s] = oidc[s] || consents.oidc[s]
	}
	g := store.Grant{Default: sr.isDefault}
	if sr.resource != nil {
		g.ResourceID, g.ResourceName = sr.resource.ClientID, sr.prefix
		if sr.isDefault {
			for _, s := range sr.resource.Scopes {
				if consents.hasScope(g.ResourceID, s) {
					g.Scopes = append(g.Scopes, s)
				}
			}
			if len(g.Scopes) == 0 && sr.resource.ClientID != tc.client.ClientID {
				if len(configuredScopes(tc.client, *sr.resource)) == 0 {
					return fail(notListed(tc.client, sr.prefix, kindDelegated))
				}
				return fail(consentRequired("The user has not consented to any permission of '%s' for this application.", truncate(sr.prefix, 200)))
			}
		} else {
			for _, s := range sr.values {
				if !consents.hasScope(g.ResourceID, s) {
					return fail(consentRequired("The user has not consented to '%s/%s' for this application. Ask for it interactively.", truncate(sr.prefix, 200), s))
				}
			}
			g.Scopes = slices.Clone(sr.values)
		}
	}
	g.OIDCScopes = orderOIDC(oidc)
	return user, g, sr.resource, nil
}
