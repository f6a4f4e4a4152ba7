package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// RegisterOptions describe a new app registration.
type RegisterOptions struct {
	Name   string
	Public bool
	// RedirectURIs are on the app's own platform (PrimaryPlatform); a
	// confidential app may have single-page and mobile ones besides, a
	// public app single-page ones.
	RedirectURIs       []string
	SPARedirectURIs    []string
	NativeRedirectURIs []string
	// Scopes are delegated scopes the app exposes from the start, and
	// ScopeDetails what it says of them, keyed by scope value (as
	// AppPatch.ScopeDetails).
	Scopes       []string
	ScopeDetails map[string]store.ScopeDetail
}

// RegisterApp registers an app. Its App ID URI is api://{client_id}, as
// in the portal.
func (a *Admin) RegisterApp(ctx context.Context, t store.Tenant, o RegisterOptions) (store.App, error) {
	if err := a.may(PermApplicationReadWrite); err != nil {
		return store.App{}, err
	}
	o.Name = strings.TrimSpace(o.Name)
	if err := validName("app name", o.Name); err != nil {
		return store.App{}, err
	}
	var uris []string
	for _, u := range o.RedirectURIs {
		u = strings.TrimSpace(u)
		if err := validRedirectURI(u, o.Public); err != nil {
			return store.App{}, err
		}
		uris = uniqueAppend(uris, u)
	}
	scopes, details, err := exposedScopes(o.Scopes, &o.ScopeDetails, nil)
	if err != nil {
		return store.App{}, err
	}
	now := a.now()
	app := store.App{
		TenantID: t.ID, ClientID: ids.New(), Name: o.Name, Public: o.Public, RedirectURIs: uris,
		Scopes: scopes, ScopeDetails: details, ServicePrincipalID: ids.New(), CreatedAt: now, UpdatedAt: now,
	}
	if app.SPARedirectURIs, err = redirectList("single-page application redirect URIs", o.SPARedirectURIs, false); err != nil {
		return store.App{}, err
	}
	if o.Public && len(o.NativeRedirectURIs) > 0 {
		return store.App{}, invalid("a public app's mobile and desktop redirect URIs are its redirect URIs")
	}
	if app.NativeRedirectURIs, err = redirectList("mobile and desktop redirect URIs", o.NativeRedirectURIs, true); err != nil {
		return store.App{}, err
	}
	if err := distinctPlatforms(app); err != nil {
		return store.App{}, err
	}
	app.IdentifierURI = "api://" + app.ClientID
	c := changes(appChanges(store.App{}, app))
	c.flag("isFallbackPublicClient", false, app.Public)
	e := a.entry(catApplication, "Add application", appTarget(app), c)
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.CreateApp(ctx, app) }); err != nil {
		return store.App{}, fmt.Errorf("register app: %w", err)
	}
	return app, nil
}

// App finds an app by client id or identifier URI.
func (a *Admin) App(ctx context.Context, t store.Tenant, idOrURI string) (store.App, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead); err != nil {
		return store.App{}, err
	}
	app, err := a.store.GetAppByIdentifier(ctx, t.ID, strings.TrimSpace(idOrURI))
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, notFound("no app %q in tenant %s", idOrURI, t.Name)
	}
	return app, err
}

// FindApp finds an app by client id or identifier URI in whichever tenant
// holds it, for commands given no tenant. Client ids are unique across
// tenants; an identifier URI such as api://files may be registered in
// several, and then the tenant must be named.
func (a *Admin) FindApp(ctx context.Context, idOrURI string) (store.App, error) {
	if err := a.mayOperate(); err != nil {
		return store.App{}, err
	}
	idOrURI = strings.TrimSpace(idOrURI)
	tenants, err := a.store.ListTenants(ctx)
	if err != nil {
		return store.App{}, fmt.Errorf("find app: %w", err)
	}
	var found []store.App
	var names []string
	for _, t := range tenants {
		app, err := a.store.GetAppByIdentifier(ctx, t.ID, idOrURI)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.App{}, fmt.Errorf("find app: %w", err)
		}
		found = append(found, app)
		names = append(names, t.Name)
	}
	switch len(found) {
	case 0:
		return store.App{}, notFound("no app %q in any tenant", idOrURI)
	case 1:
		return found[0], nil
	}
	return store.App{}, invalid("app %q is registered in several tenants (%s): name one with --tenant", idOrURI, strings.Join(names, ", "))
}

