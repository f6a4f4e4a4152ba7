package oauth

import (
	"context"
	"slices"

	"github.com/tessera-id/tessera/store"
)

// clientCredentials issues a token the app gets as itself (RFC 6749 §4.4).
// As in Entra ID the scope is always "{resource}/.default", and the token
// carries the app roles a tenant admin granted the client on that resource.
//
// The client's own API needs no setup ("{client_id}/.default", the seeds'
// daemon shape): the token may carry no roles. Another app's needs an
// application permission (app role) configured for the client, or the
// request is refused (notListed, Entra's AADSTS650057). A permission
// configured but not yet granted by an admin gives a token without roles,
// as Entra does: the configuration says the client is meant to call that
// resource, and the missing grant shows in the token the resource checks.
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
	if req.resource.ClientID != tc.client.ClientID && !hasRolePermission(tc.client, *req.resource) {
		return nil, notListed(tc.client, req.prefix, kindApplication)
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
		grant:    store.Grant{ResourceID: req.resource.ClientID, ResourceName: req.prefix, Default: true},
		roles:    roles,
	})
}

// hasRolePermission reports whether client is configured to need an app
// role that resource defines.
func hasRolePermission(client, resource store.App) bool {
	for _, perm := range client.Permissions {
		if perm.ResourceID == resource.ClientID && perm.Kind == store.KindRole && slices.Contains(resource.Roles, perm.Value) {
			return true
		}
	}
	return false
}
