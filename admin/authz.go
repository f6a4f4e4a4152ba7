package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
)

// The admin API's permissions: Microsoft Graph's names, granted as app
// roles to apps (client credentials) and as delegated scopes to the
// portal and to users' tools, where they count only as far as the user's
// directory roles cover them.
const (
	PermApplicationReadWrite = "Application.ReadWrite.All"
	PermUserReadWrite        = "User.ReadWrite.All"
	PermAuditLogRead         = "AuditLog.Read.All"
	PermDirectoryRead        = "Directory.Read.All"
	PermDirectoryReadWrite   = "Directory.ReadWrite.All"
	PermRoleManagement       = "RoleManagement.ReadWrite.Directory"
	// PermGroupReadWrite manages groups and their members.
	PermGroupReadWrite = "Group.ReadWrite.All"
	// PermGroupMemberRead reads groups and who is in them: what a resource
	// server needs to resolve a groups claim overage.
	PermGroupMemberRead = "GroupMember.Read.All"
)

// Permissions lists every admin API permission.
func Permissions() []string {
	return []string{PermApplicationReadWrite, PermUserReadWrite, PermAuditLogRead, PermDirectoryRead,
		PermDirectoryReadWrite, PermRoleManagement, PermGroupReadWrite, PermGroupMemberRead}
}

// Directory roles: Entra's built-in roles, by their names and their
// well-known role template ids.
const (
	RoleGlobalAdministrator      = "Global Administrator"
	RoleApplicationAdministrator = "Application Administrator"
	RoleUserAdministrator        = "User Administrator"
	RoleReportsReader            = "Reports Reader"
	RoleGlobalReader             = "Global Reader"
)

// DirectoryRole is a built-in directory role and what it covers.
type DirectoryRole struct {
	Name        string
	TemplateID  string // Entra's roleTemplateId, so scripts written for Graph find it
	Description string
	Covers      []string // the permissions a delegated call may use with this role
}

// DirectoryRoles lists the built-in roles.
func DirectoryRoles() []DirectoryRole {
	return []DirectoryRole{
		{RoleGlobalAdministrator, "62e90394-69f5-4237-9190-012177145e10",
			"Can manage all aspects of the tenant: apps, users, roles, keys and policies.", Permissions()},
		{RoleApplicationAdministrator, "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
			"Can create and manage all aspects of app registrations.", []string{PermApplicationReadWrite, PermDirectoryRead}},
		{RoleUserAdministrator, "fe930be7-5e62-47db-91af-98c3a49a38b1",
			"Can manage users who hold no directory role: create, update, disable, reset passwords; and groups.", []string{PermUserReadWrite, PermDirectoryRead, PermGroupReadWrite, PermGroupMemberRead}},
		{RoleReportsReader, "4a5d8f65-41da-4de4-8968-e035b65339cf",
			"Can read the audit and sign-in logs.", []string{PermAuditLogRead, PermDirectoryRead}},
		{RoleGlobalReader, "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
			"Can read everything a Global Administrator can, but not change it.", []string{PermDirectoryRead, PermAuditLogRead, PermGroupMemberRead}},
	}
}

// FindDirectoryRole finds a built-in role by name (any case) or template id.
func FindDirectoryRole(nameOrID string) (DirectoryRole, bool) {
	nameOrID = strings.TrimSpace(nameOrID)
	for _, r := range DirectoryRoles() {
		if strings.EqualFold(r.Name, nameOrID) || r.TemplateID == strings.ToLower(nameOrID) {
			return r, true
		}
	}
	return DirectoryRole{}, false
}

// The admin API is itself an app registration of each tenant, a resource
// that exposes the permissions above as delegated scopes and app roles, as
// Microsoft Graph is a resource in every Entra tenant. Tokens for it are
// asked for as api://tessera-admin/.default (client credentials) or
// api://tessera-admin/Application.ReadWrite.All (delegated).
const (
	AdminAPIIdentifier = "api://tessera-admin"
	AdminAPIName       = "Tessera Admin API"
)

