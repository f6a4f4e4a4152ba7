package admin

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
)

// Who acts: the kinds of Actor.
const (
	ActorUser     = "user"     // a person signed in to the portal, or calling the API with a delegated token
	ActorApp      = "app"      // an app calling the API with its own (client credentials) token
	ActorOperator = "operator" // the CLI on the server's own data, with the master key
)

// Actor is who performs an administrative operation, as the audit log
// names them.
type Actor struct {
	Type    string
	ID      string // user id, client id, or the operator's account
	Name    string // username or app name
	Address string // the client's IP address, when the operation came over HTTP
}

// LocalOperator is the actor of the CLI run on the server's data: the
// account it runs as, which is all the audit log can know of who typed
// the command.
func LocalOperator(account string) Actor {
	if account == "" {
		account = "unknown"
	}
	return Actor{Type: ActorOperator, ID: account, Name: "local operator " + account}
}

// ServerActor is the server itself, for what it does on its own at start.
func ServerActor() Actor {
	return Actor{Type: ActorOperator, ID: "tessera", Name: "Tessera server"}
}

// As returns an Admin that records its operations as actor's.
func (a *Admin) As(actor Actor) *Admin {
	c := *a
	c.actor = actor
	return &c
}

// Actor is who this Admin acts for.
func (a *Admin) Actor() Actor { return a.actor }

// WithAuditRetention returns an Admin whose audit entries are kept for d.
func (a *Admin) WithAuditRetention(d time.Duration) *Admin {
	c := *a
	c.retention = d
	return &c
}

// Audit categories and activities: Graph's directoryAudits names where it
// has one, so that people who read Entra's logs read these.
const (
	catApplication = "ApplicationManagement"
	catUser        = "UserManagement"
	catPolicy      = "Policy"
	catKey         = "KeyManagement"
	catDirectory   = "DirectoryManagement"
	catRole        = "RoleManagement"
	catGroup       = "GroupManagement"
)

// target is what an operation is done to.
type target struct {
	tenantID string
	kind     string
	id       string
	name     string
}

func appTarget(app store.App) target {
	return target{app.TenantID, "application", app.ClientID, app.Name}
}

func userTarget(u store.User) target { return target{u.TenantID, "user", u.ID, u.Username} }

// entry is the audit entry of a successful operation by a's actor.
func (a *Admin) entry(category, activity string, t target, changes []store.AuditChange) store.AuditEntry {
	now := a.now()
	return store.AuditEntry{
		TenantID: t.tenantID, ID: ids.NewOrdered(), Kind: store.AuditDirectory, Time: now,
		Category: category, Activity: activity, Result: store.AuditSuccess,
		ActorType: a.actor.Type, ActorID: a.actor.ID, ActorName: a.actor.Name, ActorAddress: a.actor.Address,
		TargetType: t.kind, TargetID: t.id, TargetName: t.name,
		Changes: changes, ExpiresAt: now.Add(a.retention),
	}
}

// audited runs change, whose writes record e in their own transaction
// (store.WithAudit). Should a write path not record it, the entry is
// appended after the change rather than lost.
func (a *Admin) audited(ctx context.Context, e store.AuditEntry, change func(ctx context.Context) error) error {
	actx := store.WithAudit(ctx, e)
	if err := change(actx); err != nil {
		return err
	}
	if !store.AuditRecorded(actx) {
		if err := a.store.AppendAudit(ctx, e); err != nil {
			return fmt.Errorf("audit %s: %w", e.Activity, err)
		}
	}
	if a.log != nil {
		a.log.LogAttrs(ctx, slog.LevelInfo, "audit", e.LogAttrs()...)
	}
	return nil
}

// AuditLog lists a tenant's entries of one log, newest first.
func (a *Admin) AuditLog(ctx context.Context, t store.Tenant, q store.AuditQuery) ([]store.AuditEntry, error) {
	if err := a.may(PermAuditLogRead); err != nil {
		return nil, err
	}
	if q.Kind == "" {
		q.Kind = store.AuditDirectory
	}
	entries, err := a.store.ListAudit(ctx, t.ID, q)
	if err != nil {
		return nil, fmt.Errorf("list audit log of %s: %w", t.Name, err)
	}
	return entries, nil
}

// changes collects what an update modified, as display text.
type changes []store.AuditChange

func (c *changes) text(property, old, new string) {
	if old != new {
		*c = append(*c, store.AuditChange{Property: property, Old: old, New: new})
	}
}

func (c *changes) list(property string, old, new []string) {
	if !slices.Equal(old, new) {
		*c = append(*c, store.AuditChange{Property: property, Old: listText(old), New: listText(new)})
	}
}

func (c *changes) duration(property string, old, new time.Duration) {
	c.text(property, durationText(old), durationText(new))
}

func (c *changes) flag(property string, old, new bool) {
	c.text(property, strconv.FormatBool(old), strconv.FormatBool(new))
}

func listText(l []string) string { return "[" + strings.Join(l, ", ") + "]" }

func durationText(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return d.String()
}

func permissionsText(ps []store.Permission) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, store.PermissionText(p.ResourceID, p.Kind, p.Value))
	}
	return out
}

// appChanges is what an update of an app registration modified, under
// the names of Graph's application resource.
func appChanges(old, app store.App) []store.AuditChange {
	var c changes
	c.text("displayName", old.Name, app.Name)
	c.list("redirectUris", old.RedirectURIs, app.RedirectURIs)
	c.list("spa.redirectUris", old.SPARedirectURIs, app.SPARedirectURIs)
	c.list("publicClient.redirectUris", old.NativeRedirectURIs, app.NativeRedirectURIs)
	c.text("identifierUris", old.IdentifierURI, app.IdentifierURI)
	c.list("api.oauth2PermissionScopes", old.Scopes, app.Scopes)
	c.scopeDetails(old.ScopeDetails, app.ScopeDetails)
	c.list("appRoles", old.Roles, app.Roles)
	c.list("requiredResourceAccess", permissionsText(old.Permissions), permissionsText(app.Permissions))
	c.list("postLogoutRedirectUris", old.PostLogoutRedirectURIs, app.PostLogoutRedirectURIs)
	c.text("logoutUrl", old.FrontChannelLogoutURI, app.FrontChannelLogoutURI)
	c.flag("allowPlainPkce", old.AllowPlainPKCE, app.AllowPlainPKCE)
	c.flag("logoutKeepsRefreshTokens", old.LogoutKeepsRefreshTokens, app.LogoutKeepsRefreshTokens)
	c.flag("allowPublicClientFlows", old.AllowPublicClientFlows, app.AllowPublicClientFlows)
	c.flag("appRoleAssignmentRequired", old.AppRoleAssignmentRequired, app.AppRoleAssignmentRequired)
	c.text("groupMembershipClaims", string(old.GroupMembershipClaims), string(app.GroupMembershipClaims))
	c.duration("accessTokenLifetime", old.AccessTokenLifetime, app.AccessTokenLifetime)
	c.duration("refreshTokenLifetime", old.RefreshTokenLifetime, app.RefreshTokenLifetime)
	c.duration("refreshTokenIdleLifetime", old.RefreshTokenIdleLifetime, app.RefreshTokenIdleLifetime)
	return c
}
