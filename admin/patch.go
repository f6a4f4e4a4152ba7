package admin

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/redirecturi"
	"github.com/tessera-id/tessera/store"
)

// Limits on what one app registration lists, so that no request can make
// an app that every token request then has to wade through.
const (
	maxRedirectURIs = 256
	maxExposed      = 200 // scopes, and roles
	maxPermissions  = 400
)

// AppPatch replaces the fields it sets on an app registration; nil leaves
// a field as it is. Every field is checked before anything is written,
// and the change is one write with one audit entry.
type AppPatch struct {
	Name *string
	// RedirectURIs are the app's own kind's: Web for a confidential app,
	// Mobile and desktop for a public one (see store.App).
	RedirectURIs           *[]string
	SPARedirectURIs        *[]string
	NativeRedirectURIs     *[]string // a confidential app's Mobile and desktop ones
	PostLogoutRedirectURIs *[]string
	// FrontChannelLogoutURI is where the app clears its session when the
	// user signs out (OpenID Connect Front-Channel Logout 1.0); "" removes
	// it.
	FrontChannelLogoutURI *string
	// IdentifierURI is the App ID URI; "" removes it.
	IdentifierURI *string
	Scopes        *[]string
	// ScopeDetails replaces what the app says of its scopes, keyed by
	// scope value; each key must be one of the scopes the app exposes
	// once the patch is applied. Without it, the scopes that remain keep
	// theirs, and removed scopes lose them.
	ScopeDetails *map[string]store.ScopeDetail
	Roles        *[]string
	// Permissions name their resource by client id or App ID URI.
	Permissions              *[]store.Permission
	AccessTokenLifetime      *time.Duration // 0 is the server's default
	RefreshTokenLifetime     *time.Duration
	RefreshTokenIdleLifetime *time.Duration
	AllowPlainPKCE           *bool
	LogoutKeepsRefreshTokens *bool
	// AllowPublicClientFlows is a confidential app's; a public app's
	// flows are all public already.
	AllowPublicClientFlows *bool
	// AppRoleAssignmentRequired lets only users assigned to the app (in
	// person or through a group) sign in to it.
	AppRoleAssignmentRequired *bool
	// GroupMembershipClaims is "None", "SecurityGroup" or "All" (any case).
	GroupMembershipClaims *string
}

// PatchApp changes an app registration.
func (a *Admin) PatchApp(ctx context.Context, app store.App, p AppPatch) (store.App, error) {
	if err := a.mayChangeApp(app); err != nil {
		return store.App{}, err
	}
	old := app
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if err := validName("app name", name); err != nil {
			return store.App{}, err
		}
		app.Name = name
	}
	var err error
	if p.RedirectURIs != nil {
		if app.RedirectURIs, err = redirectList("redirect URIs", *p.RedirectURIs, app.Public); err != nil {
			return store.App{}, err
		}
	}
	if p.SPARedirectURIs != nil {
		// A browser app's address: https, or http on the loopback.
		if app.SPARedirectURIs, err = redirectList("single-page application redirect URIs", *p.SPARedirectURIs, false); err != nil {
			return store.App{}, err
		}
	}
	if p.NativeRedirectURIs != nil {
		if app.Public && len(*p.NativeRedirectURIs) > 0 {
			return store.App{}, invalid("a public app's mobile and desktop redirect URIs are its redirect URIs")
		}
		if app.NativeRedirectURIs, err = redirectList("mobile and desktop redirect URIs", *p.NativeRedirectURIs, true); err != nil {
			return store.App{}, err
		}
	}
	if err := distinctPlatforms(app); err != nil {
		return store.App{}, err
	}
	if p.PostLogoutRedirectURIs != nil {
		if app.PostLogoutRedirectURIs, err = redirectList("post-logout redirect URIs", *p.PostLogoutRedirectURIs, app.Public); err != nil {
			return store.App{}, err
		}
	}
	if p.FrontChannelLogoutURI != nil {
		uri := strings.TrimSpace(*p.FrontChannelLogoutURI)
		if uri != "" {
			if err := validFrontChannelLogoutURI(uri); err != nil {
				return store.App{}, err
			}
		}
		app.FrontChannelLogoutURI = uri
	}
	if p.IdentifierURI != nil {
		uri := strings.TrimSpace(*p.IdentifierURI)
		if uri != "" {
			if err := validAppIDURI(uri); err != nil {
				return store.App{}, err
			}
		}
		app.IdentifierURI = uri
	}
	if p.Scopes != nil || p.ScopeDetails != nil {
		scopes := app.Scopes
		if p.Scopes != nil {
			scopes = *p.Scopes
		}
		if app.Scopes, app.ScopeDetails, err = exposedScopes(scopes, p.ScopeDetails, app.ScopeDetails); err != nil {
			return store.App{}, err
		}
	}
	if p.Roles != nil {
		if app.Roles, err = exposedList("role", *p.Roles); err != nil {
			return store.App{}, err
		}
	}
	if p.Permissions != nil {
		if app.Permissions, err = a.permissionList(ctx, app, *p.Permissions); err != nil {
			return store.App{}, err
		}
	}
	for _, l := range []struct {
		what   string
		v      *time.Duration
		lo, hi time.Duration
		dst    *time.Duration
	}{
		{"access token lifetime", p.AccessTokenLifetime, minAccessLifetime, maxAccessLifetime, &app.AccessTokenLifetime},
		{"refresh token lifetime", p.RefreshTokenLifetime, minRefreshLifetime, maxRefreshLifetime, &app.RefreshTokenLifetime},
		{"refresh token idle lifetime", p.RefreshTokenIdleLifetime, minRefreshLifetime, maxRefreshLifetime, &app.RefreshTokenIdleLifetime},
	} {
		if l.v == nil {
			continue
		}
		if *l.v != 0 && (*l.v < l.lo || *l.v > l.hi) {
			return store.App{}, invalid("%s %s: must be between %s and %s (or 0 for the server's default)", l.what, *l.v, l.lo, l.hi)
		}
		*l.dst = *l.v
	}
	if p.AllowPlainPKCE != nil {
		app.AllowPlainPKCE = *p.AllowPlainPKCE
	}
	if p.AllowPublicClientFlows != nil {
		if app.Public && !*p.AllowPublicClientFlows {
			return store.App{}, invalid("%s is a public client: every flow it uses is a public client's", app.Name)
		}
		app.AllowPublicClientFlows = *p.AllowPublicClientFlows && !app.Public
	}
	if p.LogoutKeepsRefreshTokens != nil {
		app.LogoutKeepsRefreshTokens = *p.LogoutKeepsRefreshTokens
	}
	if p.AppRoleAssignmentRequired != nil {
		app.AppRoleAssignmentRequired = *p.AppRoleAssignmentRequired
	}
	if p.GroupMembershipClaims != nil {
		if app.GroupMembershipClaims, err = ParseGroupClaims(*p.GroupMembershipClaims); err != nil {
			return store.App{}, err
		}
	}
	return a.update(ctx, old, app)
}

