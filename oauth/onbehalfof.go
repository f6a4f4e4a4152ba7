package oauth

import (
	"context"
	"errors"
	"slices"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// GrantJWTBearer is RFC 7523's grant type, which Entra ID's on-behalf-of
// flow uses with requested_token_use=on_behalf_of.
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// onBehalfOf exchanges a user's access token whose audience is the calling
// API for a token to a downstream API, as the same user (Entra ID's OBO).
func (p *Provider) onBehalfOf(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error) {
	if use := tc.params.Get("requested_token_use"); use != "on_behalf_of" {
		return nil, invalidRequest(CodeMalformedRequest, "requested_token_use must be 'on_behalf_of' for the jwt-bearer grant.")
	}
	assertion := tc.params.Get("assertion")
	if assertion == "" {
		return nil, MissingParameter("assertion")
	}
	subject, user, e := p.userAssertion(ctx, tc, assertion)
	if e != nil {
		return nil, e
	}
	raw := tc.params.Get("scope")
	if raw == "" {
		return nil, MissingParameter("scope")
	}
	sr, e := p.parseScope(ctx, tc.ep.Tenant.ID, raw)
	if e != nil {
		return nil, e
	}
	if sr.resource == nil {
		return nil, invalidScope("The scope must name a downstream resource, e.g. 'api://downstream/.default'.")
	}
	grant, e := p.delegatedGrant(ctx, tc, user, *sr.resource, sr.prefix, sr.isDefault, sr.values, sr.oidc)
	if e != nil {
		return nil, e
	}
	// The new token stands on the subject's grant, or on the family it
	// starts (which ends with the same session).
	refresh, familyID := "", subject.FamilyID
	if slices.Contains(grant.OIDCScopes, ScopeOfflineAccess) {
		now := p.now()
		absolute, idle := p.refreshLifetimes(tc.client)
		refresh = token.NewOpaque()
		fam := store.RefreshFamily{ID: ids.New(), TenantID: tc.ep.Tenant.ID, ClientID: tc.client.ClientID, UserID: user.ID,
			SessionID: subject.SessionID, AuthTime: authTimeOf(subject), AMR: subject.AMR, CreatedAt: now, ExpiresAt: now.Add(absolute)}
		first := store.RefreshToken{Hash: token.Hash(refresh), TenantID: tc.ep.Tenant.ID, FamilyID: fam.ID, Generation: 1,
			Grant: grant, CreatedAt: now, ExpiresAt: successorExpiry(fam, now, idle)}
		if err := p.store.CreateRefreshFamily(ctx, fam, first); err != nil {
			return nil, ServerError(err)
		}
		familyID = fam.ID
	}
	return p.mint(ctx, issuance{
		ep: tc.ep, client: tc.client, user: &user, resource: sr.resource, grant: grant,
		authTime: authTimeOf(subject), amr: subject.AMR, sessionID: subject.SessionID, refreshToken: refresh, clientInfo: tc.wantsClientInfo(),
		familyID: familyID,
	})
}

// userAssertion verifies a user's access token presented by the client it
// was issued to (its audience), and loads the user.
func (p *Provider) userAssertion(ctx context.Context, tc *tokenContext, raw string) (verifiedAccess, store.User, *Error) {
	v, err := p.verifyAccessToken(ctx, tc.ep, raw)
	if err != nil {
		return verifiedAccess{}, store.User{}, badAssertion(err)
	}
	if v.isApp() {
		return verifiedAccess{}, store.User{}, invalidGrant(CodeGrantInvalid, "The assertion is an application token; on-behalf-of needs a user's token.")
	}
	if v.Audience != tc.client.ClientID {
		return verifiedAccess{}, store.User{}, invalidGrant(CodeGrantInvalid, "The assertion's audience is '%s', not the calling application '%s'.", truncate(v.Audience, 64), tc.client.ClientID)
	}
	user, err := p.store.GetUser(ctx, tc.ep.Tenant.ID, v.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return verifiedAccess{}, store.User{}, invalidGrant(CodeUserDisabled, "The user of the assertion is disabled or was removed.")
	}
	if err != nil {
		return verifiedAccess{}, store.User{}, ServerError(err)
	}
	return v, user, nil
}

// delegatedGrant is what the client may get on resource for user: the
// asked scopes (all consented ones for .default), each of which the user
// or an admin must have granted the client; anything else is
// consent_required, as Entra answers. ".default" of a resource the client
// is configured to need nothing on, and with nothing consented there, is
// invalid_scope (notListed): never a token for that audience without scp.
func (p *Provider) delegatedGrant(ctx context.Context, tc *tokenContext, user store.User, resource store.App, prefix string, isDefault bool, values []string, oidc map[string]bool) (store.Grant, *Error) {
	consents, err := p.loadConsents(ctx, tc.ep.Tenant.ID, tc.client.ClientID, user.ID)
	if err != nil {
		return store.Grant{}, ServerError(err)
	}
	g := store.Grant{ResourceID: resource.ClientID, ResourceName: prefix, Default: isDefault}
	if isDefault {
		for _, s := range resource.Scopes {
			if consents.hasScope(resource.ClientID, s) {
				g.Scopes = append(g.Scopes, s)
			}
		}
		if len(g.Scopes) == 0 && resource.ClientID != tc.client.ClientID && len(configuredScopes(tc.client, resource)) == 0 {
			return store.Grant{}, notListed(tc.client, prefix, kindDelegated)
		}
		if len(g.Scopes) == 0 && len(resource.Scopes) > 0 {
			return store.Grant{}, consentRequired("The user or an administrator has not consented to application '%s' using '%s'.", tc.client.ClientID, truncate(prefix, 200))
		}
	} else {
		for _, s := range values {
			if !consents.hasScope(resource.ClientID, s) {
				return store.Grant{}, consentRequired("The user or an administrator has not consented to application '%s' using '%s/%s'.", tc.client.ClientID, truncate(prefix, 200), s)
			}
		}
		g.Scopes = slices.Clone(values)
	}
	granted := map[string]bool{}
	for s := range oidc {
		granted[s] = consents.oidc[s]
	}
	g.OIDCScopes = orderOIDC(granted)
	return g, nil
}