// Apps lists a tenant's apps.
func (a *Admin) Apps(ctx context.Context, t store.Tenant) ([]store.App, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead); err != nil {
		return nil, err
	}
	return a.store.ListApps(ctx, t.ID)
}

// update stores app, a changed copy of old, with the audit entry of what
// changed.
func (a *Admin) update(ctx context.Context, old, app store.App) (store.App, error) {
	if err := a.may(PermApplicationReadWrite); err != nil {
		return store.App{}, err
	}
	if err := refuseBuiltIn(old); err != nil {
		return store.App{}, err
	}
	if IsBuiltIn(app) {
		return store.App{}, invalid("the App ID URI %s is reserved for Tessera's own apps", app.IdentifierURI)
	}
	return a.writeApp(ctx, old, app)
}

// writeApp is update without the checks, for the built-in apps.
func (a *Admin) writeApp(ctx context.Context, old, app store.App) (store.App, error) {
	app.UpdatedAt = nextUpdate(a.now(), old.UpdatedAt)
	e := a.entry(catApplication, "Update application", appTarget(app), appChanges(old, app))
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.UpdateAppIf(ctx, app, old.UpdatedAt) })
	switch {
	case errors.Is(err, store.ErrNotLive):
		return store.App{}, stale("app " + app.ClientID)
	case errors.Is(err, store.ErrNotFound):
		return store.App{}, notFound("no app %q: it was deleted", app.ClientID)
	}
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.App{}, invalid("the App ID URI %q is already used by another app", app.IdentifierURI)
		}
		return store.App{}, fmt.Errorf("update app: %w", err)
	}
	return app, nil
}

// Platform is where an app runs, as the Entra portal's Authentication
// page names it: it decides how a code sent to a redirect URI is redeemed.
type Platform string

const (
	// PlatformWeb is a server that keeps a secret: its codes are redeemed
	// with the app's credentials.
	PlatformWeb Platform = "web"
	// PlatformSPA is a browser app: its codes are redeemed without a
	// secret, with PKCE.
	PlatformSPA Platform = "spa"
	// PlatformMobile is a mobile, desktop or command-line app: as a SPA,
	// and its http loopback redirect URIs take any port.
	PlatformMobile Platform = "mobile"
)

// ParsePlatform reads a platform's name.
func ParsePlatform(name string) (Platform, error) {
	switch p := Platform(strings.ToLower(strings.TrimSpace(name))); p {
	case PlatformWeb, PlatformSPA, PlatformMobile:
		return p, nil
	}
	return "", invalid("platform %q: use web, spa or mobile", name)
}

// PrimaryPlatform is the platform of an app's own kind, where its
// RedirectURIs are: Web for a confidential app, Mobile and desktop for a
// public one.
func PrimaryPlatform(app store.App) Platform {
	if app.Public {
		return PlatformMobile
	}
	return PlatformWeb
}

// PlatformRedirectURIs are the redirect URIs of one platform of app.
func PlatformRedirectURIs(app store.App, p Platform) []string {
	switch p {
	case PlatformSPA:
		return app.SPARedirectURIs
	case PlatformMobile:
		return app.MobileRedirectURIs()
	}
	return app.WebRedirectURIs()
}

// AddRedirectURIs registers more redirect URIs on the app's own platform.
func (a *Admin) AddRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error) {
	return a.AddPlatformRedirectURIs(ctx, app, PrimaryPlatform(app), uris)
}

// AddPlatformRedirectURIs registers more redirect URIs on a platform. A
// public app has no Web platform: a code sent there would need a secret
// it cannot keep.
func (a *Admin) AddPlatformRedirectURIs(ctx context.Context, app store.App, platform Platform, uris []string) (store.App, error) {
	if platform == PlatformWeb && app.Public {
		return store.App{}, invalid("%s is a public client: it has no Web platform (whose codes need a client secret); use spa or mobile", app.Name)
	}
	all := append(slices.Clone(PlatformRedirectURIs(app, platform)), uris...)
	switch {
	case platform == PlatformSPA:
		return a.PatchApp(ctx, app, AppPatch{SPARedirectURIs: &all})
	case platform == PlatformMobile && !app.Public:
		return a.PatchApp(ctx, app, AppPatch{NativeRedirectURIs: &all})
	}
	return a.PatchApp(ctx, app, AppPatch{RedirectURIs: &all})
}

