package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// DefaultKeepRetired is how long a retired signing key stays published
// after a rotation: longer than any token it signed can live (access
// tokens at most 24 hours).
const DefaultKeepRetired = 25 * time.Hour

// SigningKeys lists the tenant's published keys: the next one, the active
// one, and those retired that still verify tokens. Private keys stay
// sealed in the store; this is for reading which key is which.
func (a *Admin) SigningKeys(ctx context.Context, t store.Tenant) ([]store.SigningKey, error) {
	if err := a.may(PermDirectoryRead, PermDirectoryReadWrite); err != nil {
		return nil, err
	}
	keys, err := a.store.ListSigningKeys(ctx, t.ID, a.now())
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	for i := range keys {
		keys[i].PrivateKey = nil
	}
	return keys, nil
}

// GrantDelegated records delegated consent for client to scopes of
// resource: for every user of the tenant (userID empty, an admin consent)
// or for one user, on their behalf.
func (a *Admin) GrantDelegated(ctx context.Context, client store.App, userID, resourceIDOrURI string, scopes []string) ([]store.Consent, error) {
	return a.grant(ctx, client, userID, resourceIDOrURI, store.KindScope, scopes)
}

// GrantAppRoles grants client app roles of resource (application
// permissions), always tenant-wide.
func (a *Admin) GrantAppRoles(ctx context.Context, client store.App, resourceIDOrURI string, roles []string) ([]store.Consent, error) {
	return a.grant(ctx, client, "", resourceIDOrURI, store.KindRole, roles)
}

func (a *Admin) grant(ctx context.Context, client store.App, userID, resourceIDOrURI string, kind store.PermissionKind, values []string) ([]store.Consent, error) {
	if err := a.may(PermApplicationReadWrite); err != nil {
		return nil, err
	}
	if len(values) == 0 {
		return nil, invalid("name at least one permission to grant")
	}
	resource, err := a.App(ctx, store.Tenant{ID: client.TenantID, Name: client.TenantID}, resourceIDOrURI)
	if err != nil {
		return nil, err
	}
	if userID != "" {
		_, err := a.store.GetUser(ctx, client.TenantID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("no user %q", userID)
		}
		if err != nil {
			return nil, fmt.Errorf("grant: %w", err)
		}
	}
	perms := make([]store.Permission, 0, len(values))
	for _, v := range values {
		perms = append(perms, store.Permission{ResourceID: resource.ClientID, Kind: kind, Value: v})
	}
	if _, err := a.permissionList(ctx, client, perms); err != nil {
		return nil, err
	}
	// The server honours only a tenant-wide grant of a scope only admins
	// may consent to (a user's grant could be their own consent), so a
	// grant for one user would silently grant nothing.
	if userID != "" && kind == store.KindScope {
		for _, v := range values {
			if resource.ScopeDetails[v].AdminOnly() {
				return nil, invalid("only admins may consent to the scope %q of %s: grant it for all users (tenant-wide), not for one", v, resource.Name)
			}
		}
	}
	if err := a.mayGrant(ctx, client.TenantID, perms); err != nil {
		return nil, err
	}
	now := a.now()
	rows := make([]store.Consent, 0, len(values))
	granted := make([]string, 0, len(values))
	for _, v := range values {
		rows = append(rows, store.Consent{TenantID: client.TenantID, ClientID: client.ClientID, PrincipalID: userID,
			ResourceID: resource.ClientID, Kind: kind, Value: v, CreatedAt: now})
		granted = append(granted, store.PermissionText(resource.ClientID, kind, v))
	}
	activity := "Add delegated permission grant"
	if kind == store.KindRole {
		activity = "Add app role assignment to service principal"
	}
	changes := []store.AuditChange{{Property: "permissions", New: listText(granted)}}
	if userID != "" {
		changes = append(changes, store.AuditChange{Property: "principal", New: "user " + userID})
	}
	e := a.entry(catApplication, activity, appTarget(client), changes)
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.AddConsents(ctx, rows) }); err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	return rows, nil
}

// RevokeDelegatedGrant removes one delegated grant: the principal's
// scopes of one resource to client ("" for the tenant-wide grant), and
// for a user's the client's refresh tokens of that user, in one
// transaction with one audit entry.
func (a *Admin) RevokeDelegatedGrant(ctx context.Context, client store.App, principalID, resourceID string) error {
	if err := a.mayChangeApp(client); err != nil {
		return err
	}
	consents, err := a.store.ListConsents(ctx, client.TenantID, client.ClientID, principalID)
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	var scopes []string
	for _, c := range consents {
		if c.Kind == store.KindScope && c.PrincipalID == principalID && c.ResourceID == resourceID {
			scopes = append(scopes, store.PermissionText(c.ResourceID, c.Kind, c.Value))
		}
	}
	principal := "all users (admin consent)"
	if principalID != "" {
		principal = "user " + principalID
	}
	e := a.entry(catApplication, "Remove delegated permission grant", appTarget(client), []store.AuditChange{
		{Property: "principal", Old: principal}, {Property: "permissions", Old: listText(scopes)}})
	err = a.audited(ctx, e, func(ctx context.Context) error {
		return a.store.RemoveGrant(ctx, client.TenantID, client.ClientID, principalID, resourceID, a.now())
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("app %s holds no such grant", client.ClientID)
	}
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

// RevokeGrant removes one grant to client: a delegated scope (for a user,
// or tenant-wide for an empty userID) or an app role. A user's refresh
// tokens for the client end with their grant, as with RevokeConsent.
func (a *Admin) RevokeGrant(ctx context.Context, client store.App, c store.Consent) error {
	if err := a.mayChangeApp(client); err != nil {
		return err
	}
	c.TenantID, c.ClientID = client.TenantID, client.ClientID
	activity := "Remove delegated permission grant"
	if c.Kind == store.KindRole {
		activity = "Remove app role assignment from service principal"
	}
	e := a.entry(catApplication, activity, appTarget(client), []store.AuditChange{{Property: "permissions",
		Old: store.PermissionText(c.ResourceID, c.Kind, c.Value)}})
	err := a.audited(ctx, e, func(ctx context.Context) error {
		if err := a.store.RemoveConsent(ctx, c); err != nil {
			return err
		}
		if c.PrincipalID != "" {
			return a.store.RevokeUserRefreshFamilies(ctx, client.TenantID, c.PrincipalID, client.ClientID, a.now())
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("app %s holds no such grant", client.ClientID)
	}
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}
