package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/tessera-id/tessera/store"
)

// The OpenID Connect scopes. They belong to no resource: they govern what
// the ID token says and whether a refresh token is issued.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
	defaultScope       = ".default"
)

// OIDCScopes returns the OpenID Connect scopes in their canonical order.
func OIDCScopes() []string {
	return []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}
}

func isOIDCScope(s string) bool {
	switch s {
	case ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess:
		return true
	}
	return false
}

// orderOIDC returns the OIDC scopes of set in canonical order, so that
// grants compare and print the same however they were asked for.
func orderOIDC(set map[string]bool) []string {
	var out []string
	for _, s := range OIDCScopes() {
		if set[s] {
			out = append(out, s)
		}
	}
	return out
}

// scopeRequest is a parsed scope parameter: the scopes of at most one
// resource (by the Entra model a token has one audience) plus OIDC scopes.
type scopeRequest struct {
	resource  *store.App
	prefix    string   // the resource as the client named it
	values    []string // explicit scope values, empty when isDefault
	isDefault bool     // "{resource}/.default"
	oidc      map[string]bool
}

// parseScope resolves a space-separated scope list against the tenant's
// apps. A resource is named by client id or identifier URI, followed by
// "/" and a scope value; the identifier may itself contain "/", so the
// value is what follows the last one.
//
// A list that is not valid as it stands but is once '+' is read as a
// space is accepted that way: apps configured with a pre-encoded scope
// string such as seed 003's 'openid+offline_access' send it through a
// form encoder (axios, URLSearchParams), which turns the '+' into %2B, so
// it arrives literally. No scope value contains '+' (exposed names cannot),
// and any list that was valid before is read exactly as before.
func (p *Provider) parseScope(ctx context.Context, tenantID, raw string) (scopeRequest, *Error) {
	req, e := p.parseScopeItems(ctx, tenantID, strings.Fields(raw))
	if e != nil && e.Code == ErrInvalidScope && strings.Contains(raw, "+") {
		plus := strings.FieldsFunc(raw, func(r rune) bool { return r == '+' || unicode.IsSpace(r) })
		if alt, altErr := p.parseScopeItems(ctx, tenantID, plus); altErr == nil {
			return alt, nil
		}
	}
	return req, e
}

func (p *Provider) parseScopeItems(ctx context.Context, tenantID string, items []string) (scopeRequest, *Error) {
	req := scopeRequest{oidc: map[string]bool{}}
	if len(items) > maxScopeItems {
		return req, invalidScope("The request names more than %d scopes.", maxScopeItems)
	}
	for _, item := range items {
		if lower := strings.ToLower(item); isOIDCScope(lower) {
			req.oidc[lower] = true
			continue
		}
		slash := strings.LastIndexByte(item, '/')
		if slash <= 0 || slash == len(item)-1 {
			return req, invalidScope("The scope '%s' is not valid. Name a resource's scope as '{resource}/{scope}' (for example '{client_id}/.default'), or one of: openid profile email offline_access.", truncate(item, 200))
		}
		prefix, value := item[:slash], item[slash+1:]
		if req.resource == nil {
			app, err := p.store.GetAppByIdentifier(ctx, tenantID, prefix)
			if errors.Is(err, store.ErrNotFound) {
				return req, &Error{Code: ErrInvalidScope, Status: 400, Number: CodeResourceNotFound,
					Description: "The resource '" + truncate(prefix, 200) + "' named in the scope is not registered in this tenant."}
			}
			if err != nil {
				return req, ServerError(err)
			}
			req.resource, req.prefix = &app, prefix
		} else if prefix != req.prefix && prefix != req.resource.ClientID && prefix != req.resource.IdentifierURI {
			return req, invalidScope("The scopes name more than one resource ('%s' and '%s'); request tokens for one resource at a time.", truncate(req.prefix, 200), truncate(prefix, 200))
		}
		if value == defaultScope {
			req.isDefault = true
			continue
		}
		if !slices.Contains(req.resource.Scopes, value) {
			return req, invalidScope("The resource '%s' does not expose the scope '%s'.", truncate(prefix, 200), truncate(value, 200))
		}
		if !slices.Contains(req.values, value) {
			req.values = append(req.values, value)
		}
	}
	if req.isDefault && len(req.values) > 0 {
		return req, invalidScope("'%s/.default' cannot be combined with other scopes of the same resource.", truncate(req.prefix, 200))
	}
	return req, nil
}

// configuredScopes are the delegated scopes the client is configured to
// need on resource: everything it exposes when it is its own resource
// (so "{client_id}/.default" works without setup), else its permissions.
func configuredScopes(client, resource store.App) []string {
	if client.ClientID == resource.ClientID {
		return slices.Clone(resource.Scopes)
	}
	var out []string
	for _, perm := range client.Permissions {
		if perm.ResourceID == resource.ClientID && perm.Kind == store.KindScope && slices.Contains(resource.Scopes, perm.Value) {
			out = append(out, perm.Value)
		}
	}
	return out
}

// notListed refuses a token for a resource the client has no permission
// configured on, as Entra does (AADSTS650057): "{resource}/.default" means
// "what this client is configured to need there", and a client configured
// to need nothing would get a token with the resource's audience and no
// scp or roles, which a resource that checks only the audience accepts.
// kind names what is missing: "delegated permission (scope)" or
// "application permission (app role)".
func notListed(client store.App, prefix, kind string) *Error {
	return newError(ErrInvalidScope, http.StatusBadRequest, CodeResourceNotListed,
		"Invalid resource. The application '%s' asked for '%s', but no %s on it is configured for the application. Add one (tessera app permission add), or ask for a scope by name.",
		client.ClientID, truncate(prefix, 200)+"/"+defaultScope, kind)
}

