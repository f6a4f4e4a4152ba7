package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// DeleteApp deletes an app registration with everything it holds, and
// revokes its refresh tokens. confirmName must be the app's display name,
// as the portal asks it to be typed: deleting the wrong app is not undone.
func (a *Admin) DeleteApp(ctx context.Context, app store.App, confirmName string) error {
	if err := a.mayChangeApp(app); err != nil {
		return err
	}
	if strings.TrimSpace(confirmName) != app.Name {
		return invalid("to delete app %s, confirm with its name %q", app.ClientID, app.Name)
	}
	e := a.entry(catApplication, "Delete application", appTarget(app), []store.AuditChange{{Property: "displayName", Old: app.Name}})
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.DeleteApp(ctx, app.TenantID, app.ClientID, a.now()) })
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no app %q: it was deleted already", app.ClientID)
	}
	if err != nil {
		return fmt.Errorf("delete app: %w", err)
	}
	return nil
}

// Unexpose removes delegated scopes and app roles the app exposes (their
// consent texts with them); naming one it does not expose is an error.
// Consents already given to them stay until revoked, as in Entra.
func (a *Admin) Unexpose(ctx context.Context, app store.App, scopes, roles []string) (store.App, error) {
	if len(scopes) == 0 && len(roles) == 0 {
		return store.App{}, invalid("name at least one scope or role to remove")
	}
	keptScopes, err := without(app.Scopes, scopes, "scope", app)
	if err != nil {
		return store.App{}, err
	}
	keptRoles, err := without(app.Roles, roles, "app role", app)
	if err != nil {
		return store.App{}, err
	}
	return a.PatchApp(ctx, app, AppPatch{Scopes: &keptScopes, Roles: &keptRoles})
}

// RemovePostLogoutRedirectURIs unregisters post-logout redirect URIs.
func (a *Admin) RemovePostLogoutRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error) {
	kept, err := without(app.PostLogoutRedirectURIs, uris, "post-logout redirect URI", app)
	if err != nil {
		return store.App{}, err
	}
	return a.PatchApp(ctx, app, AppPatch{PostLogoutRedirectURIs: &kept})
}

// without is list less drop, each of which must be in it.
func without(list, drop []string, what string, app store.App) ([]string, error) {
	kept := slices.Clone(list)
	for _, d := range drop {
		i := slices.Index(kept, strings.TrimSpace(d))
		if i < 0 {
			return nil, invalid("app %s has no %s %q", app.ClientID, what, d)
		}
		kept = slices.Delete(kept, i, i+1)
	}
	if kept == nil {
		kept = []string{}
	}
	return kept, nil
}

// RemoveRedirectURIs unregisters redirect URIs; naming one that is not
// registered is an error, so that a typo does not pass for a removal.
func (a *Admin) RemoveRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error) {
	old := app
	lists := []*[]string{&app.RedirectURIs, &app.SPARedirectURIs, &app.NativeRedirectURIs}
	for _, l := range lists {
		*l = slices.Clone(*l)
	}
	for _, u := range uris {
		u = strings.TrimSpace(u)
		found := false
		for _, l := range lists {
			if i := slices.Index(*l, u); i >= 0 {
				*l, found = slices.Delete(*l, i, i+1), true
			}
		}
		if !found {
			return store.App{}, invalid("app %s has no redirect URI %q (it has: %s)", app.ClientID, u, strings.Join(old.AllRedirectURIs(), " "))
		}
	}
	return a.update(ctx, old, app)
}

// RemovePermission removes scopes and roles of a resource from the
// permissions the client is configured to need. Consents already given
// stay until revoked (RevokeConsent), as in Entra.
func (a *Admin) RemovePermission(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error) {
	resource, err := a.permissionResource(ctx, client, resourceIDOrURI, scopes, roles)
	if err != nil {
		return store.App{}, err
	}
	old := client
	perms := slices.Clone(client.Permissions)
	remove := func(kind store.PermissionKind, value string) error {
		p := store.Permission{ResourceID: resource.ClientID, Kind: kind, Value: value}
		i := slices.Index(perms, p)
		if i < 0 {
			return invalid("app %s does not need %s %q of %s", client.ClientID, kind, value, resource.ClientID)
		}
		perms = slices.Delete(perms, i, i+1)
		return nil
	}
	for _, s := range scopes {
		if err := remove(store.KindScope, s); err != nil {
			return store.App{}, err
		}
	}
	for _, r := range roles {
		if err := remove(store.KindRole, r); err != nil {
			return store.App{}, err
		}
	}
	client.Permissions = perms
	return a.update(ctx, old, client)
}

// DeleteUser deletes a user with their consents and sessions, and revokes
// their refresh tokens.
func (a *Admin) DeleteUser(ctx context.Context, u store.User) error {
	if err := a.mayChangeUser(ctx, u); err != nil {
		return err
	}
	if err := a.keepOneGlobalAdministrator(ctx, u); err != nil {
		return err
	}
	e := a.entry(catUser, "Delete user", userTarget(u), []store.AuditChange{{Property: "userPrincipalName", Old: u.Username}})
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.DeleteUser(ctx, u.TenantID, u.ID, a.now()) })
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no user %q: it was deleted already", u.ID)
	}
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// RevokeSessions signs a user out everywhere: their SSO sessions end and
// their refresh tokens are revoked (Graph's revokeSignInSessions). Access
// tokens already issued live out their short lifetime.
func (a *Admin) RevokeSessions(ctx context.Context, u store.User) error {
	if err := a.mayChangeUser(ctx, u); err != nil {
		return err
	}
	e := a.entry(catUser, "Revoke sign-in sessions", userTarget(u), nil)
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.RevokeUserSessions(ctx, u.TenantID, u.ID, a.now()) })
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// DeleteTenant deletes a tenant and everything in it: apps, users, keys,
// grants, sessions and tokens. Its refresh tokens and sessions end at
// once; its access tokens no longer verify at its endpoints (its keys are
// gone), though a resource server that cached its keys accepts them until
// they expire. Only the server's operator may, confirming with the tenant's
// name; the audit log keeps the record, in the deleted tenant's log.
func (a *Admin) DeleteTenant(ctx context.Context, t store.Tenant, confirmName string) error {
	if err := a.mayOperate(); err != nil {
		return err
	}
	if strings.TrimSpace(confirmName) != t.Name {
		return invalid("to delete tenant %s, confirm with its name", t.Name)
	}
	e := a.entry(catDirectory, "Delete tenant", target{t.ID, "tenant", t.ID, t.Name}, []store.AuditChange{{Property: "name", Old: t.Name}})
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.DeleteTenant(ctx, t.ID) })
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no tenant %q: it was deleted already", t.Name)
	}
	if err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	return nil
}