// Expose makes app a resource: sets its App ID URI (when given) and adds
// delegated scopes and app roles.
func (a *Admin) Expose(ctx context.Context, app store.App, appIDURI string, scopes, roles []string) (store.App, error) {
	p := AppPatch{}
	if strings.TrimSpace(appIDURI) != "" {
		p.IdentifierURI = &appIDURI
	}
	allScopes := append(slices.Clone(app.Scopes), scopes...)
	allRoles := append(slices.Clone(app.Roles), roles...)
	p.Scopes, p.Roles = &allScopes, &allRoles
	return a.PatchApp(ctx, app, p)
}

// oidcScopes are the OpenID Connect scopes, which every admin consent
// grants.
func oidcScopes() []string { return []string{"openid", "profile", "email", "offline_access"} }

// reservedScopeName reports whether name is one of the OpenID Connect
// scopes, in any case: a resource scope of that name would reach the token
// as scp "openid", which userinfo and clients read as the sign-in scope.
func reservedScopeName(name string) bool {
	switch strings.ToLower(name) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// permissionResource finds the resource app of a change to client's
// permissions, which must name at least one scope or role.
func (a *Admin) permissionResource(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error) {
	if len(scopes) == 0 && len(roles) == 0 {
		return store.App{}, invalid("name at least one --scope or --role")
	}
	return a.App(ctx, store.Tenant{ID: client.TenantID, Name: client.TenantID}, resourceIDOrURI)
}

// AddPermission records that client needs scopes or roles of resource.
func (a *Admin) AddPermission(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error) {
	resource, err := a.permissionResource(ctx, client, resourceIDOrURI, scopes, roles)
	if err != nil {
		return store.App{}, err
	}
	old := client
	client.Permissions = slices.Clone(client.Permissions)
	for _, s := range scopes {
		if !slices.Contains(resource.Scopes, s) {
			return store.App{}, invalid("app %s does not expose the scope %q (it exposes: %s)", resource.ClientID, s, strings.Join(resource.Scopes, " "))
		}
		p := store.Permission{ResourceID: resource.ClientID, Kind: store.KindScope, Value: s}
		if !slices.Contains(client.Permissions, p) {
			client.Permissions = append(client.Permissions, p)
		}
	}
	for _, r := range roles {
		if !slices.Contains(resource.Roles, r) {
			return store.App{}, invalid("app %s does not define the app role %q (it defines: %s)", resource.ClientID, r, strings.Join(resource.Roles, " "))
		}
		p := store.Permission{ResourceID: resource.ClientID, Kind: store.KindRole, Value: r}
		if !slices.Contains(client.Permissions, p) {
			client.Permissions = append(client.Permissions, p)
		}
	}
	return a.update(ctx, old, client)
}

// AppSettings are the optional settings of `app set`; nil leaves a field.
type AppSettings struct {
	Name                     *string
	AccessTokenLifetime      *time.Duration
	RefreshTokenLifetime     *time.Duration
	RefreshTokenIdleLifetime *time.Duration
	AllowPlainPKCE           *bool
	LogoutKeepsRefreshTokens *bool
	// AllowPublicClientFlows lets a confidential app use the device code
	// flow without its credentials.
	AllowPublicClientFlows *bool
	// PostLogoutRedirectURIs are added to the registered ones.
	PostLogoutRedirectURIs []string
	// FrontChannelLogoutURI replaces the app's; "" removes it.
	FrontChannelLogoutURI *string
	// AppRoleAssignmentRequired and GroupMembershipClaims are AppPatch's.
	AppRoleAssignmentRequired *bool
	GroupMembershipClaims     *string
}

// Empty reports whether s changes nothing.
func (s AppSettings) Empty() bool {
	return s.Name == nil && s.AccessTokenLifetime == nil && s.RefreshTokenLifetime == nil && s.RefreshTokenIdleLifetime == nil &&
		s.AllowPlainPKCE == nil && s.LogoutKeepsRefreshTokens == nil && s.AllowPublicClientFlows == nil &&
		len(s.PostLogoutRedirectURIs) == 0 && s.FrontChannelLogoutURI == nil &&
		s.AppRoleAssignmentRequired == nil && s.GroupMembershipClaims == nil
}

// Limits keep lifetimes within what is safe to hand out.
//
// The shortest access token lifetime is 5 minutes, not Entra's 10, on
// purpose. MSAL refreshes a token 5 minutes before it expires, so an app
// set to 5 minutes has every silent call refresh (see RefreshesEveryCall):
// costly for a production app, but it breaks nothing, since every refresh
// succeeds, and it is the one setting that makes a client exercise its
// refresh path on each call, which the interop suites and the CLI tests
// rely on (`tessera app set --access-token-lifetime 5m`). The CLI warns
// when it is set.
const (
	minAccessLifetime  = 5 * time.Minute
	maxAccessLifetime  = 24 * time.Hour
	minRefreshLifetime = time.Hour
	maxRefreshLifetime = 365 * 24 * time.Hour
)

// MSALRenewalWindow is how long before an access token expires MSAL
// already treats it as expired and refreshes it (MSAL Node's
// tokenRenewalOffsetSeconds; MSAL Go's fixed 5 minutes).
const MSALRenewalWindow = 5 * time.Minute

// RefreshesEveryCall reports whether MSAL would refresh an access token of
// lifetime d at once, instead of serving it from its cache for a while:
// lifetimes up to twice the renewal window are mostly spent refreshing.
func RefreshesEveryCall(d time.Duration) bool { return d > 0 && d < 2*MSALRenewalWindow }

// Set changes an app's settings (see PatchApp); post-logout redirect URIs
// are added to the registered ones.
func (a *Admin) Set(ctx context.Context, app store.App, s AppSettings) (store.App, error) {
	for _, d := range []*time.Duration{s.AccessTokenLifetime, s.RefreshTokenLifetime, s.RefreshTokenIdleLifetime} {
		if d != nil && *d == 0 {
			return store.App{}, invalid("a lifetime of 0: give a duration such as 1h or 90d")
		}
	}
	p := AppPatch{Name: s.Name, AccessTokenLifetime: s.AccessTokenLifetime, RefreshTokenLifetime: s.RefreshTokenLifetime,
		RefreshTokenIdleLifetime: s.RefreshTokenIdleLifetime, AllowPlainPKCE: s.AllowPlainPKCE, LogoutKeepsRefreshTokens: s.LogoutKeepsRefreshTokens,
		AllowPublicClientFlows: s.AllowPublicClientFlows,
		FrontChannelLogoutURI:  s.FrontChannelLogoutURI, AppRoleAssignmentRequired: s.AppRoleAssignmentRequired,
		GroupMembershipClaims: s.GroupMembershipClaims}
	if len(s.PostLogoutRedirectURIs) > 0 {
		all := append(slices.Clone(app.PostLogoutRedirectURIs), s.PostLogoutRedirectURIs...)
		p.PostLogoutRedirectURIs = &all
	}
	return a.PatchApp(ctx, app, p)
}

// AddSecret creates a client secret and returns its value, which is never
// stored and cannot be shown again.
func (a *Admin) AddSecret(ctx context.Context, app store.App, description string, expires time.Time) (string, store.ClientSecret, error) {
	if err := a.mayChangeApp(app); err != nil {
		return "", store.ClientSecret{}, err
	}
	if app.Public {
		return "", store.ClientSecret{}, invalid("app %s is public: public clients cannot hold secrets", app.ClientID)
	}
	description = strings.TrimSpace(description)
	if len(description) > 120 {
		return "", store.ClientSecret{}, invalid("description longer than 120 characters")
	}
	value := token.NewOpaque()
	s := store.ClientSecret{
		ID: ids.New(), TenantID: app.TenantID, ClientID: app.ClientID, Description: description,
		Hint: value[:3], Hash: token.Hash(value), ExpiresAt: expires, CreatedAt: a.now(),
	}
	// The entry names the secret by id, description and expiry; neither its
	// value nor its hint.
	e := a.entry(catApplication, secretsActivity, appTarget(app), []store.AuditChange{{
		Property: "passwordCredentials", New: secretText(s)}})
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.AddClientSecret(ctx, s) }); err != nil {
		return "", store.ClientSecret{}, fmt.Errorf("add secret: %w", err)
	}
	return value, s, nil
}

