package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/token"
)

// clockSkew is how far apart Tessera's clock and a token's issuer (itself,
// on another instance) may be before exp and nbf checks fail.
const clockSkew = 60 * time.Second

// verifiedAccess is an access token Tessera issued, checked.
type verifiedAccess struct {
	accessClaims
	Act map[string]any `json:"act,omitempty"`
}

func (v verifiedAccess) isApp() bool { return v.IdentityType == "app" }

func (v verifiedAccess) scopes() []string { return strings.Fields(v.Scp) }

// errBadToken is the reason a presented access token is refused; callers
// wrap it in the error their protocol uses (invalid_grant, invalid_token).
type errBadToken struct{ reason string }

func (e errBadToken) Error() string { return e.reason }

// verifyAccessToken checks an access token of this tenant: signature by a
// published key with typ at+jwt, issuer, tenant, lifetime, and that it was
// not revoked.
func (p *Provider) verifyAccessToken(ctx context.Context, ep Endpoint, raw string) (verifiedAccess, error) {
	if raw == "" || len(raw) > MaxJWTLen {
		return verifiedAccess{}, errBadToken{"The token is missing or too long."}
	}
	payload, err := p.keys.VerifyType(ctx, ep.Tenant.ID, raw, "at+jwt")
	if err != nil {
		if errors.Is(err, token.ErrInvalidToken) {
			return verifiedAccess{}, errBadToken{"The token's signature is not valid for this tenant, or it is not an access token."}
		}
		return verifiedAccess{}, err
	}
	var v verifiedAccess
	if err := json.Unmarshal(payload, &v); err != nil {
		return verifiedAccess{}, errBadToken{"The token's claims are malformed."}
	}
	now := p.now()
	switch {
	case !slices.Contains(ep.issuers(), v.Issuer) || v.TenantID != ep.Tenant.ID:
		return verifiedAccess{}, errBadToken{"The token was issued by another tenant or issuer."}
	case !now.Before(time.Unix(v.Expiry, 0).Add(clockSkew)):
		return verifiedAccess{}, errBadToken{"The token has expired."}
	case now.Add(clockSkew).Before(time.Unix(v.NotBefore, 0)):
		return verifiedAccess{}, errBadToken{"The token is not valid yet."}
	case v.ID == "":
		return verifiedAccess{}, errBadToken{"The token has no jti."}
	}
	revoked, err := p.store.IsAccessTokenRevoked(ctx, ep.Tenant.ID, v.ID)
	if err != nil {
		return verifiedAccess{}, err
	}
	if revoked {
		return verifiedAccess{}, errBadToken{"The token has been revoked."}
	}
	return v, nil
}

// badAssertion maps a verification failure to invalid_grant, keeping
// internal failures internal.
func badAssertion(err error) *Error {
	var bad errBadToken
	if errors.As(err, &bad) {
		return invalidGrant(CodeGrantInvalid, "The assertion is not valid: %s", bad.reason)
	}
	return ServerError(err)
}

// bearerError is an RFC 6750 §3.1 error for protected resources, with the
// number reported in error_codes like every other error.
func bearerError(code string, status, number int, description string) *Error {
	return &Error{Code: code, Status: status, Number: number, Description: description}
}

// Bearer token error codes (RFC 6750 §3.1).
const (
	ErrInvalidToken      = "invalid_token"
	ErrInsufficientScope = "insufficient_scope"
)

// authTimeOf is when the token's user signed in, or zero.
func authTimeOf(v verifiedAccess) time.Time {
	if v.AuthTime == 0 {
		return time.Time{}
	}
	return time.Unix(v.AuthTime, 0).UTC()
}
