// Package readcache serves the directory reads every token request makes
// (tenant, app, secrets, credentials, consents, user, signing keys) from
// process memory, so that with a shared store a token response costs one
// write transaction instead of a round trip per read. Entries live for a
// short TTL and are all dropped at once when the store reports a change
// (a Notifier, such as sqlstore.Postgres, or a Versioned store such as
// sqlstore.SQLite, see Wrap), so a change made by any instance or the
// admin CLI is seen everywhere at once; the TTL bounds staleness should a
// notification be lost. Token state (codes, refresh tokens, sessions) and
// sign-in throttles are never cached.
package readcache

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/store"
)

// maxEntries bounds memory under hostile lookups; reaching it flushes.
const maxEntries = 100_000

// Store wraps a store.Store. It writes out every method of the contract
// rather than embedding the store it wraps, so that a method added to
// store.Store does not compile here until someone decides whether it
// reads the cache, flushes it, or passes through: a write that silently
// skipped the flush would serve stale rows for the TTL.
//
// What it hands out is a copy: a caller that changes a returned app's
// redirect URIs or a secret's hash changes nothing in the cache.
type Store struct {
	inner store.Store
	ttl   time.Duration
	now   func() time.Time

	mu      sync.RWMutex
	gen     uint64
	entries map[key]entry
	onWrite []func()

	// With a versioned store, the cache is checked against the store's
	// directory version at most once per interval, instead of waiting to
	// be told of changes.
	version      func(context.Context) (int64, error)
	interval     time.Duration
	checkedAt    atomic.Int64 // unix nanoseconds of the last check
	knownVersion atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Versioned is a store that counts changes to its directory (see
// sqlstore.SQLite.DirectoryVersion and sqlstore.MySQL.DirectoryVersion).
type Versioned interface {
	DirectoryVersion(ctx context.Context) (int64, error)
}

// Notifier is a store that reports changes to its directory made by any
// process (see sqlstore.Postgres.Changes). The channel closes when ctx
// ends.
type Notifier interface {
	Changes(ctx context.Context) <-chan struct{}
}

// Wrap wraps inner, kept in step with other processes the way inner
// allows: flushed on every change its feed reports (Notifier), or checked
// against its directory version at most every interval (Versioned);
// otherwise only its own writes and the TTL bound what it serves. The feed
// lives as long as ctx.
func Wrap(ctx context.Context, inner store.Store, ttl, interval time.Duration) *Store {
	if n, ok := inner.(Notifier); ok {
		return New(inner, ttl, n.Changes(ctx))
	}
	if v, ok := inner.(Versioned); ok {
		return NewVersioned(inner, v, ttl, interval)
	}
	return New(inner, ttl, nil)
}

// NewVersioned wraps a store that is shared with other processes but
// cannot notify them (SQLite, MySQL): every interval at most, one read of
// the store's directory version tells whether anything changed. A change
// made by another instance or the admin CLI is thus seen within interval
// plus one request.
func NewVersioned(inner store.Store, v Versioned, ttl, interval time.Duration) *Store {
	s := New(inner, ttl, nil)
	s.version, s.interval = v.DirectoryVersion, interval
	s.knownVersion.Store(-1)
	return s
}

// New wraps inner. changes signals that the directory changed somewhere;
// the wrapper flushes on every signal until the channel closes.
func New(inner store.Store, ttl time.Duration, changes <-chan struct{}) *Store {
	s := &Store{inner: inner, ttl: ttl, now: time.Now, entries: map[key]entry{}}
	if changes != nil {
		go func() {
			for range changes {
				s.Flush()
			}
		}()
	}
	return s
}

// revalidate flushes when the directory version moved. One caller per
// interval reads it; the others go on with what they have.
func (s *Store) revalidate(ctx context.Context) {
	if s.version == nil {
		return
	}
	now := s.now().UnixNano()
	last := s.checkedAt.Load()
	if now-last < int64(s.interval) || !s.checkedAt.CompareAndSwap(last, now) {
		return
	}
	v, err := s.version(ctx)
	if err != nil {
		s.Flush() // unknown: serve nothing from memory until it answers
		s.checkedAt.Store(0)
		return
	}
	if s.knownVersion.Swap(v) != v {
		s.Flush()
	}
}

type key struct {
	kind string
	a, b string
}

type entry struct {
	val     any
	expires time.Time
}

// OnWrite registers fn to run after every write made through this
// wrapper, e.g. to flush a sibling cache in the same process.
func (s *Store) OnWrite(fn func()) {
	s.mu.Lock()
	s.onWrite = append(s.onWrite, fn)
	s.mu.Unlock()
}

// changed flushes after a write and tells the listeners.
func (s *Store) changed() {
	s.Flush()
	s.mu.RLock()
	fns := append([]func(){}, s.onWrite...)
	s.mu.RUnlock()
	for _, fn := range fns {
		fn()
	}
}

// Flush drops every entry.
func (s *Store) Flush() {
	s.mu.Lock()
	s.gen++
	s.entries = map[key]entry{}
	s.mu.Unlock()
}

// get returns a copy (clone) of a cached value, or loads it. A load that
// raced with a flush is returned but not kept, so a flush is never undone
// by a stale read.
func get[T any](ctx context.Context, s *Store, k key, clone func(T) T, load func() (T, error)) (T, error) {
	s.revalidate(ctx)
	s.mu.RLock()
	e, ok := s.entries[k]
	gen := s.gen
	s.mu.RUnlock()
	if ok && s.now().Before(e.expires) {
		return clone(e.val.(T)), nil
	}
	v, err := load()
	if err != nil {
		return v, err // errors, not-found included, are not cached
	}
	s.mu.Lock()
	if s.gen == gen {
		if len(s.entries) >= maxEntries {
			s.entries = map[key]entry{}
		}
		s.entries[k] = entry{val: v, expires: s.now().Add(s.ttl)}
	}
	s.mu.Unlock()
	return clone(v), nil
}

// Copies of what the cache holds, for callers to keep or change: every
// slice and byte slice is new. Values without any (Tenant, User, Consent)
// are copies already. The slices of one value share one new backing array,
// capped so that appending to one reallocates it rather than spilling into
// the next: a token request copies an app, its secrets and keys, and one
// allocation each keeps that below a microsecond.

func same[T any](v T) T { return v }

// carve hands out copies of slices from one backing array of capacity n.
type carve[E any] struct{ buf []E }

func (c *carve[E]) copy(s []E) []E {
	if s == nil {
		return nil
	}
	start := len(c.buf)
	c.buf = append(c.buf, s...)
	return c.buf[start:len(c.buf):len(c.buf)]
}

func cloneApp(a store.App) store.App {
	c := carve[string]{make([]string, 0, len(a.RedirectURIs)+len(a.Scopes)+len(a.Roles)+len(a.PostLogoutRedirectURIs)+
		len(a.SPARedirectURIs)+len(a.NativeRedirectURIs))}
	a.RedirectURIs, a.Scopes, a.Roles = c.copy(a.RedirectURIs), c.copy(a.Scopes), c.copy(a.Roles)
	a.PostLogoutRedirectURIs = c.copy(a.PostLogoutRedirectURIs)
	a.SPARedirectURIs, a.NativeRedirectURIs = c.copy(a.SPARedirectURIs), c.copy(a.NativeRedirectURIs)
	a.Permissions = slices.Clone(a.Permissions)
	// A ScopeDetail holds only strings, so a shallow copy of the map is a
	// full one.
	a.ScopeDetails = maps.Clone(a.ScopeDetails)
	return a
}

func cloneSecrets(cs []store.ClientSecret) []store.ClientSecret {
	cs = slices.Clone(cs)
	n := 0
	for _, s := range cs {
		n += len(s.Hash)
	}
	c := carve[byte]{make([]byte, 0, n)}
	for i := range cs {
		cs[i].Hash = c.copy(cs[i].Hash)
	}
	return cs
}

func cloneCredentials(cs []store.AppCredential) []store.AppCredential {
	cs = slices.Clone(cs)
	n := 0
	for _, k := range cs {
		n += len(k.PublicKey) + len(k.SHA1Thumbprint) + len(k.SHA256Thumbprint)
	}
	c := carve[byte]{make([]byte, 0, n)}
	for i := range cs {
		k := &cs[i]
		k.PublicKey, k.SHA1Thumbprint, k.SHA256Thumbprint = c.copy(k.PublicKey), c.copy(k.SHA1Thumbprint), c.copy(k.SHA256Thumbprint)
	}
	return cs
}

// Cached reads.

// GetTenant implements store.Store.
func (s *Store) GetTenant(ctx context.Context, idOrName string) (store.Tenant, error) {
	return get(ctx, s, key{"tenant", idOrName, ""}, same, func() (store.Tenant, error) { return s.inner.GetTenant(ctx, idOrName) })
}

// GetApp implements store.Store.
func (s *Store) GetApp(ctx context.Context, tenantID, clientID string) (store.App, error) {
	return get(ctx, s, key{"app", tenantID, clientID}, cloneApp, func() (store.App, error) { return s.inner.GetApp(ctx, tenantID, clientID) })
}

// GetAppByIdentifier implements store.Store.
func (s *Store) GetAppByIdentifier(ctx context.Context, tenantID, identifier string) (store.App, error) {
	return get(ctx, s, key{"appid", tenantID, identifier}, cloneApp, func() (store.App, error) {
		return s.inner.GetAppByIdentifier(ctx, tenantID, identifier)
	})
}

// ListClientSecrets implements store.Store.
func (s *Store) ListClientSecrets(ctx context.Context, tenantID, clientID string) ([]store.ClientSecret, error) {
	return get(ctx, s, key{"secrets", tenantID, clientID}, cloneSecrets, func() ([]store.ClientSecret, error) {
		return s.inner.ListClientSecrets(ctx, tenantID, clientID)
	})
}

// ListAppCredentials implements store.Store.
func (s *Store) ListAppCredentials(ctx context.Context, tenantID, clientID string) ([]store.AppCredential, error) {
	return get(ctx, s, key{"creds", tenantID, clientID}, cloneCredentials, func() ([]store.AppCredential, error) {
		return s.inner.ListAppCredentials(ctx, tenantID, clientID)
	})
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, tenantID, userID string) (store.User, error) {
	return get(ctx, s, key{"user", tenantID, userID}, same, func() (store.User, error) { return s.inner.GetUser(ctx, tenantID, userID) })
}

// ListConsents implements store.Store.
func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]store.Consent, error) {
	return get(ctx, s, key{"consents", tenantID, clientID + "\x00" + principalID}, slices.Clone, func() ([]store.Consent, error) {
		return s.inner.ListConsents(ctx, tenantID, clientID, principalID)
	})
}