const (
	kindDelegated   = "delegated permission (scope)"
	kindApplication = "application permission (app role)"
)

// consentSet is what a user (and the tenant admin, for everyone) granted
// one client.
type consentSet struct {
	oidc   map[string]bool
	scopes map[string]map[string]bool // resource id -> scope values
	roles  map[string]map[string]bool // resource id -> roles (tenant-wide only)
}

func (c consentSet) hasScope(resourceID, value string) bool { return c.scopes[resourceID][value] }

func (c consentSet) addScope(resourceID, value string) {
	if c.scopes[resourceID] == nil {
		c.scopes[resourceID] = map[string]bool{}
	}
	c.scopes[resourceID][value] = true
}

// loadConsents reads what the principal and the tenant admin granted the
// client. A user's own consent to a scope that only an admin may consent
// to (its resource says so now, whatever it said when the user
// consented) does not count: only the tenant-wide grant does. Every path
// that honours consent (the consent page, refresh, on-behalf-of, a token's
// check at userinfo) reads it here, so none can let a user's consent
// stand in for an admin's.
func (p *Provider) loadConsents(ctx context.Context, tenantID, clientID, principalID string) (consentSet, error) {
	rows, err := p.store.ListConsents(ctx, tenantID, clientID, principalID)
	if err != nil {
		return consentSet{}, err
	}
	set := consentSet{oidc: map[string]bool{}, scopes: map[string]map[string]bool{}, roles: map[string]map[string]bool{}}
	var own []store.Consent // the principal's own resource scope consents
	for _, c := range rows {
		switch {
		case c.Kind == store.KindScope && c.ResourceID == "":
			set.oidc[c.Value] = true
		case c.Kind == store.KindScope && c.PrincipalID != "":
			own = append(own, c)
		case c.Kind == store.KindScope:
			set.addScope(c.ResourceID, c.Value)
		case c.Kind == store.KindRole && c.PrincipalID == "":
			if set.roles[c.ResourceID] == nil {
				set.roles[c.ResourceID] = map[string]bool{}
			}
			set.roles[c.ResourceID][c.Value] = true
		}
	}
	resources := map[string]store.App{}
	for _, c := range own {
		if set.hasScope(c.ResourceID, c.Value) {
			continue // granted tenant-wide as well
		}
		res, ok := resources[c.ResourceID]
		if !ok {
			res, err = p.store.GetApp(ctx, tenantID, c.ResourceID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return consentSet{}, err
			}
			resources[c.ResourceID] = res
		}
		if !res.ScopeDetails[c.Value].AdminOnly() {
			set.addScope(c.ResourceID, c.Value)
		}
	}
	return set, nil
}

// adminOnly lists the scopes of missing that only an admin may consent
// to: the user cannot grant them on the consent page. missing holds the
// permissions of one grant, so of one resource at most.
func (p *Provider) adminOnly(ctx context.Context, ep Endpoint, missing []store.Permission) ([]string, error) {
	var out []string
	var res *store.App
	for _, m := range missing {
		if m.ResourceID == "" || m.Kind != store.KindScope {
			continue
		}
		if res == nil || res.ClientID != m.ResourceID {
			app, err := p.store.GetApp(ctx, ep.Tenant.ID, m.ResourceID)
			if err != nil {
				return nil, err
			}
			res = &app
		}
		if res.ScopeDetails[m.Value].AdminOnly() {
			out = append(out, m.Value)
		}
	}
	return out, nil
}

// needsAdminConsent is the error for a request that asks for a scope only
// an admin may consent to, which no admin granted the client: the user
// could not have consented, whatever they answered.
func needsAdminConsent(code string) *Error {
	return newError(code, http.StatusBadRequest, CodeAdminConsentRequired,
		"The application needs permission to access resources that only an administrator can grant. An administrator must grant consent to the application for the tenant before it can be used.")
}

// scopeString renders a grant as a scope parameter value: resource scopes
// prefixed the way the client named the resource, then OIDC scopes.
func scopeString(prefix string, g store.Grant) string {
	var parts []string
	for _, v := range g.Scopes {
		parts = append(parts, prefix+"/"+v)
	}
	if g.ResourceID != "" && len(g.Scopes) == 0 {
		parts = append(parts, prefix+"/"+defaultScope)
	}
	parts = append(parts, g.OIDCScopes...)
	return strings.Join(parts, " ")
}

// resourceName is how a response names the grant's resource: as the client
// named it when it asked for the grant, else by its identifier URI. A
// code's response, every refresh after it and introspection then name it
// alike, and a client's token cache (keyed on the scope string) finds what
// it stored.
func resourceName(g store.Grant, resource *store.App) string {
	if g.ResourceName != "" {
		return g.ResourceName
	}
	if resource == nil {
		return g.ResourceID
	}
	return resourcePrefix(*resource)
}

// resourcePrefix is how a resource is named in responses when the request
// did not name it: by its identifier URI.
func resourcePrefix(resource store.App) string {
	if resource.IdentifierURI != "" {
		return resource.IdentifierURI
	}
	return resource.ClientID
}
