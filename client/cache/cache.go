package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxEntries is the default cap on access tokens, on refresh tokens
// and on accounts.
const DefaultMaxEntries = 10000

// Option configures a Cache.
type Option func(*options)

type options struct {
	maxEntries  int
	persistence Persistence
	now         func() time.Time
	warn        func(error)
}

// WithMaxEntries caps the number of access tokens and, separately, the
// number of refresh tokens and the number of accounts; the least recently
// used go first, and an account goes with all its credentials. Refresh
// tokens kept without an account (on-behalf-of tokens, keyed by the
// incoming assertion) count as used whenever an access token for the same
// assertion is, so they leave together with it. The default is
// DefaultMaxEntries; n <= 0 means unbounded.
func WithMaxEntries(n int) Option { return func(o *options) { o.maxEntries = n } }

// WithPersistence stores the cache outside the process, typically with
// NewFile. The store is the truth: lookups reload it when it changed, and
// every change is written through before the call that made it returns.
func WithPersistence(p Persistence) Option { return func(o *options) { o.persistence = p } }

// WithClock replaces time.Now, for the times the cache stamps (CachedAt)
// and for its expiry housekeeping.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithWarnings receives problems the cache recovered from on its own, such
// as a corrupt store that was moved aside. Without it they are dropped. fn
// is called synchronously, from inside a cache operation, and must not use
// the Cache.
func WithWarnings(fn func(error)) Option { return func(o *options) { o.warn = fn } }

// Cache is a token cache in MSAL's unified schema. It is safe for
// concurrent use, and with a Persistence for use by several processes.
type Cache struct {
	opts options
	tick atomic.Uint64 // LRU clock

	mu sync.RWMutex // guards st; lookups hold it shared
	st *state

	// ioMu orders loads and read-merge-write cycles within the process, so
	// that at most one goroutine talks to the store at a time and the
	// cross-process lock is taken once per process.
	ioMu sync.Mutex
	// loaded is the store version st reflects; nil when st must be
	// reloaded before use.
	loaded atomic.Pointer[string]
}

// New returns an empty Cache.
func New(opts ...Option) *Cache {
	o := options{maxEntries: DefaultMaxEntries, now: time.Now, warn: func(error) {}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.warn == nil {
		o.warn = func(error) {}
	}
	c := &Cache{opts: o}
	c.st = newState()
	return c
}

// AccessToken finds the access token for q. Expired tokens are returned
// too: whether to refresh is the caller's decision.
func (c *Cache) AccessToken(ctx context.Context, q AccessTokenQuery) (AccessToken, bool, error) {
	if err := c.beforeAccess(ctx); err != nil {
		return AccessToken{}, false, err
	}
	c.mu.RLock()
	e, v := c.st.findAT(&q)
	if e == nil {
		c.mu.RUnlock()
		return AccessToken{}, false, nil
	}
	e.used.Store(c.tick.Add(1))
	c.mu.RUnlock()
	return v, true, nil
}

// AccessTokenWithIDToken is AccessToken, and the ID token of the same
// account, client and tenant when one is cached, in one visit: the silent
// path wants both, and the access token links to its ID token.
func (c *Cache) AccessTokenWithIDToken(ctx context.Context, q AccessTokenQuery) (AccessToken, IDToken, bool, error) {
	if err := c.beforeAccess(ctx); err != nil {
		return AccessToken{}, IDToken{}, false, err
	}
	c.mu.RLock()
	e, v := c.st.findAT(&q)
	if e == nil {
		c.mu.RUnlock()
		return AccessToken{}, IDToken{}, false, nil
	}
	ie := e.idt
	if e.user == nil {
		ie = c.st.findIDT(e.env, e.client, e.home, e.realm)
	}
	var it IDToken
	if ie != nil {
		it = ie.v
	}
	e.used.Store(c.tick.Add(1))
	c.mu.RUnlock()
	return v, it, true, nil
}

// RefreshToken finds the refresh token of an account for a client. If the
// client has none but its app metadata names a family, the family's refresh
// token is returned (its ClientID is then another member of the family).
func (c *Cache) RefreshToken(ctx context.Context, environment, clientID, homeAccountID, userAssertionHash string) (RefreshToken, bool, error) {
	if err := c.beforeAccess(ctx); err != nil {
		return RefreshToken{}, false, err
	}
	c.mu.RLock()
	e := c.st.findRT(environment, clientID, homeAccountID, userAssertionHash)
	if e == nil {
		c.mu.RUnlock()
		return RefreshToken{}, false, nil
	}
	tick := c.tick.Add(1)
	e.used.Store(tick)
	if e.user != nil {
		e.user.used.Store(tick)
	}
	v := e.v
	c.mu.RUnlock()
	return v, true, nil
}

// IDToken finds the ID token of an account for a client in a tenant.
func (c *Cache) IDToken(ctx context.Context, environment, clientID, homeAccountID, realm string) (IDToken, bool, error) {
	if err := c.beforeAccess(ctx); err != nil {
		return IDToken{}, false, err
	}
	c.mu.RLock()
	e := c.st.findIDT(environment, clientID, homeAccountID, realm)
	if e == nil {
		c.mu.RUnlock()
		return IDToken{}, false, nil
	}
	c.touch(e.user)
	v := e.v
	c.mu.RUnlock()
	return v, true, nil
}

// Accounts lists the accounts that hold a refresh token, ID token or access
// token for clientID in environment ("" matches any), ordered by
// environment, home account id and realm.
func (c *Cache) Accounts(ctx context.Context, environment, clientID string) ([]Account, error) {
	if err := c.beforeAccess(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	var out []Account
	for _, u := range c.st.users {
		if len(u.accounts) == 0 || (environment != "" && !strings.EqualFold(u.env, environment)) || !u.hasClient(clientID) {
			continue
		}
		for _, a := range u.accounts {
			out = append(out, a.v)
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b Account) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Environment), strings.ToLower(b.Environment)),
			cmp.Compare(strings.ToLower(a.HomeAccountID), strings.ToLower(b.HomeAccountID)),
			cmp.Compare(strings.ToLower(a.Realm), strings.ToLower(b.Realm)),
		)
	})
	return out, nil
}