// The portal signs in as a public client of each tenant, with PKCE, and
// is consented tenant-wide for the admin API's delegated scopes: what a
// user may do there is what their directory roles cover.
const (
	PortalIdentifier = "api://tessera-portal"
	PortalName       = "Tessera Portal"
)

// The tessera CLI signs administrators in (`tessera login --server`) as a
// public client of each tenant with one well-known client id, as the Azure
// CLI does in Entra: a tool installed anywhere must know whom to ask for
// before anyone has told it. Its redirect URI is the loopback address, on
// any port (RFC 8252 §7.3), and it may use the device code flow; like the
// portal it is consented tenant-wide for the admin API's delegated scopes.
const (
	CLIIdentifier  = "api://tessera-cli"
	CLIName        = "Tessera CLI"
	CLIClientID    = "5f0c7a36-2b8e-4d61-9a57-3c1e8b4d2f90"
	CLIRedirectURI = "http://localhost"
)

// IsBuiltIn reports whether app is one Tessera maintains itself, which
// administrators may use but not change or delete.
func IsBuiltIn(app store.App) bool {
	return app.IdentifierURI == AdminAPIIdentifier || app.IdentifierURI == PortalIdentifier || app.IdentifierURI == CLIIdentifier
}

// EnsureCLI returns the tenant's CLI app, registering it when needed.
func (a *Admin) EnsureCLI(ctx context.Context, t store.Tenant) (store.App, error) {
	return a.ensureAdminClient(ctx, t, store.App{ClientID: CLIClientID, Name: CLIName, IdentifierURI: CLIIdentifier,
		RedirectURIs: []string{CLIRedirectURI}})
}

// EnsurePortal returns the tenant's portal app, registering it or setting
// its redirect URIs to the ones given (the server's public URL decides
// them), with the admin API's delegated scopes granted tenant-wide.
func (a *Admin) EnsurePortal(ctx context.Context, t store.Tenant, redirectURI, postLogoutURI string) (store.App, error) {
	return a.ensureAdminClient(ctx, t, store.App{Name: PortalName, IdentifierURI: PortalIdentifier,
		RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{postLogoutURI}})
}

// ensureAdminClient returns the tenant's built-in public client that want
// describes (found by its App ID URI), registering it or setting its
// redirect URIs and permissions to want's, with the admin API's delegated
// scopes granted tenant-wide. want.ClientID "" gets a random client id.
func (a *Admin) ensureAdminClient(ctx context.Context, t store.Tenant, want store.App) (store.App, error) {
	api, err := a.EnsureAdminAPI(ctx, t)
	if err != nil {
		return store.App{}, err
	}
	var perms []store.Permission
	for _, p := range Permissions() {
		perms = append(perms, store.Permission{ResourceID: api.ClientID, Kind: store.KindScope, Value: p})
	}
	app, err := a.store.GetAppByIdentifier(ctx, t.ID, want.IdentifierURI)
	if err == nil && (!app.Public || (want.ClientID != "" && app.ClientID != want.ClientID)) {
		// An app registered with this App ID URI before it was reserved
		// is not adopted: it would become built in, keep secrets its
		// owner holds, and be consented for the admin API.
		return store.App{}, fmt.Errorf("register %s of %s: the App ID URI %s is held by app %s (%s); give that app another one",
			want.Name, t.Name, want.IdentifierURI, app.ClientID, app.Name)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		now := a.now()
		app = want
		app.TenantID, app.Public, app.Permissions, app.ServicePrincipalID, app.CreatedAt, app.UpdatedAt = t.ID, true, perms, ids.New(), now, now
		if app.ClientID == "" {
			app.ClientID = ids.New()
		}
		e := a.entry(catApplication, "Add application", appTarget(app), appChanges(store.App{}, app))
		err = a.audited(ctx, e, func(ctx context.Context) error { return a.store.CreateApp(ctx, app) })
		if errors.Is(err, store.ErrConflict) {
			// Another instance, starting beside this one, registered it first.
			app, err = a.store.GetAppByIdentifier(ctx, t.ID, want.IdentifierURI)
		}
	case err == nil && (!slices.Equal(app.RedirectURIs, want.RedirectURIs) ||
		!slices.Equal(app.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) || !slices.Equal(app.Permissions, perms)):
		old := app
		app.RedirectURIs, app.PostLogoutRedirectURIs, app.Permissions = want.RedirectURIs, want.PostLogoutRedirectURIs, perms
		app, err = a.writeApp(ctx, old, app)
	}
	if err != nil {
		return store.App{}, fmt.Errorf("register %s of %s: %w", want.Name, t.Name, err)
	}
	granted, err := a.store.ListConsents(ctx, t.ID, app.ClientID, "")
	if err != nil {
		return store.App{}, fmt.Errorf("read the consents of %s: %w", want.Name, err)
	}
	if len(granted) < len(perms)+len(oidcScopes()) {
		if _, err := a.GrantAdminConsent(ctx, app); err != nil {
			return store.App{}, err
		}
	}
	return app, nil
}

