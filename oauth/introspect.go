package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Introspection is an RFC 7662 §2.2 response. Inactive tokens answer with
// active=false alone.
type Introspection struct {
	Active            bool           `json:"active"`
	Scope             string         `json:"scope,omitempty"`
	ClientID          string         `json:"client_id,omitempty"`
	Username          string         `json:"username,omitempty"`
	TokenType         string         `json:"token_type,omitempty"`
	Expiry            int64          `json:"exp,omitempty"`
	IssuedAt          int64          `json:"iat,omitempty"`
	NotBefore         int64          `json:"nbf,omitempty"`
	Subject           string         `json:"sub,omitempty"`
	Audience          string         `json:"aud,omitempty"`
	Issuer            string         `json:"iss,omitempty"`
	ID                string         `json:"jti,omitempty"`
	TenantID          string         `json:"tid,omitempty"`
	ObjectID          string         `json:"oid,omitempty"`
	Roles             []string       `json:"roles,omitempty"`
	AuthorizedParty   string         `json:"azp,omitempty"`
	Act               map[string]any `json:"act,omitempty"`
	IdentityType      string         `json:"idtyp,omitempty"`
	PreferredUsername string         `json:"preferred_username,omitempty"`
}

// Introspect answers RFC 7662 introspection for confidential clients. A
// client learns about an access token only if it is the token's audience
// (a resource server) or the client it was issued to, and about a refresh
// token only if it is its own; for any other token the answer is simply
// inactive, so introspection cannot be used to probe other clients' tokens.
func (p *Provider) Introspect(ctx context.Context, ep Endpoint, req TokenRequest) (*Introspection, *Error) {
	client, e := p.authenticateClient(ctx, ep, req, false)
	if e != nil {
		return nil, e
	}
	if client.app.Public {
		return nil, invalidClient(CodeClientAuthRequired, "Introspection is for confidential clients (resource servers) only.")
	}
	raw := req.Params.Get("token")
	if raw == "" {
		return nil, MissingParameter("token")
	}
	inactive := &Introspection{}
	if !strings.Contains(raw, ".") && len(raw) <= maxRefreshLen {
		return p.introspectRefresh(ctx, ep, client.app, raw)
	}
	v, err := p.verifyAccessToken(ctx, ep, raw)
	if err != nil {
		var bad errBadToken
		if errors.As(err, &bad) {
			return inactive, nil
		}
		return nil, ServerError(err)
	}
	if v.Audience != client.app.ClientID && v.ClientID != client.app.ClientID {
		return inactive, nil
	}
	// A token whose grant was revoked since (user disabled, consent
	// withdrawn, refresh family revoked, session signed out) is inactive.
	st, err := p.tokenGrant(ctx, ep, v)
	if err != nil {
		return nil, ServerError(err)
	}
	if st.ended != "" {
		return inactive, nil
	}
	return &Introspection{
		Active: true, Scope: v.Scp, ClientID: v.ClientID, Username: v.PreferredUsername, TokenType: "Bearer",
		Expiry: v.Expiry, IssuedAt: v.IssuedAt, NotBefore: v.NotBefore, Subject: v.Subject, Audience: v.Audience,
		Issuer: v.Issuer, ID: v.ID, TenantID: v.TenantID, ObjectID: v.ObjectID, Roles: v.Roles,
		AuthorizedParty: v.AuthorizedParty, Act: v.Act, IdentityType: v.IdentityType, PreferredUsername: v.PreferredUsername,
	}, nil
}

func (p *Provider) introspectRefresh(ctx context.Context, ep Endpoint, client store.App, raw string) (*Introspection, *Error) {
	inactive := &Introspection{}
	tok, fam, err := p.store.GetRefreshToken(ctx, ep.Tenant.ID, token.Hash(raw))
	if errors.Is(err, store.ErrNotFound) {
		return inactive, nil
	}
	if err != nil {
		return nil, ServerError(err)
	}
	now := p.now()
	if fam.ClientID != client.ClientID || !fam.RevokedAt.IsZero() || !tok.UsedAt.IsZero() || !now.Before(tok.ExpiresAt) || !now.Before(fam.ExpiresAt) {
		return inactive, nil
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, fam.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return inactive, nil
	}
	if err != nil {
		return nil, ServerError(err)
	}
	var resource *store.App
	if tok.Grant.ResourceID != "" && tok.Grant.ResourceName == "" {
		if app, err := p.store.GetApp(ctx, ep.Tenant.ID, tok.Grant.ResourceID); err == nil {
			resource = &app
		}
	}
	return &Introspection{
		Active: true, Scope: scopeString(resourceName(tok.Grant, resource), tok.Grant), ClientID: fam.ClientID, Username: user.Username,
		TokenType: "refresh_token", Expiry: tok.ExpiresAt.Unix(), IssuedAt: tok.CreatedAt.Unix(), Subject: user.ID,
		Issuer: ep.Issuer, TenantID: ep.Tenant.ID, ObjectID: user.ID,
	}, nil
}