// ParseGroupClaims reads a groups claim choice under Graph's names, in any
// case; "" is None, stored as "".
func ParseGroupClaims(s string) (store.GroupClaims, error) {
	for _, g := range []store.GroupClaims{store.GroupsNone, store.GroupsSecurity, store.GroupsAll} {
		if strings.EqualFold(strings.TrimSpace(s), string(g)) {
			if g == store.GroupsNone {
				return "", nil
			}
			return g, nil
		}
	}
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return "", invalid("groupMembershipClaims %q: use None, SecurityGroup or All", s)
}

// redirectList checks and de-duplicates a list of redirect URIs.
func redirectList(what string, uris []string, public bool) ([]string, error) {
	if len(uris) > maxRedirectURIs {
		return nil, invalid("%d %s: at most %d", len(uris), what, maxRedirectURIs)
	}
	var out []string
	for _, u := range uris {
		u = strings.TrimSpace(u)
		if err := validRedirectURI(u, public); err != nil {
			return nil, err
		}
		out = uniqueAppend(out, u)
	}
	return out, nil
}

// distinctPlatforms refuses a redirect URI registered under two
// platforms, whose codes would then be redeemed two ways, and more URIs in
// all than one app may list.
func distinctPlatforms(app store.App) error {
	all := app.AllRedirectURIs()
	if len(all) > maxRedirectURIs {
		return invalid("%d redirect URIs in all: at most %d", len(all), maxRedirectURIs)
	}
	seen := map[string]bool{}
	for _, u := range all {
		if seen[u] {
			return invalid("the redirect URI %s is registered under another platform of this app already; remove it there first", u)
		}
		seen[u] = true
	}
	return nil
}

// validFrontChannelLogoutURI checks a front-channel logout URI by the
// rules of a confidential app's redirect URI: https, or http on loopback
// only, with no fragment or user information and a bounded length. The
// sign-out page loads it in an iframe it allows in its
// Content-Security-Policy, so a script (javascript:), data or file URI,
// or plain http across the network, must never get there. The spec's
// "same scheme, host and port as a redirect URI" is not required, as
// Entra does not require it.
func validFrontChannelLogoutURI(uri string) error {
	if err := redirecturi.Validate(uri, false); err != nil {
		return invalid("front-channel logout URL: %s", strings.Replace(err.Error(), "redirect URI", "URL", 1))
	}
	// The page's frame-src names the host as it is, and a CSP source
	// holds no IPv6 literal nor the punctuation a URL's host may.
	u, _ := url.Parse(uri)
	if strings.Trim(u.Hostname(), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
		return invalid("front-channel logout URL %q: the host must be a DNS name or an IPv4 address, such as localhost or 127.0.0.1", uri)
	}
	return nil
}

// validAppIDURI checks an Application ID URI.
func validAppIDURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Fragment != "" || u.RawQuery != "" || strings.HasSuffix(uri, "/") || len(uri) > 400 || invisibleIn(uri) {
		return invalid("App ID URI %q: use an absolute URI without query, fragment or trailing '/', such as api://my-api", uri)
	}
	if uri == AdminAPIIdentifier || uri == PortalIdentifier || uri == CLIIdentifier {
		return invalid("the App ID URI %s is reserved for Tessera's own apps", uri)
	}
	return nil
}

