package main

import (
	"context"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// directory is what the app, user, keys and audit commands administer:
// the admin core over a store opened here (the operator's door, with the
// master key), or a server's admin API (--server), which needs neither
// database credentials nor the master key. Both take the same calls, so
// each command is written once.
type directory interface {
	Tenant(ctx context.Context, idOrName string) (store.Tenant, error)

	FindApp(ctx context.Context, idOrURI string) (store.App, error)
	App(ctx context.Context, t store.Tenant, idOrURI string) (store.App, error)
	Apps(ctx context.Context, t store.Tenant) ([]store.App, error)
	RegisterApp(ctx context.Context, t store.Tenant, o admin.RegisterOptions) (store.App, error)
	Set(ctx context.Context, app store.App, s admin.AppSettings) (store.App, error)
	AddRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error)
	AddPlatformRedirectURIs(ctx context.Context, app store.App, platform admin.Platform, uris []string) (store.App, error)
	RemoveRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error)
	Expose(ctx context.Context, app store.App, appIDURI string, scopes, roles []string) (store.App, error)
	ExposeScope(ctx context.Context, app store.App, value string, d store.ScopeDetail) (store.App, error)
	Unexpose(ctx context.Context, app store.App, scopes, roles []string) (store.App, error)
	RemovePostLogoutRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error)
	AddPermission(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error)
	RemovePermission(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error)
	DeleteApp(ctx context.Context, app store.App, confirmName string) error
	GrantAdminConsent(ctx context.Context, client store.App) ([]store.Consent, error)
	AllConsents(ctx context.Context, client store.App) ([]store.Consent, error)
	RevokeConsent(ctx context.Context, client store.App, userID string) error
	AddSecret(ctx context.Context, app store.App, description string, expires time.Time) (string, store.ClientSecret, error)
	Secrets(ctx context.Context, app store.App) ([]store.ClientSecret, error)
	RemoveSecret(ctx context.Context, app store.App, secretID string) error
	AddCredential(ctx context.Context, app store.App, data []byte, description string) (store.AppCredential, error)
	Credentials(ctx context.Context, app store.App) ([]store.AppCredential, error)
	RemoveCredential(ctx context.Context, app store.App, id string) error

	User(ctx context.Context, t store.Tenant, idOrUsername string) (store.User, error)
	Users(ctx context.Context, t store.Tenant) ([]store.User, error)
	CreateUser(ctx context.Context, t store.Tenant, o admin.UserOptions) (store.User, string, error)
	SetDisabled(ctx context.Context, u store.User, disabled bool) (store.User, error)
	SetPassword(ctx context.Context, u store.User, pw string) (store.User, error)
	DeleteUser(ctx context.Context, u store.User) error
	RevokeSessions(ctx context.Context, u store.User) error
	AssignRole(ctx context.Context, u store.User, roleName string) (admin.DirectoryRole, error)
	UnassignRole(ctx context.Context, u store.User, roleName string) (admin.DirectoryRole, error)

	CreateGroup(ctx context.Context, t store.Tenant, o admin.GroupOptions) (store.Group, error)
	FindGroup(ctx context.Context, t store.Tenant, idOrName string) (store.Group, error)
	GroupsPage(ctx context.Context, t store.Tenant, search, after string, n int) (admin.GroupPage, error)
	DeleteGroup(ctx context.Context, g store.Group) error
	AddGroupMember(ctx context.Context, t store.Tenant, g store.Group, memberID string) (admin.Principal, error)
	RemoveGroupMember(ctx context.Context, t store.Tenant, g store.Group, memberID string) error
	GroupMembers(ctx context.Context, t store.Tenant, g store.Group) ([]admin.Principal, error)
	AppRoleAssignments(ctx context.Context, t store.Tenant, principalID, resourceID string) ([]store.AppRoleAssignment, error)
	AssignAppRole(ctx context.Context, t store.Tenant, resource store.App, principalID, role string) (store.AppRoleAssignment, error)
	UnassignAppRole(ctx context.Context, t store.Tenant, resource store.App, id string) error

	RotateKeys(ctx context.Context, t store.Tenant, maxTokenLifetime time.Duration) error
	AuditLog(ctx context.Context, t store.Tenant, q store.AuditQuery) ([]store.AuditEntry, error)
}

var _ directory = (*admin.Admin)(nil)