// Secrets lists an app's secrets (never their values).
func (a *Admin) Secrets(ctx context.Context, app store.App) ([]store.ClientSecret, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead); err != nil {
		return nil, err
	}
	return a.store.ListClientSecrets(ctx, app.TenantID, app.ClientID)
}

// RemoveSecret deletes a secret by id.
func (a *Admin) RemoveSecret(ctx context.Context, app store.App, secretID string) error {
	if err := a.mayChangeApp(app); err != nil {
		return err
	}
	secretID = strings.TrimSpace(secretID)
	e := a.entry(catApplication, secretsActivity, appTarget(app), []store.AuditChange{{
		Property: "passwordCredentials", Old: "secret " + secretID}})
	err := a.audited(ctx, e, func(ctx context.Context) error {
		return a.store.RemoveClientSecret(ctx, app.TenantID, app.ClientID, secretID)
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("app %s has no secret %q", app.ClientID, secretID)
	}
	return err
}

// GrantAdminConsent grants, for every user of the tenant, all delegated
// permissions the client is configured to need (the OpenID Connect scopes,
// its own API's scopes, and its permissions on other apps), and grants the
// client itself the app roles it needs.
func (a *Admin) GrantAdminConsent(ctx context.Context, client store.App) ([]store.Consent, error) {
	if err := a.may(PermApplicationReadWrite); err != nil {
		return nil, err
	}
	if err := a.mayGrant(ctx, client.TenantID, client.Permissions); err != nil {
		return nil, err
	}
	now := a.now()
	var rows []store.Consent
	add := func(resource string, kind store.PermissionKind, value string) {
		rows = append(rows, store.Consent{TenantID: client.TenantID, ClientID: client.ClientID, ResourceID: resource, Kind: kind, Value: value, CreatedAt: now})
	}
	for _, s := range oidcScopes() {
		add("", store.KindScope, s)
	}
	for _, s := range client.Scopes {
		add(client.ClientID, store.KindScope, s)
	}
	for _, p := range client.Permissions {
		add(p.ResourceID, p.Kind, p.Value)
	}
	granted := make([]string, 0, len(rows))
	for _, r := range rows {
		granted = append(granted, store.PermissionText(r.ResourceID, r.Kind, r.Value))
	}
	e := a.entry(catApplication, "Consent to application", appTarget(client), []store.AuditChange{{
		Property: "permissions", New: listText(granted)}})
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.AddConsents(ctx, rows) }); err != nil {
		return nil, fmt.Errorf("grant admin consent: %w", err)
	}
	return rows, nil
}