// ListSigningKeys implements store.Store. The cached list is filtered by
// each caller's now, so a retired key leaves the answer the moment it
// expires, cached or not; what is left is copied.
func (s *Store) ListSigningKeys(ctx context.Context, tenantID string, now time.Time) ([]store.SigningKey, error) {
	all, err := get(ctx, s, key{"keys", tenantID, ""}, same, func() ([]store.SigningKey, error) {
		return s.inner.ListSigningKeys(ctx, tenantID, now)
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.SigningKey, 0, len(all))
	n := 0
	for _, k := range all {
		n += len(k.PrivateKey) + len(k.PublicJWK)
	}
	c := carve[byte]{make([]byte, 0, n)}
	for _, k := range all {
		if k.Status != store.KeyRetired || k.ExpiresAt.After(now) {
			k.PrivateKey, k.PublicJWK = c.copy(k.PrivateKey), c.copy(k.PublicJWK)
			out = append(out, k)
		}
	}
	return out, nil
}

// Writes to what is cached: they flush locally at once (the store's
// notification, or its directory version, does the same for every other
// process), also when they fail, since a failure may come after the
// change.

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	defer s.changed()
	return s.inner.CreateTenant(ctx, t)
}

// SetTenantLockout implements store.Store. The settings travel in the
// cached tenant, so the sign-in page reads them at no cost.
func (s *Store) SetTenantLockout(ctx context.Context, tenantID string, l store.LockoutSettings) error {
	defer s.changed()
	return s.inner.SetTenantLockout(ctx, tenantID, l)
}