// validExposedName checks the name of a delegated scope or app role.
func validExposedName(kind, name string) error {
	if !scopeNamePattern.MatchString(name) {
		return invalid("%s name %q: use letters, digits and . _ : - (at most 120)", kind, name)
	}
	if reservedScopeName(name) {
		return invalid("%s name %q is reserved for OpenID Connect (openid, profile, email, offline_access); choose another name", kind, name)
	}
	return nil
}

func exposedList(kind string, names []string) ([]string, error) {
	if len(names) > maxExposed {
		return nil, invalid("%d %ss: at most %d", len(names), kind, maxExposed)
	}
	var out []string
	for _, n := range names {
		if err := validExposedName(kind, n); err != nil {
			return nil, err
		}
		out = uniqueAppend(out, n)
	}
	return out, nil
}

// permissionList resolves each permission's resource (by client id or
// App ID URI, in client's tenant) and checks that it exposes the scope or
// defines the role.
func (a *Admin) permissionList(ctx context.Context, client store.App, perms []store.Permission) ([]store.Permission, error) {
	if len(perms) > maxPermissions {
		return nil, invalid("%d permissions: at most %d", len(perms), maxPermissions)
	}
	resources := map[string]store.App{}
	var out []store.Permission
	for _, p := range perms {
		res, ok := resources[p.ResourceID]
		if !ok {
			var err error
			if res, err = a.App(ctx, store.Tenant{ID: client.TenantID, Name: client.TenantID}, p.ResourceID); err != nil {
				return nil, err
			}
			resources[p.ResourceID] = res
		}
		switch p.Kind {
		case store.KindScope:
			if !slices.Contains(res.Scopes, p.Value) {
				return nil, invalid("app %s does not expose the scope %q", res.ClientID, p.Value)
			}
		case store.KindRole:
			if !slices.Contains(res.Roles, p.Value) {
				return nil, invalid("app %s does not define the app role %q", res.ClientID, p.Value)
			}
		default:
			return nil, invalid("permission kind %q: use scope or role", p.Kind)
		}
		p.ResourceID = res.ClientID
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// UserPatch changes the fields it sets on a user; nil leaves a field.
type UserPatch struct {
	Email    *string
	Name     *string
	Enabled  *bool
	Password *string
}

// PatchUser changes a user in one write with one audit entry. Disabling
// also revokes every refresh token of the user at once, rather than at
// its next use. A password goes under the same rule as a new user's, and
// the audit entry says only that it changed.
func (a *Admin) PatchUser(ctx context.Context, u store.User, p UserPatch) (store.User, error) {
	// Permission first: a refused caller costs no password hash.
	if err := a.mayChangeUser(ctx, u); err != nil {
		return store.User{}, err
	}
	if p.Enabled != nil && !*p.Enabled {
		if err := a.keepOneGlobalAdministrator(ctx, u); err != nil {
			return store.User{}, err
		}
	}
	old := u
	var c changes
	if p.Email != nil {
		email, err := validEmail(*p.Email)
		if err != nil {
			return store.User{}, err
		}
		u.Email = email
		c.text("mail", old.Email, u.Email)
	}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if name != "" {
			if err := validName("name", name); err != nil {
				return store.User{}, err
			}
		}
		u.Name = name
		c.text("displayName", old.Name, u.Name)
	}
	if p.Enabled != nil {
		u.Disabled = !*p.Enabled
		c.flag("accountEnabled", !old.Disabled, !u.Disabled)
	}
	if p.Password != nil {
		if err := checkPassword(*p.Password, u.Username); err != nil {
			return store.User{}, err
		}
		hash, err := password.Hash(*p.Password, a.pwParams)
		if err != nil {
			return store.User{}, fmt.Errorf("set password: %w", err)
		}
		u.PasswordHash = hash
	}
	activity := "Update user"
	switch {
	case p.Password != nil && p.Email == nil && p.Name == nil && p.Enabled == nil:
		activity = "Reset user password"
	case p.Enabled != nil && p.Email == nil && p.Name == nil && p.Password == nil && *p.Enabled:
		activity = "Enable account"
	case p.Enabled != nil && p.Email == nil && p.Name == nil && p.Password == nil:
		activity = "Disable account"
	}
	if p.Password != nil && activity == "Update user" {
		c = append(c, store.AuditChange{Property: "passwordProfile", New: "(changed)"})
	}
	disabling := p.Enabled != nil && !*p.Enabled
	return a.updateUser(ctx, old, u, a.entry(catUser, activity, userTarget(u), c), func(ctx context.Context) error {
		if !disabling {
			return nil
		}
		if err := a.store.RevokeUserRefreshFamilies(ctx, u.TenantID, u.ID, "", a.now()); err != nil {
			return fmt.Errorf("revoke user tokens: %w", err)
		}
		return nil
	})
}
