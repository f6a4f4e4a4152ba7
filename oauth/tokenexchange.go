package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// OAuth 2.0 Token Exchange (RFC 8693).
const (
	GrantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	ErrInvalidTarget     = "invalid_target"
)

// tokenExchange is the standard form of on-behalf-of: a client exchanges
// a user's token issued to it for a token to another resource. The new
// token records the delegation in an act claim (RFC 8693 §4.1): the actor
// is the actor_token's subject when one is given, otherwise the client.
func (p *Provider) tokenExchange(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error) {
	subjectToken, subjectType := tc.params.Get("subject_token"), tc.params.Get("subject_token_type")
	if subjectToken == "" {
		return nil, MissingParameter("subject_token")
	}
	if subjectType == "" {
		return nil, MissingParameter("subject_token_type")
	}
	if subjectType != TokenTypeAccessToken && subjectType != TokenTypeJWT {
		return nil, invalidRequest(CodeMalformedRequest, "subject_token_type must be '%s' or '%s'.", TokenTypeAccessToken, TokenTypeJWT)
	}
	if rt := tc.params.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken && rt != TokenTypeJWT {
		return nil, invalidRequest(CodeMalformedRequest, "Only access tokens can be requested (requested_token_type '%s').", TokenTypeAccessToken)
	}
	subject, user, e := p.userAssertion(ctx, tc, subjectToken)
	if e != nil {
		return nil, e
	}
	resource, prefix, isDefault, values, oidc, e := p.exchangeTarget(ctx, tc)
	if e != nil {
		return nil, e
	}
	grant, e := p.delegatedGrant(ctx, tc, user, resource, prefix, isDefault, values, oidc)
	if e != nil {
		return nil, e
	}
	act, e := p.actor(ctx, tc, subject)
	if e != nil {
		return nil, e
	}
	grant.OIDCScopes = nil // an exchanged token is an access token only
	resp, e := p.mint(ctx, issuance{
		ep: tc.ep, client: tc.client, user: &user, resource: &resource, grant: grant,
		authTime: authTimeOf(subject), amr: subject.AMR, sessionID: subject.SessionID, act: act, familyID: subject.FamilyID,
	})
	if e != nil {
		return nil, e
	}
	resp.IssuedTokenType = TokenTypeAccessToken
	resp.ExtExpiresIn = 0
	return resp, nil
}

// exchangeTarget resolves the resource from audience, resource and scope.
// Scope values may be bare ("Files.Read") when audience or resource names
// the target, or full ("api://files/Files.Read").
func (p *Provider) exchangeTarget(ctx context.Context, tc *tokenContext) (store.App, string, bool, []string, map[string]bool, *Error) {
	fail := func(e *Error) (store.App, string, bool, []string, map[string]bool, *Error) {
		return store.App{}, "", false, nil, nil, e
	}
	var target *store.App
	var prefix string
	for _, name := range []string{"audience", "resource"} {
		id := tc.params.Get(name)
		if id == "" {
			continue
		}
		app, err := p.store.GetAppByIdentifier(ctx, tc.ep.Tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return fail(newError(ErrInvalidTarget, http.StatusBadRequest, CodeResourceNotFound, "The %s '%s' is not registered in this tenant.", name, truncate(id, 200)))
		}
		if err != nil {
			return fail(ServerError(err))
		}
		if target != nil && target.ClientID != app.ClientID {
			return fail(newError(ErrInvalidTarget, http.StatusBadRequest, CodeResourceNotFound, "audience and resource name different applications."))
		}
		target, prefix = &app, id
	}
	raw := tc.params.Get("scope")
	oidc := map[string]bool{}
	if target != nil && raw != "" && !strings.Contains(raw, "/") {
		var values []string
		for _, v := range strings.Fields(raw) {
			if isOIDCScope(strings.ToLower(v)) {
				continue
			}
			if !slices.Contains(target.Scopes, v) {
				return fail(invalidScope("The resource '%s' does not expose the scope '%s'.", truncate(prefix, 200), truncate(v, 200)))
			}
			values = append(values, v)
		}
		return *target, prefix, len(values) == 0, values, oidc, nil
	}
	if raw == "" {
		if target == nil {
			return fail(invalidRequest(CodeMalformedRequest, "Name the target with audience, resource or scope."))
		}
		return *target, prefix, true, nil, oidc, nil
	}
	sr, e := p.parseScope(ctx, tc.ep.Tenant.ID, raw)
	if e != nil {
		return fail(e)
	}
	if sr.resource == nil {
		if target == nil {
			return fail(invalidRequest(CodeMalformedRequest, "Name the target with audience, resource or scope."))
		}
		return *target, prefix, true, nil, oidc, nil
	}
	if target != nil && target.ClientID != sr.resource.ClientID {
		return fail(newError(ErrInvalidTarget, http.StatusBadRequest, CodeResourceNotFound, "The scope names another resource than audience or resource."))
	}
	return *sr.resource, sr.prefix, sr.isDefault, sr.values, oidc, nil
}

// actor is the act claim of an exchanged token, nesting any act the
// subject token already had so the whole chain stays visible.
func (p *Provider) actor(ctx context.Context, tc *tokenContext, subject verifiedAccess) (map[string]any, *Error) {
	act := map[string]any{"sub": tc.client.ServicePrincipalID, "client_id": tc.client.ClientID}
	if raw := tc.params.Get("actor_token"); raw != "" {
		if tc.params.Get("actor_token_type") == "" {
			return nil, MissingParameter("actor_token_type")
		}
		if t := tc.params.Get("actor_token_type"); t != TokenTypeAccessToken && t != TokenTypeJWT {
			return nil, invalidRequest(CodeMalformedRequest, "actor_token_type must be '%s' or '%s'.", TokenTypeAccessToken, TokenTypeJWT)
		}
		v, err := p.verifyAccessToken(ctx, tc.ep, raw)
		if err != nil {
			var bad errBadToken
			if errors.As(err, &bad) {
				// RFC 8693 §2.2.2: an invalid actor_token makes the request invalid.
				return nil, invalidRequest(CodeGrantInvalid, "The actor_token is not valid: %s", bad.reason)
			}
			return nil, ServerError(err)
		}
		// The actor must be the caller (RFC 8693 §2.1, §4.1): a token the
		// client was issued or holds as itself. Any other token of the
		// tenant would let a client name another app or user as the party
		// acting.
		if v.ClientID != tc.client.ClientID && v.AuthorizedParty != tc.client.ClientID && v.Subject != tc.client.ServicePrincipalID {
			return nil, invalidRequest(CodeMalformedRequest, "The actor_token must represent the calling client: it was issued to another client or subject.")
		}
		act = map[string]any{"sub": v.Subject}
		if v.isApp() {
			act["client_id"] = v.ClientID
		}
	} else if tc.params.Get("actor_token_type") != "" {
		return nil, MissingParameter("actor_token")
	}
	if subject.Act != nil {
		act["act"] = subject.Act
	}
	return act, nil
}