func refuseBuiltIn(app store.App) error {
	if IsBuiltIn(app) {
		return invalid("%s (%s) is built in: it cannot be changed or deleted", app.Name, app.IdentifierURI)
	}
	return nil
}

// EnsureAdminAPI returns the tenant's admin API resource, registering it
// (or giving it the permissions it lacks) when needed: a tenant created
// before the admin API existed gets it at the server's next start.
func (a *Admin) EnsureAdminAPI(ctx context.Context, t store.Tenant) (store.App, error) {
	app, err := a.store.GetAppByIdentifier(ctx, t.ID, AdminAPIIdentifier)
	if err == nil {
		if slices.Equal(app.Scopes, Permissions()) && slices.Equal(app.Roles, Permissions()) {
			return app, nil
		}
		old := app
		app.Scopes, app.Roles = Permissions(), Permissions()
		return a.writeApp(ctx, old, app)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.App{}, fmt.Errorf("find admin API of %s: %w", t.Name, err)
	}
	now := a.now()
	app = store.App{
		TenantID: t.ID, ClientID: ids.New(), Name: AdminAPIName, IdentifierURI: AdminAPIIdentifier,
		Scopes: Permissions(), Roles: Permissions(), ServicePrincipalID: ids.New(), CreatedAt: now, UpdatedAt: now,
	}
	e := a.entry(catApplication, "Add application", appTarget(app), appChanges(store.App{}, app))
	err = a.audited(ctx, e, func(ctx context.Context) error { return a.store.CreateApp(ctx, app) })
	if errors.Is(err, store.ErrConflict) {
		// Another instance, starting beside this one, registered it first.
		return a.store.GetAppByIdentifier(ctx, t.ID, AdminAPIIdentifier)
	}
	if err != nil {
		return store.App{}, fmt.Errorf("register admin API of %s: %w", t.Name, err)
	}
	return app, nil
}

// Caller is who calls the admin API, as its access token says.
type Caller struct {
	// AppOnly is a token an app got for itself (client credentials): its
	// Roles are its permissions. Otherwise a user's delegated token: its
	// Scopes count as far as the user's directory roles cover them.
	AppOnly    bool
	ClientID   string
	ClientName string
	UserID     string
	Scopes     []string
	Roles      []string
	Address    string
}

