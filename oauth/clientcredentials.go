package oauth

import (
	"context"

	"github.com/tessera-id/tessera/store"
)

// clientCredentials issues a token the app gets as itself (RFC 6749 §4.4).
// As in Entra ID the scope is always "{resource}/.default", and the token
// carries the app roles a tenant admin granted the client on that resource.
// OpenID Connect scopes beside it are ignored, as Entra ID ignores them:
// MSAL Go appends "openid offline_access profile" to every token request,
// client credentials included, and an app token has no user to describe.
func (p *Provider) clientCredentials(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error) {
	raw := tc.params.Get("scope")
	if raw == "" {
		return nil, MissingParameter("scope")
	}
	req, e := p.parseScope(ctx, tc.ep.Tenant.ID, raw)
	if e != nil {
		return nil, e
	}
	if req.resource == nil || !req.isDefault {
		return nil, invalidScope("The scope for the client credentials grant must be '{resource}/.default' alone (for example '%s/.default').", tc.client.ClientID)
	}
	consents, err := p.loadConsents(ctx, tc.ep.Tenant.ID, tc.client.ClientID, "")
	if err != nil {
		return nil, ServerError(err)
	}
	var roles []string
	for _, role := range req.resource.Roles {
		if consents.roles[req.resource.ClientID][role] {
			roles = append(roles, role)
		}
	}
	return p.mint(ctx, issuance{
		ep:       tc.ep,
		client:   tc.client,
		resource: req.resource,
		prefix:   req.prefix,
		grant:    store.Grant{ResourceID: req.resource.ClientID, Default: true},
		roles:    roles,
	})
}
