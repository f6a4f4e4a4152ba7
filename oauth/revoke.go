package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Revoke is RFC 7009 token revocation. A refresh token takes its whole
// family with it; an access token is recorded as revoked until it expires,
// so introspection and userinfo refuse it. A token that is unknown,
// malformed or already dead is not an error (§2.2): the client's goal, a
// token that no longer works, holds.
func (p *Provider) Revoke(ctx context.Context, ep Endpoint, req TokenRequest) *Error {
	client, e := p.authenticateClient(ctx, ep, req, false)
	if e != nil {
		return e
	}
	raw := req.Params.Get("token")
	if raw == "" {
		return MissingParameter("token")
	}
	if len(raw) <= maxRefreshLen {
		_, fam, err := p.store.GetRefreshToken(ctx, ep.Tenant.ID, token.Hash(raw))
		switch {
		case err == nil:
			if fam.ClientID != client.app.ClientID {
				return notYourToken()
			}
			if err := p.store.RevokeRefreshFamily(ctx, ep.Tenant.ID, fam.ID, p.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
				return ServerError(err)
			}
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return ServerError(err)
		}
	}
	v, ok, err := p.readOwnAccessToken(ctx, ep, raw)
	if err != nil {
		return ServerError(err)
	}
	if !ok {
		return nil
	}
	if v.ClientID != client.app.ClientID && v.Audience != client.app.ClientID {
		return notYourToken()
	}
	if err := p.store.RevokeAccessToken(ctx, ep.Tenant.ID, v.ID, time.Unix(v.Expiry, 0).Add(clockSkew)); err != nil {
		return ServerError(err)
	}
	return nil
}

func notYourToken() *Error {
	return newError(ErrUnauthorizedClient, http.StatusBadRequest, CodeUnauthorizedClient, "The token was not issued to this client.")
}

// readOwnAccessToken reads an access token this tenant signed, whatever
// its lifetime or revocation state; ok is false for anything else.
func (p *Provider) readOwnAccessToken(ctx context.Context, ep Endpoint, raw string) (verifiedAccess, bool, error) {
	if len(raw) > MaxJWTLen {
		return verifiedAccess{}, false, nil
	}
	payload, err := p.keys.VerifyType(ctx, ep.Tenant.ID, raw, "at+jwt")
	if errors.Is(err, token.ErrInvalidToken) {
		return verifiedAccess{}, false, nil
	}
	if err != nil {
		return verifiedAccess{}, false, err
	}
	var v verifiedAccess
	if json.Unmarshal(payload, &v) != nil || v.ID == "" || v.TenantID != ep.Tenant.ID {
		return verifiedAccess{}, false, nil
	}
	return v, true, nil
}
