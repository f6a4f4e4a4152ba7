package oauth

import (
	"context"
	"errors"
	"net/http"
)

// APICaller is who presents an access token to an API Tessera serves
// itself (the admin API), as the verified token says.
type APICaller struct {
	// AppOnly is a token an app got for itself (client credentials).
	AppOnly  bool
	ClientID string // the app that asked for the token (azp)
	UserID   string // the signed-in user of a delegated token
	Scopes   []string
	Roles    []string
}

// VerifyAPIToken checks a bearer token presented to the resource app
// resourceID of this tenant: an access token of this tenant (signature,
// issuer, lifetime, not revoked), issued for that resource, whose grant
// still stands (user enabled, consent, refresh family, session; for an
// app, its app roles still granted). Errors are RFC 6750 bearer errors; a
// missing token is a challenge with no error code (§3.1).
func (p *Provider) VerifyAPIToken(ctx context.Context, ep Endpoint, bearer, resourceID string) (APICaller, *Error) {
	if bearer == "" {
		return APICaller{}, bearerError("", http.StatusUnauthorized, CodeMissingParameter,
			"Send an access token for this API in an Authorization: Bearer header.")
	}
	v, err := p.verifyAccessToken(ctx, ep, bearer)
	if err != nil {
		var bad errBadToken
		if errors.As(err, &bad) {
			return APICaller{}, bearerError(ErrInvalidToken, http.StatusUnauthorized, CodeInvalidToken, bad.reason)
		}
		return APICaller{}, ServerError(err)
	}
	if v.Audience != resourceID {
		return APICaller{}, bearerError(ErrInvalidToken, http.StatusUnauthorized, CodeInvalidToken,
			"The token is for another resource; ask for one for this API.")
	}
	st, err := p.tokenGrant(ctx, ep, v)
	if err != nil {
		return APICaller{}, ServerError(err)
	}
	if st.ended != "" {
		return APICaller{}, bearerError(ErrInvalidToken, http.StatusUnauthorized, st.number, st.ended)
	}
	c := APICaller{AppOnly: v.isApp(), ClientID: v.AuthorizedParty, Roles: v.Roles}
	if !c.AppOnly {
		c.UserID, c.Scopes = v.Subject, v.scopes()
	}
	return c, nil
}
