// Package store defines the persistence contract of the authorization server:
// the domain types it speaks in and the Store interface every backend
// implements. The implementation is sqlstore, one per SQL engine through a
// dialect each, and every engine passes the conformance suite in storetest.
//
// Secrets never reach this package in clear: codes, refresh tokens, session
// cookies and client secrets arrive as SHA-256 hashes, signing keys arrive
// encrypted.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

var (
	// ErrNotFound means the addressed row does not exist (or belongs to
	// another tenant, which callers must not be able to tell apart).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique key (tenant name, username, identifier URI,
	// primary key) is already taken.
	ErrConflict = errors.New("store: already exists")
	// ErrNotLive means a conditional update found its row already used,
	// revoked or expired: another caller won, or the row is dead.
	ErrNotLive = errors.New("store: no longer live")
)

// Tenant is a directory: it owns apps, users, consents and signing keys.
type Tenant struct {
	ID         string
	Name       string // unique, lower case, used in URLs
	SigningAlg string // RS256, ES256 or EdDSA
	// Lockout holds the tenant's own sign-in throttling settings.
	Lockout LockoutSettings
	// MFA is who must sign in with a second factor.
	MFA       MFAPolicy
	CreatedAt time.Time
}

// MFAPolicy says which users of a tenant must sign in with a second
// factor. Whoever has a factor is asked for it whatever the policy.
type MFAPolicy string

const (
	// MFAOptional (the empty value too) asks only users who enrolled.
	MFAOptional MFAPolicy = "optional"
	// MFAAdmins requires a second factor of users who hold any directory
	// role.
	MFAAdmins MFAPolicy = "admins"
	// MFAEveryone requires a second factor of every user.
	MFAEveryone MFAPolicy = "everyone"
)

// LockoutSettings bound password guessing on a tenant's sign-in page. A
// zero field means the server's default, so a tenant that never set one
// follows the defaults as they change.
type LockoutSettings struct {
	// Threshold is how many failed sign-ins lock an account.
	Threshold int
	// Duration is how long the first lockout lasts; each further lockout
	// doubles it, up to MaxDuration.
	Duration    time.Duration
	MaxDuration time.Duration
	// ResetAfter is the quiet period (no failure) after which an account's
	// or address's failures and lockouts are forgotten.
	ResetAfter time.Duration
	// AddressThreshold is how many failed sign-ins, whatever the
	// usernames, lock a source address.
	AddressThreshold int
	// RequestAttempts is how many failed tries end one pending sign-in
	// request.
	RequestAttempts int
}

// Throttle is the failure history of one key of a tenant: an account, a
// source address or a pending sign-in request. What the numbers mean is
// the sign-in policy's business (package oauth); the store only keeps them
// and lets one writer at a time change them (UpdateThrottles).
type Throttle struct {
	TenantID string
	Key      string
	Failures int // since the last lockout, or since the history began
	InFlight int // attempts admitted and not yet settled
	// InFlightUntil bounds InFlight: past it the attempts counted there
	// are taken as dead (their request ended without settling) and no
	// longer count.
	InFlightUntil time.Time
	Lockouts      int // lockouts so far, which set the next one's length
	LockedUntil   time.Time
	LastFailure   time.Time
	// ExpiresAt is when nothing in the row matters any more, so it may be
	// collected.
	ExpiresAt time.Time
	// Version counts the row's writes: 0 for a key with no row yet, then
	// 1, 2, … with every write.
	Version int64
}

// ThrottleOp is what UpdateThrottles does with one key.
type ThrottleOp int

const (
	// ThrottleKeep leaves the key's history as it is.
	ThrottleKeep ThrottleOp = iota
	// ThrottleStore stores ThrottleUpdate.Next as the key's history.
	ThrottleStore
	// ThrottleForget deletes the key's history.
	ThrottleForget
)

// ThrottleUpdate is one key's part of an UpdateThrottles: Next counts
// only with ThrottleStore, and its tenant, key and version are the
// store's to set.
type ThrottleUpdate struct {
	Op   ThrottleOp
	Next Throttle
}

// PermissionKind tells delegated scopes from application roles.
type PermissionKind string

const (
	// KindScope is a delegated permission, consented by a user or an admin.
	KindScope PermissionKind = "scope"
	// KindRole is an application permission (app role), consented by an admin only.
	KindRole PermissionKind = "role"
)

// Permission is one permission an app is configured to need on a resource.
// ResourceID is the resource app's client id; the empty string stands for
// the OpenID Connect scopes (openid, profile, email, offline_access).
type Permission struct {
	ResourceID string
	Kind       PermissionKind
	Value      string
}

