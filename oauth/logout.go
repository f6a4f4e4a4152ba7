package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Logout is OpenID Connect RP-Initiated Logout 1.0. It ends the browser's
// SSO session and revokes the refresh tokens that came from it, except for
// apps set to keep them (LogoutKeepsRefreshTokens). It returns where to
// send the browser: a registered post_logout_redirect_uri with state, or ""
// for Tessera's signed-out page.
func (p *Provider) Logout(ctx context.Context, ep Endpoint, params Params, sessionSecret string) (string, *Error) {
	clientID := params.Get("client_id")
	if hint := params.Get("id_token_hint"); hint != "" {
		aud, e := p.idTokenHintAudience(ctx, ep, hint)
		if e != nil {
			return "", e
		}
		if clientID != "" && clientID != aud {
			return "", invalidRequest(CodeMalformedRequest, "client_id does not match the audience of id_token_hint.")
		}
		clientID = aud
	}
	redirect := params.Get("post_logout_redirect_uri")
	if redirect != "" {
		if clientID == "" {
			return "", invalidRequest(CodeMalformedRequest, "post_logout_redirect_uri needs id_token_hint or client_id to know the application.")
		}
		app, err := p.store.GetApp(ctx, ep.Tenant.ID, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return "", invalidRequest(CodeAppNotFound, "Application '%s' was not found in the tenant.", truncate(clientID, 64))
		}
		if err != nil {
			return "", ServerError(err)
		}
		if !slices.Contains(app.PostLogoutRedirectURIs, redirect) {
			return "", invalidRequest(CodeRedirectMismatch, "The post_logout_redirect_uri '%s' is not registered for application '%s'.", truncate(redirect, 300), app.ClientID)
		}
	}
	if e := p.endSession(ctx, ep, sessionSecret); e != nil {
		return "", e
	}
	if redirect == "" {
		return "", nil
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return "", ServerError(err)
	}
	if state := params.Get("state"); state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func (p *Provider) endSession(ctx context.Context, ep Endpoint, secret string) *Error {
	sess, err := p.Session(ctx, ep, secret)
	if err != nil {
		return ServerError(err)
	}
	if sess == nil {
		return nil
	}
	if err := p.store.DeleteSession(ctx, ep.Tenant.ID, sess.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
		return ServerError(err)
	}
	apps, err := p.store.ListApps(ctx, ep.Tenant.ID)
	if err != nil {
		return ServerError(err)
	}
	var keep []string
	for _, a := range apps {
		if a.LogoutKeepsRefreshTokens {
			keep = append(keep, a.ClientID)
		}
	}
	if err := p.store.RevokeSessionRefreshFamilies(ctx, ep.Tenant.ID, sess.ID, keep, p.now()); err != nil {
		return ServerError(err)
	}
	return nil
}

// idTokenHintAudience verifies an ID token this tenant issued (expired ones
// are fine as hints) and returns its audience.
func (p *Provider) idTokenHintAudience(ctx context.Context, ep Endpoint, hint string) (string, *Error) {
	bad := invalidRequest(CodeMalformedRequest, "id_token_hint is not an ID token issued by this tenant.")
	payload, err := p.keys.VerifyType(ctx, ep.Tenant.ID, hint, "JWT")
	if errors.Is(err, token.ErrInvalidToken) {
		return "", bad
	}
	if err != nil {
		return "", ServerError(err)
	}
	var c IDClaims
	if json.Unmarshal(payload, &c) != nil || !slices.Contains(ep.issuers(), c.Issuer) || c.Audience == "" {
		return "", bad
	}
	return c.Audience, nil
}
