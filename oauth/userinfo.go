package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
)

// UserInfo answers the OpenID Connect UserInfo endpoint (Core §5.3) for a
// bearer access token that was granted openid; the claims follow the
// token's profile and email scopes. Errors are RFC 6750 bearer errors.
func (p *Provider) UserInfo(ctx context.Context, ep Endpoint, bearer string) (map[string]any, *Error) {
	if bearer == "" {
		return nil, bearerError(ErrInvalidRequest, http.StatusUnauthorized, CodeMissingParameter, "Send the access token in an Authorization: Bearer header.")
	}
	v, err := p.verifyAccessToken(ctx, ep, bearer)
	if err != nil {
		var bad errBadToken
		if errors.As(err, &bad) {
			return nil, bearerError(ErrInvalidToken, http.StatusUnauthorized, CodeInvalidToken, bad.reason)
		}
		return nil, ServerError(err)
	}
	if v.isApp() {
		return nil, bearerError(ErrInvalidToken, http.StatusUnauthorized, CodeInvalidToken, "The token was issued to an application, not a user.")
	}
	scopes := v.scopes()
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, bearerError(ErrInsufficientScope, http.StatusForbidden, CodeInvalidScope, "The token was not granted the openid scope; request 'openid' (without a resource scope) for userinfo.")
	}
	// The userinfo resource is the client's own audience: a grant of only
	// OpenID Connect scopes issues a token with aud = azp and nothing but
	// those scopes in scp. A token for a resource API is for that API,
	// whatever its scp says.
	if v.Audience != v.AuthorizedParty || slices.ContainsFunc(scopes, func(s string) bool { return !isOIDCScope(s) }) {
		return nil, bearerError(ErrInvalidToken, http.StatusUnauthorized, CodeInvalidToken, "The token is for another resource; userinfo takes a token granted only OpenID Connect scopes (openid profile email).")
	}
	// The same question introspection asks: does the token's grant still
	// stand (user enabled, consent, refresh family or session)?
	st, err := p.tokenGrant(ctx, ep, v)
	if err != nil {
		return nil, ServerError(err)
	}
	if st.ended != "" {
		return nil, bearerError(ErrInvalidToken, http.StatusUnauthorized, st.number, st.ended)
	}
	user := st.user
	claims := map[string]any{"sub": user.ID, "oid": user.ID, "tid": ep.Tenant.ID}
	if slices.Contains(scopes, ScopeProfile) {
		claims["preferred_username"] = user.Username
		if user.Name != "" {
			claims["name"] = user.Name
		}
	}
	if slices.Contains(scopes, ScopeEmail) && user.Email != "" {
		claims["email"] = user.Email
	}
	return claims, nil
}