// App is an app registration: an OAuth client that may also expose an API.
type App struct {
	TenantID string
	ClientID string
	Name     string
	Public   bool
	// RedirectURIs are the redirect URIs of the app's own kind: Web for a
	// confidential app, Mobile and desktop for a public one (which has no
	// Web platform). See WebRedirectURIs and MobileRedirectURIs.
	RedirectURIs []string
	// SPARedirectURIs are the Single-page application platform's: a code
	// sent to one is redeemed without a client secret, with PKCE, even by
	// a confidential app.
	SPARedirectURIs []string
	// NativeRedirectURIs are a confidential app's Mobile and desktop
	// platform's (a public app keeps these in RedirectURIs): redeemed as
	// SPARedirectURIs are, and http loopback ones on any port.
	NativeRedirectURIs []string
	// AllowPublicClientFlows lets a confidential app use the device code
	// flow without its credentials, as a public client would (Entra's
	// "Allow public client flows", isFallbackPublicClient).
	AllowPublicClientFlows bool
	IdentifierURI          string   // App ID URI, "api://{client_id}" by default
	Scopes                 []string // delegated scopes this app exposes as a resource
	// ScopeDetails holds who may consent to a scope of Scopes and the
	// texts consent pages show for it, keyed by scope value. A scope
	// without an entry has the zero ScopeDetail: users may consent, and
	// the pages fall back to a generic text. Nil when no scope has any.
	ScopeDetails       map[string]ScopeDetail
	Roles              []string // app roles this app exposes as a resource
	Permissions        []Permission
	ServicePrincipalID string // sub/oid of the app acting as itself
	AllowPlainPKCE     bool
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser afterwards.
	PostLogoutRedirectURIs []string
	// LogoutKeepsRefreshTokens keeps this app's refresh tokens valid when
	// the SSO session they came from signs out; by default they end with it.
	LogoutKeepsRefreshTokens bool
	// FrontChannelLogoutURI is where the browser is sent, in a hidden
	// iframe, when a session the app took part in signs out (OpenID
	// Connect Front-Channel Logout 1.0); "" for none.
	FrontChannelLogoutURI string
	// AppRoleAssignmentRequired lets only users assigned to the app, in
	// person or through a group, sign in to it (Graph's
	// appRoleAssignmentRequired).
	AppRoleAssignmentRequired bool
	// GroupMembershipClaims says which groups the app's tokens name in a
	// groups claim: GroupsNone, GroupsSecurity or GroupsAll (Graph's
	// groupMembershipClaims). As the client, in its ID tokens; as the
	// resource, in access tokens for it.
	GroupMembershipClaims GroupClaims

	// Zero means the server default.
	AccessTokenLifetime      time.Duration
	RefreshTokenLifetime     time.Duration // absolute, from the family's start
	RefreshTokenIdleLifetime time.Duration // sliding, from the last use

	CreatedAt time.Time
	UpdatedAt time.Time
}

// ScopeConsentType says who may consent to a delegated scope, under
// Entra's names.
type ScopeConsentType string

const (
	// ConsentByUser lets users consent for themselves, and admins for
	// everyone. The empty value means the same.
	ConsentByUser ScopeConsentType = "User"
	// ConsentByAdmin lets only an admin consent, for the whole tenant: a
	// user's own consent never grants the scope.
	ConsentByAdmin ScopeConsentType = "Admin"
)

// ScopeDetail is what a resource says about one of its delegated scopes:
// who may consent to it, and the texts shown when an admin or a user is
// asked to. Empty texts mean none was given.
type ScopeDetail struct {
	Type                    ScopeConsentType
	AdminConsentDisplayName string
	AdminConsentDescription string
	UserConsentDisplayName  string
	UserConsentDescription  string
}

// AdminOnly reports whether only an admin may consent to the scope.
func (d ScopeDetail) AdminOnly() bool { return d.Type == ConsentByAdmin }

// WebRedirectURIs are the app's Web platform's redirect URIs.
func (a App) WebRedirectURIs() []string {
	if a.Public {
		return nil
	}
	return a.RedirectURIs
}

// MobileRedirectURIs are the app's Mobile and desktop platform's.
func (a App) MobileRedirectURIs() []string {
	if a.Public {
		return a.RedirectURIs
	}
	return a.NativeRedirectURIs
}

// AllRedirectURIs are the redirect URIs of every platform of the app.
func (a App) AllRedirectURIs() []string {
	out := make([]string, 0, len(a.RedirectURIs)+len(a.SPARedirectURIs)+len(a.NativeRedirectURIs))
	out = append(out, a.RedirectURIs...)
	out = append(out, a.SPARedirectURIs...)
	return append(out, a.NativeRedirectURIs...)
}

// GroupClaims is an app's choice of groups claim, under Graph's names.
type GroupClaims string