// RevokeConsent removes a user's consents to client (the tenant-wide ones
// when userID is empty) and revokes the refresh tokens that relied on them.
func (a *Admin) RevokeConsent(ctx context.Context, client store.App, userID string) error {
	if err := a.mayChangeApp(client); err != nil {
		return err
	}
	principal := "all users (admin consent)"
	if userID != "" {
		principal = "user " + userID
	}
	e := a.entry(catApplication, "Remove delegated permission grant", appTarget(client), []store.AuditChange{{
		Property: "principal", Old: principal}})
	return a.audited(ctx, e, func(ctx context.Context) error {
		if err := a.store.RemoveConsents(ctx, client.TenantID, client.ClientID, userID); err != nil {
			return fmt.Errorf("revoke consent: %w", err)
		}
		if userID != "" {
			if err := a.store.RevokeUserRefreshFamilies(ctx, client.TenantID, userID, client.ClientID, a.now()); err != nil {
				return fmt.Errorf("revoke consent: %w", err)
			}
		}
		return nil
	})
}

// secretsActivity is Entra's name for any change to an app's secrets and
// certificates.
const secretsActivity = "Update application – Certificates and secrets management"

func secretText(s store.ClientSecret) string {
	text := "secret " + s.ID
	if s.Description != "" {
		text += " (" + s.Description + ")"
	}
	if !s.ExpiresAt.IsZero() {
		text += ", expires " + s.ExpiresAt.Format(time.RFC3339)
	}
	return text
}

// mayChangeApp checks that the caller may change app's registration.
func (a *Admin) mayChangeApp(app store.App) error {
	if err := a.may(PermApplicationReadWrite); err != nil {
		return err
	}
	return refuseBuiltIn(app)
}

// AllConsents lists every grant to client: each user's and the
// tenant-wide ones (PrincipalID empty).
func (a *Admin) AllConsents(ctx context.Context, client store.App) ([]store.Consent, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead); err != nil {
		return nil, err
	}
	cs, err := a.store.ListClientConsents(ctx, client.TenantID, client.ClientID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return cs, nil
}

// Consents lists the grants to client: the user's and the tenant-wide
// ones, or only the tenant-wide ones for an empty userID.
func (a *Admin) Consents(ctx context.Context, client store.App, userID string) ([]store.Consent, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead); err != nil {
		return nil, err
	}
	cs, err := a.store.ListConsents(ctx, client.TenantID, client.ClientID, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return cs, nil
}