// SetTenantMFA implements store.Store. The policy travels in the cached
// tenant, as the lockout settings do.
func (s *Store) SetTenantMFA(ctx context.Context, tenantID string, p store.MFAPolicy) error {
	defer s.changed()
	return s.inner.SetTenantMFA(ctx, tenantID, p)
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	defer s.changed()
	return s.inner.CreateApp(ctx, a)
}

// UpdateApp implements store.Store.
func (s *Store) UpdateApp(ctx context.Context, a store.App) error {
	defer s.changed()
	return s.inner.UpdateApp(ctx, a)
}

// UpdateAppIf implements store.Store.
func (s *Store) UpdateAppIf(ctx context.Context, a store.App, ifUpdatedAt time.Time) error {
	defer s.changed()
	return s.inner.UpdateAppIf(ctx, a, ifUpdatedAt)
}

// AddClientSecret implements store.Store.
func (s *Store) AddClientSecret(ctx context.Context, cs store.ClientSecret) error {
	defer s.changed()
	return s.inner.AddClientSecret(ctx, cs)
}

// RemoveClientSecret implements store.Store.
func (s *Store) RemoveClientSecret(ctx context.Context, tenantID, clientID, secretID string) error {
	defer s.changed()
	return s.inner.RemoveClientSecret(ctx, tenantID, clientID, secretID)
}