const (
	// GroupsNone is no groups claim; the empty value means the same.
	GroupsNone GroupClaims = "None"
	// GroupsSecurity names the user's security groups.
	GroupsSecurity GroupClaims = "SecurityGroup"
	// GroupsAll names every group of the user. Tessera's groups are all
	// security groups, so it names the same ones as GroupsSecurity.
	GroupsAll GroupClaims = "All"
)

// Emits reports whether the choice puts a groups claim in tokens.
func (g GroupClaims) Emits() bool { return g == GroupsSecurity || g == GroupsAll }

// ClientSecret is a shared secret of a confidential app. Only its hash is kept.
type ClientSecret struct {
	ID          string
	TenantID    string
	ClientID    string
	Description string
	Hint        string // first characters of the value, for recognition
	Hash        []byte // SHA-256 of the value
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

// User is a person who signs in to a tenant.
type User struct {
	ID           string
	TenantID     string
	Username     string // unique per tenant, compared case-insensitively; admin stores the PRECIS form (internal/username)
	Email        string
	Name         string
	PasswordHash string // argon2id, PHC string format
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserQuery selects a page of users: those whose username key (the
// lower-cased username) comes after After in the engine's order, and whose
// username or display name contains Search in any case, at most Limit.
type UserQuery struct {
	After  string
	Search string
	Limit  int
}

// UserKey is the key users are ordered and paged by.
func UserKey(username string) string { return strings.ToLower(username) }

// Consent is one granted permission. PrincipalID is the user who consented,
// or empty for a tenant-wide grant by an admin (which is also how app roles
// are granted to the client app itself).
type Consent struct {
	TenantID    string
	ClientID    string
	PrincipalID string
	ResourceID  string // "" for OpenID Connect scopes
	Kind        PermissionKind
	Value       string
	CreatedAt   time.Time
}

// KeyStatus is where a signing key is in its life.
type KeyStatus string

const (
	// KeyNext is published in JWKS but does not sign yet.
	KeyNext KeyStatus = "next"
	// KeyActive signs new tokens. One per tenant.
	KeyActive KeyStatus = "active"
	// KeyRetired no longer signs; it stays published until ExpiresAt.
	KeyRetired KeyStatus = "retired"
)

// SigningKey is a tenant's token signing key. PrivateKey is encrypted with
// the master key by package token; the store never sees it in clear.
type SigningKey struct {
	TenantID   string
	ID         string // kid
	Alg        string
	Status     KeyStatus
	PrivateKey []byte // sealed
	PublicJWK  []byte // JSON
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero while next or active
}

// FactorKind is the kind of a second factor.
type FactorKind string

const (
	// FactorTOTP is an authenticator app (RFC 6238).
	FactorTOTP FactorKind = "totp"
	// FactorPasskey is a WebAuthn credential. Reserved here so that its
	// rows share the factors table; package oauth does not use it yet.
	FactorPasskey FactorKind = "passkey"
)

// Factor is one authentication method a user enrolled beside their
// password. The columns every kind has are fields; what only one kind
// has travels in Secret (sealed by the caller, never in clear here) and
// Data (kind-specific JSON, e.g. a passkey's credential id and
// transports). Counter is the kind's replay guard, only ever raised, by
// compare-and-swap: a TOTP factor's last accepted time step, a passkey's
// signature counter.
type Factor struct {
	ID         string
	TenantID   string
	UserID     string
	Kind       FactorKind
	Name       string
	Secret     []byte
	Data       []byte
	Counter    int64
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used to sign in
}

// RecoveryCode is a single-use code that stands in for a second factor.
// Only its hash is kept.
type RecoveryCode struct {
	TenantID  string
	UserID    string
	Hash      []byte
	CreatedAt time.Time
}

// Session is a single sign-on session, addressed by the hash of its cookie.
type Session struct {
	ID       string // public id, the basis of session_state and sid
	Hash     []byte // SHA-256 of the cookie value
	TenantID string
	UserID   string
	AuthTime time.Time
	// AMR are the authentication methods the session was signed in with
	// (RFC 8176 values: pwd, otp, mfa, …), grown by a step-up.
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// FrontChannelClients are the apps with a front-channel logout URI
	// that received a code or a device approval through the session: the
	// ones told when it signs out. Apps without one are not recorded.
	FrontChannelClients []string
}

// Grant is what an authorization code or refresh token carries: one
// resource's scopes plus the OpenID Connect scopes.
type Grant struct {
	ResourceID string   // client id of the resource app; "" when none
	Scopes     []string // delegated scope values on that resource
	OIDCScopes []string // subset of openid profile email offline_access
	Default    bool     // asked as "{resource}/.default"
	// PublicVia marks a grant a confidential app got without its
	// credentials, and how: "spa" or "mobile" (a code sent to one of its
	// single-page or mobile redirect URIs) or "device" (the device code
	// flow, with public client flows allowed). Its refresh tokens are
	// redeemed the same way while the app still has that platform or
	// setting. "" is a grant issued with the app's credentials.
	PublicVia string
	// ResourceName is how the client named the resource ("api://files" or
	// its client id), so that every response of the grant's life names it
	// the same way; "" names it by its identifier URI.
	ResourceName string
}

// AuthCode is an issued authorization code, addressed by its hash.
type AuthCode struct {
	Hash                []byte
	TenantID            string
	ClientID            string
	UserID              string
	SessionID           string
	RedirectURI         string
	Grant               Grant
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	AMR                 []string // the session's methods when the code was issued
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until redeemed
	FamilyID            string    // refresh family issued from it, if any
	// The access token issued from it, revoked if the code is replayed.
	AccessTokenID        string
	AccessTokenExpiresAt time.Time
}

// Redemption is what redeeming a code or device code issues, written in
// the same transaction that spends it.
type Redemption struct {
	AccessTokenID        string
	AccessTokenExpiresAt time.Time
	Family               *RefreshFamily // nil when no refresh token is issued
	First                *RefreshToken
}

// RefreshFamily links a chain of rotated refresh tokens. Revoking it kills
// every token of the chain.
type RefreshFamily struct {
	ID        string
	TenantID  string
	ClientID  string
	UserID    string
	SessionID string
	AuthTime  time.Time
	// AMR are the methods of the sign-in the family came from: every
	// token of the chain carries them unchanged.
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time // absolute end of the family
	RevokedAt time.Time
}

// RefreshToken is one link of a family, addressed by its hash.
type RefreshToken struct {
	Hash       []byte
	TenantID   string
	FamilyID   string
	ParentHash []byte // nil for the first of a family
	Generation int
	Grant      Grant // what a redemption without scope asks for
	CreatedAt  time.Time
	ExpiresAt  time.Time // min(family end, last use + idle lifetime)
	UsedAt     time.Time
}

// DeviceStatus is where a device authorization is in its life.
type DeviceStatus string

const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
)

// DeviceCode is an RFC 8628 device authorization, addressed by the hash of
// its device_code and, while pending, by its user code.
type DeviceCode struct {
	Hash       []byte
	TenantID   string
	ClientID   string
	UserCode   string // normalized: upper case, no separator
	Grant      Grant  // what the device asked for
	Status     DeviceStatus
	UserID     string
	SessionID  string
	AuthTime   time.Time
	AMR        []string // the approving session's methods
	Interval   time.Duration
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastPollAt time.Time
	UsedAt     time.Time
}

// DeviceDecision is the user's answer on the verification page.
type DeviceDecision struct {
	Status    DeviceStatus // DeviceApproved or DeviceDenied
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	Grant     Grant
}

// CredentialKind tells how an app proves itself with a key.
type CredentialKind string

const (
	CredentialCertificate CredentialKind = "certificate"
	CredentialJWK         CredentialKind = "jwk"
)

// AppCredential is a public key an app signs client assertions with
// (RFC 7523 private_key_jwt): an X.509 certificate or a bare JWK.
type AppCredential struct {
	ID               string // x5t#S256 of a certificate, or the JWK thumbprint (RFC 7638), base64url
	TenantID         string
	ClientID         string
	Kind             CredentialKind
	Description      string
	PublicKey        []byte // DER certificate, or JWK JSON
	SHA1Thumbprint   []byte // x5t, certificates only
	SHA256Thumbprint []byte // x5t#S256, or the JWK thumbprint
	ExpiresAt        time.Time
	CreatedAt        time.Time
}

// RoleAssignment is a directory role a user holds in their tenant.
type RoleAssignment struct {
	TenantID  string
	UserID    string
	Role      string // one of the names package admin defines
	CreatedAt time.Time
}

// PrincipalType tells the kinds of directory object that can be members
// of a group or hold an app role.
type PrincipalType string

const (
	PrincipalUser  PrincipalType = "user"
	PrincipalGroup PrincipalType = "group"
)

// Group is a security group of a tenant's directory. Its members are
// users and groups; a group nested in another passes that group's
// memberships (and app roles) on to its own members, one level deep.
type Group struct {
	ID          string
	TenantID    string
	Name        string // displayName; not unique
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupKey is the key groups are ordered, paged and searched by.
func GroupKey(name string) string { return strings.ToLower(name) }

// GroupQuery selects a page of groups: those after After (a GroupCursor)
// in the order of their lower-cased names, then ids, whose name contains
// Search in any case, at most Limit.
type GroupQuery struct {
	After  string
	Search string
	Limit  int
}

// GroupCursor is where a page of groups that ends with g stops.
func GroupCursor(g Group) string { return GroupKey(g.Name) + "\x00" + g.ID }

// GroupMember is one member of a group.
type GroupMember struct {
	TenantID   string
	GroupID    string
	MemberID   string
	MemberType PrincipalType
	CreatedAt  time.Time
	// MemberName is filled in by reads, in the same query: the member
	// user's username or group's name ("" should it be gone). Writes
	// ignore it.
	MemberName string
}

// MemberQuery selects a page of a group's members in (type, id) order:
// those of Type ("" for both), after After (a MemberCursor), at most Limit
// (0 for all).
type MemberQuery struct {
	Type  PrincipalType
	After string
	Limit int
}

// MemberCursor is where a page of members that ends with m stops.
func MemberCursor(m GroupMember) string { return string(m.MemberType) + "\x00" + m.MemberID }

// AppRoleAssignment gives a user or a group one app role of a resource
// app (Entra's appRoleAssignment to a user or group).
type AppRoleAssignment struct {
	ID            string
	TenantID      string
	PrincipalID   string
	PrincipalType PrincipalType
	ResourceID    string // the client id of the app that defines the role
	Role          string // the role's value, one of the resource's Roles
	CreatedAt     time.Time
	// PrincipalName is filled in by reads, as GroupMember.MemberName.
	PrincipalName string
}

// AccessQuery asks what a user holds for a token: their groups' ids
// (Groups), and the app roles of the Resources (client ids) they are
// assigned, in person or through a group.
type AccessQuery struct {
	Groups    bool
	Resources []string
}

// Access is what a user holds, as AccessQuery asked: the ids of the groups
// they are a member of, directly or through one level of nesting, sorted;
// and per resource client id, the roles assigned to them or to one of
// those groups, sorted and without repeats. A resource with none is
// absent.
type Access struct {
	GroupIDs []string
	Roles    map[string][]string
}

// Store is the persistence contract. Every method that changes state is one
// transaction. Methods addressed by tenant return ErrNotFound for rows of
// other tenants.
type Store interface {
	CreateTenant(ctx context.Context, t Tenant) error
	// GetTenant finds a tenant by id or by name.
	GetTenant(ctx context.Context, idOrName string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	// DeleteTenant removes a tenant and everything it holds (apps, users,
	// keys, grants, sessions, tokens) in one transaction, except its audit
	// log, which outlives it until collected; ErrNotFound if there is no
	// such tenant.
	DeleteTenant(ctx context.Context, tenantID string) error
	// SetTenantLockout replaces a tenant's lockout settings.
	SetTenantLockout(ctx context.Context, tenantID string, l LockoutSettings) error
	// SetTenantMFA replaces a tenant's MFA policy.
	SetTenantMFA(ctx context.Context, tenantID string, p MFAPolicy) error

	CreateApp(ctx context.Context, a App) error
	GetApp(ctx context.Context, tenantID, clientID string) (App, error)
	// GetAppByIdentifier finds an app by client id or identifier URI.
	GetAppByIdentifier(ctx context.Context, tenantID, identifier string) (App, error)
	ListApps(ctx context.Context, tenantID string) ([]App, error)
	// UpdateApp replaces every mutable field of an existing app.
	UpdateApp(ctx context.Context, a App) error
	// UpdateAppIf is UpdateApp only if the stored app's UpdatedAt is still
	// ifUpdatedAt (at millisecond precision; the zero time matches any):
	// ErrNotLive if it changed since, ErrNotFound if it is gone.
	UpdateAppIf(ctx context.Context, a App, ifUpdatedAt time.Time) error

	AddClientSecret(ctx context.Context, s ClientSecret) error
	ListClientSecrets(ctx context.Context, tenantID, clientID string) ([]ClientSecret, error)
	RemoveClientSecret(ctx context.Context, tenantID, clientID, secretID string) error

	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, tenantID, userID string) (User, error)
	GetUserByUsername(ctx context.Context, tenantID, username string) (User, error)
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// ListUsersPage reads one page of a tenant's users in the order of
	// their username keys (lower-cased usernames), as people page through
	// a directory of any size: no more than q.Limit rows are read.
	ListUsersPage(ctx context.Context, tenantID string, q UserQuery) ([]User, error)
	// UpdateUser replaces email, name, password hash and disabled.
	UpdateUser(ctx context.Context, u User) error
	// UpdateUserIf is UpdateUser only if the stored user's UpdatedAt is
	// still ifUpdatedAt, as UpdateAppIf.
	UpdateUserIf(ctx context.Context, u User, ifUpdatedAt time.Time) error

	// DeleteApp removes an app registration with its secrets, credentials,
	// the consents given to it and those other apps hold on its API, and
	// revokes its refresh token families, in one transaction; ErrNotFound
	// if there is no such app.
	DeleteApp(ctx context.Context, tenantID, clientID string, now time.Time) error
	// DeleteUser removes a user with their consents and SSO sessions and
	// revokes their refresh token families, in one transaction; ErrNotFound
	// if there is no such user.
	DeleteUser(ctx context.Context, tenantID, userID string, now time.Time) error
	// RevokeUserSessions ends every SSO session of a user and revokes their
	// refresh token families, in one transaction (Graph's
	// revokeSignInSessions).
	RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time) error

	// AddDirectoryRole gives a user a role: ErrConflict if they hold it,
	// ErrNotFound if there is no such user.
	AddDirectoryRole(ctx context.Context, r RoleAssignment) error
	// RemoveDirectoryRole takes a role from a user: ErrNotFound if they do
	// not hold it.
	RemoveDirectoryRole(ctx context.Context, tenantID, userID, role string) error
	// ListDirectoryRoles returns the roles a user holds, or, for an empty
	// userID, every assignment of the tenant.
	ListDirectoryRoles(ctx context.Context, tenantID, userID string) ([]RoleAssignment, error)

	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, tenantID, groupID string) (Group, error)
	// ListGroupsPage reads one page of a tenant's groups (see GroupQuery).
	ListGroupsPage(ctx context.Context, tenantID string, q GroupQuery) ([]Group, error)
	// UpdateGroupIf replaces a group's name and description, only if its
	// UpdatedAt is still ifUpdatedAt, as UpdateAppIf.
	UpdateGroupIf(ctx context.Context, g Group, ifUpdatedAt time.Time) error
	// DeleteGroup removes a group with its members, its own memberships
	// of other groups and its app role assignments, in one transaction;
	// ErrNotFound if there is no such group.
	DeleteGroup(ctx context.Context, tenantID, groupID string) error
	// AddGroupMember adds a member: ErrConflict if it is one already,
	// ErrNotFound if there is no such group. That the member exists is the
	// caller's to check.
	AddGroupMember(ctx context.Context, m GroupMember) error
	// RemoveGroupMember removes a member: ErrNotFound if it is none.
	RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error
	// ListGroupMembers returns a page of a group's direct members (see
	// MemberQuery).
	ListGroupMembers(ctx context.Context, tenantID, groupID string, q MemberQuery) ([]GroupMember, error)
	// ListMemberships returns the groups a user or group is a direct
	// member of, as memberships.
	ListMemberships(ctx context.Context, tenantID, memberID string) ([]GroupMember, error)

	// AddAppRoleAssignment assigns an app role: ErrConflict if the
	// principal holds it already, ErrNotFound if the resource app is gone.
	// That the principal exists is the caller's to check.
	AddAppRoleAssignment(ctx context.Context, a AppRoleAssignment) error
	// RemoveAppRoleAssignment removes one by id: ErrNotFound if none.
	RemoveAppRoleAssignment(ctx context.Context, tenantID, id string) error
	// ListAppRoleAssignments returns the assignments to a principal (for a
	// principalID) or of a resource's roles (for a resourceID), or those
	// matching both.
	ListAppRoleAssignments(ctx context.Context, tenantID, principalID, resourceID string) ([]AppRoleAssignment, error)
	// UserAccess answers q for a user with one query, for a token.
	UserAccess(ctx context.Context, tenantID, userID string, q AccessQuery) (Access, error)

	// AddConsents records grants; granting one twice is not an error.
	AddConsents(ctx context.Context, cs []Consent) error
	// ListConsents returns the principal's grants to the client plus the
	// tenant-wide ones. An empty principalID returns the tenant-wide ones.
	ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]Consent, error)
	// ListClientConsents returns every grant to the client: each user's
	// and the tenant-wide ones.
	ListClientConsents(ctx context.Context, tenantID, clientID string) ([]Consent, error)
	// RemoveConsent removes one grant; ErrNotFound if it was not given.
	RemoveConsent(ctx context.Context, c Consent) error
	// RemoveConsents removes the principal's grants to the client (the
	// tenant-wide ones when principalID is empty).
	RemoveConsents(ctx context.Context, tenantID, clientID, principalID string) error
	// RemoveGrant removes the principal's delegated scopes of one resource
	// to the client (Graph's oauth2PermissionGrant) and, for a user's,
	// revokes the client's refresh families of that user, in one
	// transaction: ErrNotFound when there were no such scopes.
	RemoveGrant(ctx context.Context, tenantID, clientID, principalID, resourceID string, now time.Time) error

	// ListUserConsents returns every grant the user gave for themselves,
	// to any client, ordered by client (tenant-wide grants are not the
	// user's and are not listed).
	ListUserConsents(ctx context.Context, tenantID, userID string) ([]Consent, error)
	// WithdrawConsent removes every grant the user gave the client (each
	// resource's scopes and the OpenID Connect scopes) and revokes the
	// client's refresh families of that user, in one transaction:
	// ErrNotFound when the user had granted the client nothing.
	WithdrawConsent(ctx context.Context, tenantID, clientID, userID string, now time.Time) error

	AddSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns the tenant's keys that are next, active, or
	// retired with ExpiresAt after now.
	ListSigningKeys(ctx context.Context, tenantID string, now time.Time) ([]SigningKey, error)
	// RotateSigningKeys, in one transaction: the active key becomes retired
	// with retiredExpiresAt, the next key becomes active, and newNext is added.
	RotateSigningKeys(ctx context.Context, tenantID string, newNext SigningKey, retiredExpiresAt time.Time) error

	// AddFactor enrols a factor and, when codes is not nil, replaces the
	// user's recovery codes with codes, in one transaction; ErrNotFound if
	// there is no such user.
	AddFactor(ctx context.Context, f Factor, codes []RecoveryCode) error
	// ListFactors returns a user's factors, oldest first.
	ListFactors(ctx context.Context, tenantID, userID string) ([]Factor, error)
	// GetFactor finds a factor by id, whoever's it is: a passkey's
	// assertion names its credential before anyone knows the user.
	GetFactor(ctx context.Context, tenantID, factorID string) (Factor, error)
	// RemoveFactor removes one factor of a user; ErrNotFound if they have
	// no such factor. When it was their last, their recovery codes go too.
	RemoveFactor(ctx context.Context, tenantID, userID, factorID string) error
	// ResetFactors removes every factor and recovery code of a user.
	ResetFactors(ctx context.Context, tenantID, userID string) error
	// AdvanceFactorCounter sets a factor's Counter to counter and its
	// LastUsedAt to now, only if the stored counter is lower: ErrNotLive
	// otherwise (the step or signature was used already, also by a
	// concurrent caller), ErrNotFound if the factor is gone.
	AdvanceFactorCounter(ctx context.Context, tenantID, factorID string, counter int64, now time.Time) error
	// SetRecoveryCodes replaces a user's recovery codes.
	SetRecoveryCodes(ctx context.Context, tenantID, userID string, codes []RecoveryCode) error
	// UseRecoveryCode spends one of a user's recovery codes: of any number
	// of concurrent callers one succeeds, the others get ErrNotLive, as
	// does a code the user does not have.
	UseRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) error
	// CountRecoveryCodes returns how many unspent recovery codes a user has.
	CountRecoveryCodes(ctx context.Context, tenantID, userID string) (int, error)

	CreateSession(ctx context.Context, s Session) error
	// UpgradeSession replaces a session's AMR and authentication time
	// after a step-up (the user has just authenticated again, with more);
	// ErrNotFound when it is gone.
	UpgradeSession(ctx context.Context, tenantID, sessionID string, amr []string, authTime time.Time) error
	// RenewSession gives the session of renewed.ID, while its cookie's
	// hash is still oldHash, renewed's hash (a new cookie secret), methods,
	// authentication time and expiry, when its user signs in again in the
	// same browser: its id and what was issued in it stay. ErrNotFound
	// when it is gone, or was renewed meanwhile (another tab).
	RenewSession(ctx context.Context, tenantID string, oldHash []byte, renewed Session) error
	GetSession(ctx context.Context, tenantID string, hash []byte) (Session, error)
	// GetSessionByID finds a session by its public id, for what was issued
	// in it (codes, device codes) and must end with it.
	GetSessionByID(ctx context.Context, tenantID, id string) (Session, error)
	DeleteSession(ctx context.Context, tenantID string, hash []byte) error
	// ListUserSessions returns the user's SSO sessions that are live at
	// now, newest first: what the user's account page lists.
	ListUserSessions(ctx context.Context, tenantID, userID string, now time.Time) ([]Session, error)
	// EndUserSessions ends those of the sessions named by ids that belong
	// to userID, as signing out does: each is deleted and the refresh
	// families started in it are revoked, except those of the clients in
	// keep, all in one transaction. Ids of other users' sessions, or of
	// none, are skipped. It returns how many sessions it ended.
	EndUserSessions(ctx context.Context, tenantID, userID string, ids, keep []string, now time.Time) (int, error)
	// AddSessionFrontChannelClient adds clientID to the session's
	// FrontChannelClients, once however often or concurrently it is
	// called; ErrNotFound when the session is gone.
	AddSessionFrontChannelClient(ctx context.Context, tenantID, sessionID, clientID string) error

	CreateAuthCode(ctx context.Context, c AuthCode) error
	GetAuthCode(ctx context.Context, tenantID string, hash []byte) (AuthCode, error)
	// RedeemAuthCode marks the code used, records the access token issued
	// from it and, when r.Family is not nil, creates the family with its
	// first token and links it to the code, all in one transaction. It
	// returns ErrNotLive if the code was already used. The used code is
	// kept until what it issued expires (its access token, its family), so
	// a replay after DeleteExpired still finds and revokes them.
	RedeemAuthCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r Redemption) error

	// CreateDeviceCode stores a pending device authorization; ErrConflict
	// if its user code is taken in the tenant (the caller draws another).
	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (DeviceCode, error)
	GetDeviceCodeByUserCode(ctx context.Context, tenantID, userCode string) (DeviceCode, error)
	// PollDeviceCode records a poll at now and returns the code as it was
	// before, so LastPollAt is the previous poll (zero for the first).
	PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (DeviceCode, error)
	// DecideDeviceCode approves or denies a pending, unexpired code;
	// otherwise ErrNotLive.
	DecideDeviceCode(ctx context.Context, tenantID string, hash []byte, d DeviceDecision, now time.Time) error
	// RedeemDeviceCode marks an approved, unused code used and creates the
	// family (when r.Family is set) in one transaction; otherwise ErrNotLive.
	RedeemDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r Redemption) error

	AddAppCredential(ctx context.Context, c AppCredential) error
	ListAppCredentials(ctx context.Context, tenantID, clientID string) ([]AppCredential, error)
	RemoveAppCredential(ctx context.Context, tenantID, clientID, id string) error

	// UseAssertionID records a client assertion's jti until expiresAt; it
	// returns ErrConflict if the same client used it before (a replay).
	UseAssertionID(ctx context.Context, tenantID, clientID, jti string, expiresAt time.Time) error

	// RevokeAccessToken records an access token's jti as revoked until it
	// expires; revoking twice is not an error.
	RevokeAccessToken(ctx context.Context, tenantID, jti string, expiresAt time.Time) error
	IsAccessTokenRevoked(ctx context.Context, tenantID, jti string) (bool, error)

	// Hit counts one event against key in the fixed window of the given
	// length that contains now, and returns the window's count so far
	// (this event included).
	Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)

	// GetThrottle returns a key's failure history, ErrNotFound when it has
	// none.
	GetThrottle(ctx context.Context, tenantID, key string) (Throttle, error)
	// UpdateThrottles reads the histories of keys (the zero history,
	// version 0, for a key without one), passes them to change in the
	// order of keys, and does what change returns for each, in one
	// transaction that holds the keys against every other writer
	// meanwhile: of any number of concurrent updates, on any instance,
	// none is lost and none has to be retried by the caller. change must
	// be pure, since a transient conflict runs it again on a fresh read;
	// an error from it writes nothing and is returned as it is. It
	// returns the histories as they stand after.
	UpdateThrottles(ctx context.Context, tenantID string, keys []string, change func(cur []Throttle) ([]ThrottleUpdate, error)) ([]Throttle, error)

	// CreateRefreshFamily starts a family outside the code flow.
	CreateRefreshFamily(ctx context.Context, f RefreshFamily, first RefreshToken) error
	// GetRefreshToken returns a token and its family.
	GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (RefreshToken, RefreshFamily, error)
	// GetRefreshFamily finds a family by id, revoked or not, for the access
	// tokens that name it: they live no longer than it does.
	GetRefreshFamily(ctx context.Context, tenantID, familyID string) (RefreshFamily, error)
	// RotateRefreshToken marks the parent used and inserts the successor in
	// one transaction, only if the parent is unused, unexpired at now and its
	// family is not revoked; otherwise it returns ErrNotLive and changes
	// nothing. Exactly one of any number of concurrent callers wins. The
	// used parent is kept while its family lives, so a late reuse is still
	// recognised and revokes the family.
	RotateRefreshToken(ctx context.Context, tenantID string, parentHash []byte, successor RefreshToken, now time.Time) error
	RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) error
	// RevokeUserRefreshFamilies revokes the user's families for one client,
	// or for every client when clientID is empty.
	RevokeUserRefreshFamilies(ctx context.Context, tenantID, userID, clientID string, now time.Time) error
	// RevokeSessionRefreshFamilies revokes the families started in an SSO
	// session, except those of the clients listed in keep.
	RevokeSessionRefreshFamilies(ctx context.Context, tenantID, sessionID string, keep []string, now time.Time) error

	// AppendAudit records one audit entry on its own, for events that
	// change nothing else (a sign-in). A change records its entry in its
	// own transaction instead: see WithAudit.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns a tenant's entries of one log, newest first.
	ListAudit(ctx context.Context, tenantID string, q AuditQuery) ([]AuditEntry, error)

	// DeleteExpired removes at most limit expired rows of each kind (codes,
	// auth requests stored before pending requests were sealed, sessions,
	// refresh tokens, families, device codes, assertion ids, revoked access
	// token ids, rate-limit windows, throttles, audit entries past their
	// retention) and returns how many it
	// removed in all.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error)

	Close() error
}