// Account finds an account. When it has profiles in several tenants, the
// one in its home tenant is returned.
func (c *Cache) Account(ctx context.Context, environment, homeAccountID string) (Account, bool, error) {
	if err := c.beforeAccess(ctx); err != nil {
		return Account{}, false, err
	}
	c.mu.RLock()
	var a *accEntry
	u := c.st.findUser(environment, homeAccountID)
	if u != nil {
		a = u.account()
	}
	if a == nil {
		c.mu.RUnlock()
		return Account{}, false, nil
	}
	c.touch(u)
	v := a.v
	c.mu.RUnlock()
	return v, true, nil
}

func (c *Cache) touch(u *user) {
	if u != nil {
		u.used.Store(c.tick.Add(1))
	}
}

// Apply saves what one token response brought. With persistence it returns
// only once the store holds the result, so tokens can be handed out after
// it returns without being lost to a crash or to another process.
//
// Times are kept to the second (the schema stores unix seconds); an access
// token's CachedAt defaults to now, its ExtendedExpiresOn to ExpiresOn and
// its TokenType to Bearer, as MSAL fills them in.
func (c *Cache) Apply(ctx context.Context, u Update) error {
	now := c.opts.now()
	n, err := normalize(u, now)
	if err != nil {
		return err
	}
	return c.mutate(ctx, func(s *state) bool {
		s.apply(&n, now, c.tick.Add(1), c.opts.maxEntries)
		return true
	})
}

// RemoveAccount removes an account and every credential it holds in
// environment, including ones this package keeps but does not serve.
func (c *Cache) RemoveAccount(ctx context.Context, environment, homeAccountID string) error {
	return c.mutate(ctx, func(s *state) bool {
		u := s.findUser(environment, homeAccountID)
		if u == nil {
			return false
		}
		s.removeUser(u)
		return true
	})
}

// RemoveRefreshToken removes rt, e.g. after the server rejected it. The
// stored token is removed only if its secret is rt's (when rt has one): if
// another process has meanwhile saved a fresh token, that one stays.
func (c *Cache) RemoveRefreshToken(ctx context.Context, rt RefreshToken) error {
	return c.mutate(ctx, func(s *state) bool {
		e := s.rts[idKey(rt.Environment, rt.ClientID, rt.HomeAccountID, rt.UserAssertionHash)]
		if e == nil || (rt.Secret != "" && e.v.Secret != rt.Secret) {
			return false
		}
		s.remove(secRefreshToken, e)
		return true
	})
}

// Marshal returns the contents in MSAL's unified cache JSON. With
// persistence it is the contents as of the last load or save; it does no
// I/O.
func (c *Cache) Marshal() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return encode(c.st), nil
}

// Unmarshal replaces the contents with MSAL unified cache JSON. A cache
// with persistence takes its contents from the store, so there write the
// data with the Persistence instead (the next lookup loads it); Unmarshal
// refuses rather than hold data the store lacks.
func (c *Cache) Unmarshal(data []byte) error {
	if c.opts.persistence != nil {
		return errors.New("cache: Unmarshal on a cache with persistence: write the data through the Persistence instead")
	}
	st, err := decode(data)
	if err != nil {
		return fmt.Errorf("cache: unmarshal: %w", err)
	}
	c.mu.Lock()
	c.install(st)
	c.mu.Unlock()
	return nil
}

