// Package readcache serves the directory reads every token request makes
// (tenant, app, secrets, credentials, consents, user, signing keys) from
// process memory, so that with PostgreSQL a token response costs one write
// transaction instead of a round trip per read. Entries live for a short
// TTL and are all dropped at once when the store reports a change (see
// sqlstore.Postgres.Changes), so a change made by any instance or the admin
// CLI is seen everywhere at once; the TTL bounds staleness should a
// notification be lost. Token state (codes, refresh tokens, sessions) and
// sign-in throttles are never cached.
package readcache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/store"
)

// maxEntries bounds memory under hostile lookups; reaching it flushes.
const maxEntries = 100_000

// Store wraps a store.Store; every method not overridden here passes
// through untouched.
type Store struct {
	store.Store
	ttl time.Duration
	now func() time.Time

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

// Versioned is a store that counts changes to its directory (see
// sqlstore.SQLite.DirectoryVersion).
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
// cannot notify them (SQLite): every interval at most, one read of the
// store's directory version tells whether anything changed. A change made
// by the admin CLI is thus seen within interval plus one request.
func NewVersioned(inner store.Store, v Versioned, ttl, interval time.Duration) *Store {
	s := New(inner, ttl, nil)
	s.version, s.interval = v.DirectoryVersion, interval
	s.knownVersion.Store(-1)
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

// New wraps inner. changes signals that the directory changed somewhere;
// the wrapper flushes on every signal until the channel closes.
func New(inner store.Store, ttl time.Duration, changes <-chan struct{}) *Store {
	s := &Store{Store: inner, ttl: ttl, now: time.Now, entries: map[key]entry{}}
	if changes != nil {
		go func() {
			for range changes {
				s.Flush()
			}
		}()
	}
	return s
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

// get returns a cached value or loads it. A load that raced with a flush
// is returned but not kept, so a flush is never undone by a stale read.
func get[T any](ctx context.Context, s *Store, k key, load func() (T, error)) (T, error) {
	s.revalidate(ctx)
	s.mu.RLock()
	e, ok := s.entries[k]
	gen := s.gen
	s.mu.RUnlock()
	if ok && s.now().Before(e.expires) {
		return e.val.(T), nil
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
	return v, nil
}

// GetTenant implements store.Store.
func (s *Store) GetTenant(ctx context.Context, idOrName string) (store.Tenant, error) {
	return get(ctx, s, key{"tenant", idOrName, ""}, func() (store.Tenant, error) { return s.Store.GetTenant(ctx, idOrName) })
}

// GetApp implements store.Store.
func (s *Store) GetApp(ctx context.Context, tenantID, clientID string) (store.App, error) {
	return get(ctx, s, key{"app", tenantID, clientID}, func() (store.App, error) { return s.Store.GetApp(ctx, tenantID, clientID) })
}

// GetAppByIdentifier implements store.Store.
func (s *Store) GetAppByIdentifier(ctx context.Context, tenantID, identifier string) (store.App, error) {
	return get(ctx, s, key{"appid", tenantID, identifier}, func() (store.App, error) { return s.Store.GetAppByIdentifier(ctx, tenantID, identifier) })
}

// ListClientSecrets implements store.Store.
func (s *Store) ListClientSecrets(ctx context.Context, tenantID, clientID string) ([]store.ClientSecret, error) {
	return get(ctx, s, key{"secrets", tenantID, clientID}, func() ([]store.ClientSecret, error) { return s.Store.ListClientSecrets(ctx, tenantID, clientID) })
}

// ListAppCredentials implements store.Store.
func (s *Store) ListAppCredentials(ctx context.Context, tenantID, clientID string) ([]store.AppCredential, error) {
	return get(ctx, s, key{"creds", tenantID, clientID}, func() ([]store.AppCredential, error) { return s.Store.ListAppCredentials(ctx, tenantID, clientID) })
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, tenantID, userID string) (store.User, error) {
	return get(ctx, s, key{"user", tenantID, userID}, func() (store.User, error) { return s.Store.GetUser(ctx, tenantID, userID) })
}

// ListConsents implements store.Store.
func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]store.Consent, error) {
	return get(ctx, s, key{"consents", tenantID, clientID + "\x00" + principalID}, func() ([]store.Consent, error) {
		return s.Store.ListConsents(ctx, tenantID, clientID, principalID)
	})
}

// ListSigningKeys implements store.Store. The cached list is filtered by
// each caller's now, so a retired key leaves the answer the moment it
// expires, cached or not.
func (s *Store) ListSigningKeys(ctx context.Context, tenantID string, now time.Time) ([]store.SigningKey, error) {
	all, err := get(ctx, s, key{"keys", tenantID, ""}, func() ([]store.SigningKey, error) { return s.Store.ListSigningKeys(ctx, tenantID, now) })
	if err != nil {
		return nil, err
	}
	out := make([]store.SigningKey, 0, len(all))
	for _, k := range all {
		if k.Status != store.KeyRetired || k.ExpiresAt.After(now) {
			out = append(out, k)
		}
	}
	return out, nil
}

// The writes below change cached data: they flush locally at once (the
// store's notification does the same for every other process).

// AddConsents implements store.Store.
func (s *Store) AddConsents(ctx context.Context, cs []store.Consent) error {
	defer s.changed()
	return s.Store.AddConsents(ctx, cs)
}

// RemoveConsents implements store.Store.
func (s *Store) RemoveConsents(ctx context.Context, tenantID, clientID, principalID string) error {
	defer s.changed()
	return s.Store.RemoveConsents(ctx, tenantID, clientID, principalID)
}

// UpdateApp implements store.Store.
func (s *Store) UpdateApp(ctx context.Context, a store.App) error {
	defer s.changed()
	return s.Store.UpdateApp(ctx, a)
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	defer s.changed()
	return s.Store.UpdateUser(ctx, u)
}

// RotateSigningKeys implements store.Store.
func (s *Store) RotateSigningKeys(ctx context.Context, tenantID string, next store.SigningKey, retiredExpiresAt time.Time) error {
	defer s.changed()
	return s.Store.RotateSigningKeys(ctx, tenantID, next, retiredExpiresAt)
}

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	defer s.changed()
	return s.Store.CreateTenant(ctx, t)
}

// SetTenantLockout implements store.Store. The settings travel in the
// cached tenant, so the sign-in page reads them at no cost.
func (s *Store) SetTenantLockout(ctx context.Context, tenantID string, l store.LockoutSettings) error {
	defer s.changed()
	return s.Store.SetTenantLockout(ctx, tenantID, l)
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	defer s.changed()
	return s.Store.CreateApp(ctx, a)
}

// AddClientSecret implements store.Store.
func (s *Store) AddClientSecret(ctx context.Context, cs store.ClientSecret) error {
	defer s.changed()
	return s.Store.AddClientSecret(ctx, cs)
}

// RemoveClientSecret implements store.Store.
func (s *Store) RemoveClientSecret(ctx context.Context, tenantID, clientID, secretID string) error {
	defer s.changed()
	return s.Store.RemoveClientSecret(ctx, tenantID, clientID, secretID)
}

// AddAppCredential implements store.Store.
func (s *Store) AddAppCredential(ctx context.Context, c store.AppCredential) error {
	defer s.changed()
	return s.Store.AddAppCredential(ctx, c)
}

// RemoveAppCredential implements store.Store.
func (s *Store) RemoveAppCredential(ctx context.Context, tenantID, clientID, id string) error {
	defer s.changed()
	return s.Store.RemoveAppCredential(ctx, tenantID, clientID, id)
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	defer s.changed()
	return s.Store.CreateUser(ctx, u)
}

// AddSigningKey implements store.Store.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	defer s.changed()
	return s.Store.AddSigningKey(ctx, k)
}