// AddAppCredential implements store.Store.
func (s *Store) AddAppCredential(ctx context.Context, c store.AppCredential) error {
	defer s.changed()
	return s.inner.AddAppCredential(ctx, c)
}

// RemoveAppCredential implements store.Store.
func (s *Store) RemoveAppCredential(ctx context.Context, tenantID, clientID, id string) error {
	defer s.changed()
	return s.inner.RemoveAppCredential(ctx, tenantID, clientID, id)
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	defer s.changed()
	return s.inner.CreateUser(ctx, u)
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	defer s.changed()
	return s.inner.UpdateUser(ctx, u)
}

// UpdateUserIf implements store.Store.
func (s *Store) UpdateUserIf(ctx context.Context, u store.User, ifUpdatedAt time.Time) error {
	defer s.changed()
	return s.inner.UpdateUserIf(ctx, u, ifUpdatedAt)
}

// DeleteTenant implements store.Store.
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) error {
	defer s.changed()
	return s.inner.DeleteTenant(ctx, tenantID)
}

// DeleteApp implements store.Store.
func (s *Store) DeleteApp(ctx context.Context, tenantID, clientID string, now time.Time) error {
	defer s.changed()
	return s.inner.DeleteApp(ctx, tenantID, clientID, now)
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, tenantID, userID string, now time.Time) error {
	defer s.changed()
	return s.inner.DeleteUser(ctx, tenantID, userID, now)
}

// RevokeUserSessions implements store.Store. Sessions and refresh
// families are not cached.
func (s *Store) RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time) error {
	return s.inner.RevokeUserSessions(ctx, tenantID, userID, now)
}

// AddDirectoryRole implements store.Store. Directory roles are read on
// each admin call and never cached.
func (s *Store) AddDirectoryRole(ctx context.Context, r store.RoleAssignment) error {
	return s.inner.AddDirectoryRole(ctx, r)
}

// RemoveDirectoryRole implements store.Store.
func (s *Store) RemoveDirectoryRole(ctx context.Context, tenantID, userID, role string) error {
	return s.inner.RemoveDirectoryRole(ctx, tenantID, userID, role)
}

// ListDirectoryRoles implements store.Store.
func (s *Store) ListDirectoryRoles(ctx context.Context, tenantID, userID string) ([]store.RoleAssignment, error) {
	return s.inner.ListDirectoryRoles(ctx, tenantID, userID)
}