// Len is the number of access, refresh and ID tokens and accounts held
// (entries kept only to be written back are not counted).
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st.len()
}

// ---- persistence ----

// beforeAccess reloads the store if it changed since we last saw it. A
// stat per lookup is the price of never serving a token another process
// has already replaced or removed.
func (c *Cache) beforeAccess(ctx context.Context) error {
	p := c.opts.persistence
	if p == nil {
		return nil
	}
	v, err := p.Version(ctx)
	if err != nil {
		return fmt.Errorf("cache: checking the store: %w", err)
	}
	if cur := c.loaded.Load(); cur != nil && *cur == v {
		return nil
	}
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	st, v, err := c.load(ctx, false)
	if errors.Is(err, ErrCorrupt) {
		// Only under the lock may we conclude the data is corrupt rather
		// than being rewritten, and move it aside.
		unlock, lerr := p.Lock(ctx)
		if lerr != nil {
			return fmt.Errorf("cache: locking the store: %w", lerr)
		}
		st, v, err = c.load(ctx, true)
		if uerr := unlock(); err == nil && uerr != nil {
			err = fmt.Errorf("cache: unlocking the store: %w", uerr)
		}
	}
	if err != nil {
		return err
	}
	if st != nil {
		c.mu.Lock()
		c.install(st)
		c.loaded.Store(&v)
		c.mu.Unlock()
	}
	return nil
}

// load reads and decodes the store. It returns a nil state when the store
// is at the version already loaded. Corrupt data is an ErrCorrupt unless
// locked, when it is reported, moved aside if possible, and replaced by an
// empty state.
func (c *Cache) load(ctx context.Context, locked bool) (*state, string, error) {
	p := c.opts.persistence
	data, v, err := p.Read(ctx)
	if err == nil {
		if cur := c.loaded.Load(); cur != nil && *cur == v {
			return nil, v, nil
		}
		var st *state
		if st, err = decode(data); err == nil {
			return st, v, nil
		}
		err = fmt.Errorf("cache: %s: %w", describe(p), err)
	}
	if !errors.Is(err, ErrCorrupt) {
		return nil, "", fmt.Errorf("cache: reading the store: %w", err)
	}
	if !locked {
		return nil, "", err
	}
	if mover, ok := p.(interface {
		MoveAside(ctx context.Context) (string, error)
	}); ok {
		dst, merr := mover.MoveAside(ctx)
		if merr == nil {
			c.opts.warn(fmt.Errorf("cache: %s is unreadable; moved it to %s and started an empty cache: %w", describe(p), dst, err))
		} else {
			c.opts.warn(fmt.Errorf("cache: %s is unreadable and could not be moved aside (%w); started an empty cache, which the next save writes over it: %w", describe(p), merr, err))
		}
	} else {
		c.opts.warn(fmt.Errorf("cache: %s is unreadable; started an empty cache, which the next save writes over it: %w", describe(p), err))
	}
	// Remember the version we gave up on, so that we do not warn again
	// until the store changes.
	if v, err = p.Version(ctx); err != nil {
		return nil, "", fmt.Errorf("cache: checking the store: %w", err)
	}
	return newState(), v, nil
}

func describe(p Persistence) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", p)
}

// mutate runs one change. With persistence that is a read-merge-write
// cycle under the cross-process lock: reload if another process wrote, apply
// the change, write, remember the new version. fn reports whether it
// changed anything; if not, nothing is written.
func (c *Cache) mutate(ctx context.Context, fn func(*state) bool) (err error) {
	p := c.opts.persistence
	if p == nil {
		c.mu.Lock()
		fn(c.st)
		c.mu.Unlock()
		return nil
	}
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	unlock, err := p.Lock(ctx)
	if err != nil {
		return fmt.Errorf("cache: locking the store: %w", err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("cache: unlocking the store: %w", uerr)
		}
	}()
	// A stat usually shows that nobody else wrote since our last load or
	// save, and then the store need not be read again.
	var st *state
	v, err := p.Version(ctx)
	if err != nil {
		return fmt.Errorf("cache: checking the store: %w", err)
	}
	if cur := c.loaded.Load(); cur == nil || *cur != v {
		if st, v, err = c.load(ctx, true); err != nil {
			return err
		}
	}
	// Readers wait while we write: memory must never hold what the store
	// lacks, or a reader could hand out a token that a failed write (or a
	// crash) then loses.
	c.mu.Lock()
	defer c.mu.Unlock()
	if st != nil {
		c.install(st)
		c.loaded.Store(&v)
	}
	if !fn(c.st) {
		return nil
	}
	nv, err := p.Write(ctx, encode(c.st))
	if err != nil {
		// Memory is ahead of the store: drop it and reload on next use.
		c.st = newState()
		c.loaded.Store(nil)
		return fmt.Errorf("cache: saving: %w", err)
	}
	c.loaded.Store(&nv)
	return nil
}