// Authorize returns an Admin that acts for caller in tenant t, allowed
// exactly what its token and (for a user) directory roles allow together.
func (a *Admin) Authorize(ctx context.Context, t store.Tenant, c Caller) (*Admin, error) {
	granted := map[string]bool{}
	out := *a
	if c.AppOnly {
		for _, r := range c.Roles {
			granted[r] = slices.Contains(Permissions(), r)
		}
		out.actor = Actor{Type: ActorApp, ID: c.ClientID, Name: c.ClientName, Address: c.Address}
	} else {
		u, err := a.store.GetUser(ctx, t.ID, c.UserID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
			return nil, forbidden("the signed-in user is disabled or was removed")
		}
		if err != nil {
			return nil, fmt.Errorf("authorize: %w", err)
		}
		covered, err := a.covered(ctx, t.ID, u.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range c.Scopes {
			granted[s] = covered[s]
		}
		out.actor = Actor{Type: ActorUser, ID: u.ID, Name: u.Username, Address: c.Address}
	}
	out.allowed = func(perm string) bool { return granted[perm] }
	out.operator = false
	return &out, nil
}

// covered is what a user's directory roles allow.
func (a *Admin) covered(ctx context.Context, tenantID, userID string) (map[string]bool, error) {
	roles, err := a.store.ListDirectoryRoles(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	covered := map[string]bool{}
	for _, r := range roles {
		if role, ok := FindDirectoryRole(r.Role); ok {
			for _, p := range role.Covers {
				covered[p] = true
			}
		}
	}
	return covered, nil
}

// may checks that the caller holds one of perms.
func (a *Admin) may(perms ...string) error {
	for _, p := range perms {
		if a.allowed(p) {
			return nil
		}
	}
	if a.actor.Type == ActorUser {
		return forbidden("this needs the %s permission, granted to the app you use and covered by one of your directory roles", strings.Join(perms, " or "))
	}
	return forbidden("this needs the %s permission (an app role of %s granted to this app)", strings.Join(perms, " or "), AdminAPIIdentifier)
}

// mayGrant checks that the caller holds every admin API permission it
// would grant to an app: no one hands out more than they have.
func (a *Admin) mayGrant(ctx context.Context, tenantID string, perms []store.Permission) error {
	api, err := a.store.GetAppByIdentifier(ctx, tenantID, AdminAPIIdentifier)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the admin API: %w", err)
	}
	for _, p := range perms {
		if p.ResourceID == api.ClientID && !a.allowed(p.Value) {
			return forbidden("granting %s of the admin API needs you to hold it yourself", p.Value)
		}
	}
	return nil
}

// RoleCatalogue lists the built-in directory roles, for a caller who may
// read who holds them.
func (a *Admin) RoleCatalogue() ([]DirectoryRole, error) {
	if err := a.may(PermDirectoryRead, PermRoleManagement, PermUserReadWrite); err != nil {
		return nil, err
	}
	return DirectoryRoles(), nil
}

// RoleAssignments lists the directory roles of a user, or of everyone in
// the tenant for an empty userID.
func (a *Admin) RoleAssignments(ctx context.Context, t store.Tenant, userID string) ([]store.RoleAssignment, error) {
	if err := a.may(PermDirectoryRead, PermRoleManagement, PermUserReadWrite); err != nil {
		return nil, err
	}
	rs, err := a.store.ListDirectoryRoles(ctx, t.ID, userID)
	if err != nil {
		return nil, fmt.Errorf("list directory roles: %w", err)
	}
	return rs, nil
}

// AssignRole gives a user a directory role.
func (a *Admin) AssignRole(ctx context.Context, u store.User, roleName string) (DirectoryRole, error) {
	if err := a.may(PermRoleManagement); err != nil {
		return DirectoryRole{}, err
	}
	role, ok := FindDirectoryRole(roleName)
	if !ok {
		return DirectoryRole{}, notFound("no directory role %q (there are: %s)", roleName, roleNames())
	}
	e := a.entry(catRole, "Add member to role", userTarget(u), []store.AuditChange{{Property: "role", New: role.Name}})
	err := a.audited(ctx, e, func(ctx context.Context) error {
		return a.store.AddDirectoryRole(ctx, store.RoleAssignment{TenantID: u.TenantID, UserID: u.ID, Role: role.Name, CreatedAt: a.now()})
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return DirectoryRole{}, invalid("user %s already holds %s", u.Username, role.Name)
	case errors.Is(err, store.ErrNotFound):
		return DirectoryRole{}, notFound("no user %q: it was deleted", u.ID)
	case err != nil:
		return DirectoryRole{}, fmt.Errorf("assign role: %w", err)
	}
	return role, nil
}

// UnassignRole takes a directory role from a user. The last Global
// Administrator of a tenant keeps the role: a tenant nobody can administer
// over HTTP is recovered only with the CLI on the server.
func (a *Admin) UnassignRole(ctx context.Context, u store.User, roleName string) (DirectoryRole, error) {
	if err := a.may(PermRoleManagement); err != nil {
		return DirectoryRole{}, err
	}
	role, ok := FindDirectoryRole(roleName)
	if !ok {
		return DirectoryRole{}, notFound("no directory role %q (there are: %s)", roleName, roleNames())
	}
	if role.Name == RoleGlobalAdministrator {
		if err := a.keepOneGlobalAdministrator(ctx, u); err != nil {
			return DirectoryRole{}, err
		}
	}
	e := a.entry(catRole, "Remove member from role", userTarget(u), []store.AuditChange{{Property: "role", Old: role.Name}})
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.RemoveDirectoryRole(ctx, u.TenantID, u.ID, role.Name) })
	if errors.Is(err, store.ErrNotFound) {
		return DirectoryRole{}, notFound("user %s does not hold %s", u.Username, role.Name)
	}
	if err != nil {
		return DirectoryRole{}, fmt.Errorf("unassign role: %w", err)
	}
	return role, nil
}