// Groups, members and app role assignments are never cached: the token
// paths that need them (an app with roles, a groups claim or assignment
// required) read them from the store, so that a change shows in the next
// token, and writing them changes nothing cached.

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	return s.inner.CreateGroup(ctx, g)
}

// GetGroup implements store.Store.
func (s *Store) GetGroup(ctx context.Context, tenantID, groupID string) (store.Group, error) {
	return s.inner.GetGroup(ctx, tenantID, groupID)
}

// ListGroupsPage implements store.Store.
func (s *Store) ListGroupsPage(ctx context.Context, tenantID string, q store.GroupQuery) ([]store.Group, error) {
	return s.inner.ListGroupsPage(ctx, tenantID, q)
}

// UpdateGroupIf implements store.Store.
func (s *Store) UpdateGroupIf(ctx context.Context, g store.Group, ifUpdatedAt time.Time) error {
	return s.inner.UpdateGroupIf(ctx, g, ifUpdatedAt)
}

// DeleteGroup implements store.Store.
func (s *Store) DeleteGroup(ctx context.Context, tenantID, groupID string) error {
	return s.inner.DeleteGroup(ctx, tenantID, groupID)
}

// AddGroupMember implements store.Store.
func (s *Store) AddGroupMember(ctx context.Context, m store.GroupMember) error {
	return s.inner.AddGroupMember(ctx, m)
}

// RemoveGroupMember implements store.Store.
func (s *Store) RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error {
	return s.inner.RemoveGroupMember(ctx, tenantID, groupID, memberID)
}

// ListGroupMembers implements store.Store.
func (s *Store) ListGroupMembers(ctx context.Context, tenantID, groupID string, q store.MemberQuery) ([]store.GroupMember, error) {
	return s.inner.ListGroupMembers(ctx, tenantID, groupID, q)
}

// ListMemberships implements store.Store.
func (s *Store) ListMemberships(ctx context.Context, tenantID, memberID string) ([]store.GroupMember, error) {
	return s.inner.ListMemberships(ctx, tenantID, memberID)
}

// AddAppRoleAssignment implements store.Store.
func (s *Store) AddAppRoleAssignment(ctx context.Context, a store.AppRoleAssignment) error {
	return s.inner.AddAppRoleAssignment(ctx, a)
}

// RemoveAppRoleAssignment implements store.Store.
func (s *Store) RemoveAppRoleAssignment(ctx context.Context, tenantID, id string) error {
	return s.inner.RemoveAppRoleAssignment(ctx, tenantID, id)
}

// ListAppRoleAssignments implements store.Store.
func (s *Store) ListAppRoleAssignments(ctx context.Context, tenantID, principalID, resourceID string) ([]store.AppRoleAssignment, error) {
	return s.inner.ListAppRoleAssignments(ctx, tenantID, principalID, resourceID)
}

// UserAccess implements store.Store.
func (s *Store) UserAccess(ctx context.Context, tenantID, userID string, q store.AccessQuery) (store.Access, error) {
	return s.inner.UserAccess(ctx, tenantID, userID, q)
}

// AddConsents implements store.Store.
func (s *Store) AddConsents(ctx context.Context, cs []store.Consent) error {
	defer s.changed()
	return s.inner.AddConsents(ctx, cs)
}

// ListClientConsents implements store.Store. Only administrators ask,
// and they want what is stored now.
func (s *Store) ListClientConsents(ctx context.Context, tenantID, clientID string) ([]store.Consent, error) {
	return s.inner.ListClientConsents(ctx, tenantID, clientID)
}

// RemoveConsent implements store.Store.
func (s *Store) RemoveConsent(ctx context.Context, c store.Consent) error {
	defer s.changed()
	return s.inner.RemoveConsent(ctx, c)
}

// RemoveConsents implements store.Store.
func (s *Store) RemoveConsents(ctx context.Context, tenantID, clientID, principalID string) error {
	defer s.changed()
	return s.inner.RemoveConsents(ctx, tenantID, clientID, principalID)
}