// install replaces the contents (c.mu held), keeping what we know of
// recency for entries that survive.
func (c *Cache) install(st *state) {
	old := c.st
	st.eachAT(func(e *atEntry) {
		if o, ok := old.sec[secAccessToken][e.key].(*atEntry); ok {
			e.used.Store(o.used.Load())
		}
	})
	for _, e := range st.sec[secRefreshToken] {
		if e, ok := e.(*rtEntry); ok {
			if o, ok := old.sec[secRefreshToken][e.key].(*rtEntry); ok {
				e.used.Store(o.used.Load())
			}
		}
	}
	for k, u := range st.users {
		if o := old.users[k]; o != nil {
			u.used.Store(o.used.Load())
		}
	}
	st.lastSweep = old.lastSweep
	c.st = st
}

// ---- applying an update ----

// normalize validates u and returns a copy in the form it will be stored
// in, so that what Apply keeps in memory is exactly what a reload yields.
func normalize(u Update, now time.Time) (Update, error) {
	var n Update
	if a := u.Account; a != nil {
		if a.Environment == "" || a.HomeAccountID == "" {
			return n, errors.New("cache: apply: account needs Environment and HomeAccountID")
		}
		v := *a
		n.Account = &v
	}
	if it := u.IDToken; it != nil {
		if it.Environment == "" || it.ClientID == "" || it.Secret == "" {
			return n, errors.New("cache: apply: ID token needs Environment, ClientID and Secret")
		}
		v := *it
		n.IDToken = &v
	}
	if rt := u.RefreshToken; rt != nil {
		if rt.Environment == "" || rt.ClientID == "" || rt.Secret == "" {
			return n, errors.New("cache: apply: refresh token needs Environment, ClientID and Secret")
		}
		v := *rt
		v.ExpiresOn = seconds(v.ExpiresOn)
		n.RefreshToken = &v
	}
	if m := u.AppMetadata; m != nil {
		if m.Environment == "" || m.ClientID == "" {
			return n, errors.New("cache: apply: app metadata needs Environment and ClientID")
		}
		v := *m
		n.AppMetadata = &v
	}
	if at := u.AccessToken; at != nil {
		if at.Environment == "" || at.ClientID == "" || at.Secret == "" {
			return n, errors.New("cache: apply: access token needs Environment, ClientID and Secret")
		}
		v := *at
		if v.TokenType == "" {
			v.TokenType = tokenTypeBearer
		}
		if !strings.EqualFold(v.TokenType, tokenTypeBearer) {
			// AccessTokenQuery cannot ask for a token type, so a bound
			// token would be handed to callers expecting a bearer token.
			return n, fmt.Errorf("cache: apply: access token of type %q: only bearer tokens are cached", v.TokenType)
		}
		if v.CachedAt.IsZero() {
			v.CachedAt = now
		}
		if v.ExtendedExpiresOn.IsZero() {
			v.ExtendedExpiresOn = v.ExpiresOn
		}
		v.CachedAt = seconds(v.CachedAt)
		v.ExpiresOn = seconds(v.ExpiresOn)
		v.ExtendedExpiresOn = seconds(v.ExtendedExpiresOn)
		v.RefreshOn = seconds(v.RefreshOn)
		n.AccessToken = &v
	}
	return n, nil
}

func seconds(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return unixTime(t.Unix())
}

func (s *state) apply(u *Update, now time.Time, tick uint64, maxEntries int) {
	touch := func(us *user) {
		if us != nil {
			us.used.Store(tick)
		}
	}
	if u.Account != nil {
		e := newAccEntry(*u.Account)
		s.addAccount(e, true)
		touch(e.user)
	}
	if u.IDToken != nil {
		e := newIDTEntry(*u.IDToken)
		s.addIDT(e, true)
		touch(e.user)
	}
	if u.RefreshToken != nil {
		e := newRTEntry(*u.RefreshToken)
		s.addRT(e, true)
		e.used.Store(tick)
		touch(e.user)
	}
	if u.AppMetadata != nil {
		s.addApp(newAppEntry(*u.AppMetadata), true)
	}
	if u.AccessToken != nil {
		e := s.newATEntry(*u.AccessToken)
		s.addAT(e, true, now)
		e.used.Store(tick)
		touch(e.user)
	}
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now)
		s.lastSweep = now
	}
	s.evict(maxEntries)
}