// keepOneGlobalAdministrator refuses, for a caller over HTTP, to let the
// tenant's last Global Administrator go (lose the role, be disabled or
// deleted): a tenant nobody can administer over HTTP is recovered only
// with the CLI on the server.
func (a *Admin) keepOneGlobalAdministrator(ctx context.Context, leaving store.User) error {
	if a.operator {
		return nil
	}
	all, err := a.store.ListDirectoryRoles(ctx, leaving.TenantID, "")
	if err != nil {
		return fmt.Errorf("check Global Administrators: %w", err)
	}
	holds, others := false, false
	for _, r := range all {
		if r.Role == RoleGlobalAdministrator {
			holds = holds || r.UserID == leaving.ID
			others = others || r.UserID != leaving.ID
		}
	}
	if holds && !others {
		return invalid("%s is the tenant's last Global Administrator; assign the role to someone else first", leaving.Username)
	}
	return nil
}

// mayChangeUser checks that the caller may change u: a user who holds a
// directory role can be changed only by someone who manages roles, so that
// a User Administrator cannot take over a Global Administrator's account
// by resetting its password.
func (a *Admin) mayChangeUser(ctx context.Context, u store.User) error {
	if err := a.may(PermUserReadWrite); err != nil {
		return err
	}
	if a.allowed(PermRoleManagement) {
		return nil
	}
	roles, err := a.store.ListDirectoryRoles(ctx, u.TenantID, u.ID)
	if err != nil {
		return fmt.Errorf("check user roles: %w", err)
	}
	if len(roles) > 0 {
		return forbidden("%s holds the directory role %s; only a Global Administrator may change them", u.Username, roles[0].Role)
	}
	return nil
}

func roleNames() string {
	var names []string
	for _, r := range DirectoryRoles() {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// AdminAPI returns the tenant's admin API resource. Anyone may ask: it is
// how a caller's token is checked, before anything is allowed.
func (a *Admin) AdminAPI(ctx context.Context, t store.Tenant) (store.App, error) {
	app, err := a.store.GetAppByIdentifier(ctx, t.ID, AdminAPIIdentifier)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, notFound("tenant %s has no admin API yet: it is registered when the server starts", t.Name)
	}
	return app, err
}

// AppForCaller returns the app a token was issued to, for naming the
// caller in the audit log.
func (a *Admin) AppForCaller(ctx context.Context, t store.Tenant, clientID string) (store.App, error) {
	return a.store.GetApp(ctx, t.ID, clientID)
}

// PortalApp returns the tenant's portal app. Anyone may ask: the portal
// needs it to sign a user in.
func (a *Admin) PortalApp(ctx context.Context, t store.Tenant) (store.App, error) {
	app, err := a.store.GetAppByIdentifier(ctx, t.ID, PortalIdentifier)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, notFound("tenant %s has no portal app: it is registered when the server starts with a public URL", t.Name)
	}
	return app, err
}