// RemoveGrant implements store.Store.
func (s *Store) RemoveGrant(ctx context.Context, tenantID, clientID, principalID, resourceID string, now time.Time) error {
	defer s.changed()
	return s.inner.RemoveGrant(ctx, tenantID, clientID, principalID, resourceID, now)
}

// ListUserConsents implements store.Store. Only the user's account page
// asks, and it shows what is stored now.
func (s *Store) ListUserConsents(ctx context.Context, tenantID, userID string) ([]store.Consent, error) {
	return s.inner.ListUserConsents(ctx, tenantID, userID)
}

// WithdrawConsent implements store.Store. It flushes: ListConsents is
// cached, and a withdrawn grant must stop counting at once.
func (s *Store) WithdrawConsent(ctx context.Context, tenantID, clientID, userID string, now time.Time) error {
	defer s.changed()
	return s.inner.WithdrawConsent(ctx, tenantID, clientID, userID, now)
}

// AddSigningKey implements store.Store.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	defer s.changed()
	return s.inner.AddSigningKey(ctx, k)
}

// RotateSigningKeys implements store.Store.
func (s *Store) RotateSigningKeys(ctx context.Context, tenantID string, next store.SigningKey, retiredExpiresAt time.Time) error {
	defer s.changed()
	return s.inner.RotateSigningKeys(ctx, tenantID, next, retiredExpiresAt)
}

// Reads that are not cached: lists for administration, which must show
// the store as it is, and the sign-in lookup by username.

// ListTenants implements store.Store.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	return s.inner.ListTenants(ctx)
}

// ListApps implements store.Store.
func (s *Store) ListApps(ctx context.Context, tenantID string) ([]store.App, error) {
	return s.inner.ListApps(ctx, tenantID)
}

// GetUserByUsername implements store.Store.
func (s *Store) GetUserByUsername(ctx context.Context, tenantID, username string) (store.User, error) {
	return s.inner.GetUserByUsername(ctx, tenantID, username)
}

// ListUsersPage implements store.Store.
func (s *Store) ListUsersPage(ctx context.Context, tenantID string, q store.UserQuery) ([]store.User, error) {
	return s.inner.ListUsersPage(ctx, tenantID, q)
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	return s.inner.ListUsers(ctx, tenantID)
}

// Token state, replay and rate checks and throttles: never cached, so
// they pass through, and writing them changes nothing cached.

// Factors and recovery codes are not cached: they are read once per
// sign-in of a user who has one, and a removed factor or a spent code must
// stop working at once on every instance. Nothing cached holds them, so
// their writes flush nothing.

// AddFactor implements store.Store.
func (s *Store) AddFactor(ctx context.Context, f store.Factor, codes []store.RecoveryCode) error {
	return s.inner.AddFactor(ctx, f, codes)
}

// ListFactors implements store.Store.
func (s *Store) ListFactors(ctx context.Context, tenantID, userID string) ([]store.Factor, error) {
	return s.inner.ListFactors(ctx, tenantID, userID)
}

// GetFactor implements store.Store. Factors are never cached.
func (s *Store) GetFactor(ctx context.Context, tenantID, factorID string) (store.Factor, error) {
	return s.inner.GetFactor(ctx, tenantID, factorID)
}

// RemoveFactor implements store.Store.
func (s *Store) RemoveFactor(ctx context.Context, tenantID, userID, factorID string) error {
	return s.inner.RemoveFactor(ctx, tenantID, userID, factorID)
}

// ResetFactors implements store.Store.
func (s *Store) ResetFactors(ctx context.Context, tenantID, userID string) error {
	return s.inner.ResetFactors(ctx, tenantID, userID)
}

// AdvanceFactorCounter implements store.Store.
func (s *Store) AdvanceFactorCounter(ctx context.Context, tenantID, factorID string, counter int64, now time.Time) error {
	return s.inner.AdvanceFactorCounter(ctx, tenantID, factorID, counter, now)
}

// SetRecoveryCodes implements store.Store.
func (s *Store) SetRecoveryCodes(ctx context.Context, tenantID, userID string, codes []store.RecoveryCode) error {
	return s.inner.SetRecoveryCodes(ctx, tenantID, userID, codes)
}

// UseRecoveryCode implements store.Store.
func (s *Store) UseRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) error {
	return s.inner.UseRecoveryCode(ctx, tenantID, userID, hash)
}

// CountRecoveryCodes implements store.Store.
func (s *Store) CountRecoveryCodes(ctx context.Context, tenantID, userID string) (int, error) {
	return s.inner.CountRecoveryCodes(ctx, tenantID, userID)
}

// UpgradeSession implements store.Store. Sessions are not cached.
func (s *Store) UpgradeSession(ctx context.Context, tenantID, sessionID string, amr []string, authTime time.Time) error {
	return s.inner.UpgradeSession(ctx, tenantID, sessionID, amr, authTime)
}

// RenewSession implements store.Store. Sessions are not cached.
func (s *Store) RenewSession(ctx context.Context, tenantID string, oldHash []byte, renewed store.Session) error {
	return s.inner.RenewSession(ctx, tenantID, oldHash, renewed)
}

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	return s.inner.CreateSession(ctx, ss)
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, tenantID string, hash []byte) (store.Session, error) {
	return s.inner.GetSession(ctx, tenantID, hash)
}

// GetSessionByID implements store.Store.
func (s *Store) GetSessionByID(ctx context.Context, tenantID, id string) (store.Session, error) {
	return s.inner.GetSessionByID(ctx, tenantID, id)
}

// ListUserSessions implements store.Store. Sessions are not cached.
func (s *Store) ListUserSessions(ctx context.Context, tenantID, userID string, now time.Time) ([]store.Session, error) {
	return s.inner.ListUserSessions(ctx, tenantID, userID, now)
}

// EndUserSessions implements store.Store. Sessions and refresh families
// are not cached.
func (s *Store) EndUserSessions(ctx context.Context, tenantID, userID string, ids, keep []string, now time.Time) (int, error) {
	return s.inner.EndUserSessions(ctx, tenantID, userID, ids, keep, now)
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, tenantID string, hash []byte) error {
	return s.inner.DeleteSession(ctx, tenantID, hash)
}

// AddSessionFrontChannelClient implements store.Store.
func (s *Store) AddSessionFrontChannelClient(ctx context.Context, tenantID, sessionID, clientID string) error {
	return s.inner.AddSessionFrontChannelClient(ctx, tenantID, sessionID, clientID)
}

// CreateAuthCode implements store.Store.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	return s.inner.CreateAuthCode(ctx, c)
}

// GetAuthCode implements store.Store.
func (s *Store) GetAuthCode(ctx context.Context, tenantID string, hash []byte) (store.AuthCode, error) {
	return s.inner.GetAuthCode(ctx, tenantID, hash)
}

// RedeemAuthCode implements store.Store.
func (s *Store) RedeemAuthCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r store.Redemption) error {
	return s.inner.RedeemAuthCode(ctx, tenantID, hash, now, r)
}

// CreateDeviceCode implements store.Store.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	return s.inner.CreateDeviceCode(ctx, d)
}

// GetDeviceCode implements store.Store.
func (s *Store) GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (store.DeviceCode, error) {
	return s.inner.GetDeviceCode(ctx, tenantID, hash)
}

// GetDeviceCodeByUserCode implements store.Store.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenantID, userCode string) (store.DeviceCode, error) {
	return s.inner.GetDeviceCodeByUserCode(ctx, tenantID, userCode)
}

// PollDeviceCode implements store.Store.
func (s *Store) PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (store.DeviceCode, error) {
	return s.inner.PollDeviceCode(ctx, tenantID, hash, now)
}

// DecideDeviceCode implements store.Store.
func (s *Store) DecideDeviceCode(ctx context.Context, tenantID string, hash []byte, d store.DeviceDecision, now time.Time) error {
	return s.inner.DecideDeviceCode(ctx, tenantID, hash, d, now)
}

// RedeemDeviceCode implements store.Store.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r store.Redemption) error {
	return s.inner.RedeemDeviceCode(ctx, tenantID, hash, now, r)
}

// UseAssertionID implements store.Store.
func (s *Store) UseAssertionID(ctx context.Context, tenantID, clientID, jti string, expiresAt time.Time) error {
	return s.inner.UseAssertionID(ctx, tenantID, clientID, jti, expiresAt)
}

// RevokeAccessToken implements store.Store.
func (s *Store) RevokeAccessToken(ctx context.Context, tenantID, jti string, expiresAt time.Time) error {
	return s.inner.RevokeAccessToken(ctx, tenantID, jti, expiresAt)
}

// IsAccessTokenRevoked implements store.Store.
func (s *Store) IsAccessTokenRevoked(ctx context.Context, tenantID, jti string) (bool, error) {
	return s.inner.IsAccessTokenRevoked(ctx, tenantID, jti)
}

// Hit implements store.Store.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	return s.inner.Hit(ctx, key, window, now)
}

// GetThrottle implements store.Store.
func (s *Store) GetThrottle(ctx context.Context, tenantID, key string) (store.Throttle, error) {
	return s.inner.GetThrottle(ctx, tenantID, key)
}

// UpdateThrottles implements store.Store.
func (s *Store) UpdateThrottles(ctx context.Context, tenantID string, keys []string, change func([]store.Throttle) ([]store.ThrottleUpdate, error)) ([]store.Throttle, error) {
	return s.inner.UpdateThrottles(ctx, tenantID, keys, change)
}

// CreateRefreshFamily implements store.Store.
func (s *Store) CreateRefreshFamily(ctx context.Context, f store.RefreshFamily, first store.RefreshToken) error {
	return s.inner.CreateRefreshFamily(ctx, f, first)
}

// GetRefreshToken implements store.Store.
func (s *Store) GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (store.RefreshToken, store.RefreshFamily, error) {
	return s.inner.GetRefreshToken(ctx, tenantID, hash)
}

// GetRefreshFamily implements store.Store.
func (s *Store) GetRefreshFamily(ctx context.Context, tenantID, familyID string) (store.RefreshFamily, error) {
	return s.inner.GetRefreshFamily(ctx, tenantID, familyID)
}

// RotateRefreshToken implements store.Store.
func (s *Store) RotateRefreshToken(ctx context.Context, tenantID string, parentHash []byte, successor store.RefreshToken, now time.Time) error {
	return s.inner.RotateRefreshToken(ctx, tenantID, parentHash, successor, now)
}

// RevokeRefreshFamily implements store.Store.
func (s *Store) RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) error {
	return s.inner.RevokeRefreshFamily(ctx, tenantID, familyID, now)
}

// RevokeUserRefreshFamilies implements store.Store.
func (s *Store) RevokeUserRefreshFamilies(ctx context.Context, tenantID, userID, clientID string, now time.Time) error {
	return s.inner.RevokeUserRefreshFamilies(ctx, tenantID, userID, clientID, now)
}

// RevokeSessionRefreshFamilies implements store.Store.
func (s *Store) RevokeSessionRefreshFamilies(ctx context.Context, tenantID, sessionID string, keep []string, now time.Time) error {
	return s.inner.RevokeSessionRefreshFamilies(ctx, tenantID, sessionID, keep, now)
}

// AppendAudit implements store.Store. The audit log is not cached.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	return s.inner.AppendAudit(ctx, e)
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, tenantID string, q store.AuditQuery) ([]store.AuditEntry, error) {
	return s.inner.ListAudit(ctx, tenantID, q)
}

// DeleteExpired implements store.Store. Collection deletes only token
// state and audit entries, never a cached row.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpired(ctx, now, limit)
}

// Close implements store.Store: it closes the wrapped store.
func (s *Store) Close() error {
	return s.inner.Close()
}
