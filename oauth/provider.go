// Package oauth is the protocol core of the authorization server: request
// validation, client authentication, scope and consent resolution, the
// sign-in interaction as one state machine (interaction.go), and one file
// per grant (grants.go holds their table). It knows nothing of net/http;
// package server decodes HTTP into these types and encodes what comes
// back.
package oauth

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Config holds the server-wide protocol settings. Per-app lifetimes, when
// set, override the token lifetimes here.
type Config struct {
	CodeLifetime             time.Duration
	AccessTokenLifetime      time.Duration
	IDTokenLifetime          time.Duration
	RefreshTokenLifetime     time.Duration // absolute, from the first token of a family
	RefreshTokenIdleLifetime time.Duration // sliding, from the last use
	// RefreshGrace is how long after a rotation a retry with the same parent
	// gets the same successor instead of revoking the family.
	RefreshGrace        time.Duration
	SessionLifetime     time.Duration
	AuthRequestLifetime time.Duration
	DeviceCodeLifetime  time.Duration
	// DevicePollInterval is the interval devices are told to poll at.
	DevicePollInterval time.Duration
	// UserCodeLimits bound the user codes typed on the verification page;
	// zero fields mean the defaults.
	UserCodeLimits UserCodeLimits
	// PasswordMemory is the memory budget of password verification, in
	// bytes: as many argon2id checks run at once as it holds (each holds
	// its hash's memory cost, 7 MiB by default, for tens of milliseconds),
	// up to one per core, and the garbage they leave is collected once it
	// reaches the budget. A burst of sign-ins then uses every core without
	// setting the server's memory. 0 means 64 MiB.
	PasswordMemory int64
	// Lockout is the sign-in throttling of tenants, for each setting a
	// tenant leaves at zero.
	Lockout store.LockoutSettings
	// ClientAuthLimit bounds failed client authentications per tenant,
	// client id and source address.
	ClientAuthLimit ClientAuthLimit
	// AuditRetention is how long sign-in events and user consents stay in
	// a tenant's audit log; 0 means store.DefaultAuditRetention.
	AuditRetention time.Duration
	// GroupsOverage is how many groups a token names at most: a user in
	// more gets the overage claim instead (see DefaultGroupsOverage, the
	// value 0 stands for).
	GroupsOverage int
}

// DefaultConfig returns the lifetimes Tessera ships with.
func DefaultConfig() Config {
	return Config{
		CodeLifetime:             10 * time.Minute,
		AccessTokenLifetime:      time.Hour,
		IDTokenLifetime:          time.Hour,
		RefreshTokenLifetime:     90 * 24 * time.Hour,
		RefreshTokenIdleLifetime: 30 * 24 * time.Hour,
		RefreshGrace:             10 * time.Second,
		SessionLifetime:          12 * time.Hour,
		AuthRequestLifetime:      30 * time.Minute,
		DeviceCodeLifetime:       15 * time.Minute,
		DevicePollInterval:       5 * time.Second,
		UserCodeLimits:           DefaultUserCodeLimits(),
		Lockout:                  DefaultLockout(),
		ClientAuthLimit:          DefaultClientAuthLimit(),
	}
}

// Provider answers protocol requests for every tenant.
type Provider struct {
	cfg       Config
	store     store.Store
	keys      *token.Keyring
	successor func(parent string) string
	state     *token.StateSealer
	now       func() time.Time
	log       *slog.Logger
	// dummyHash is verified when a username is unknown, so a login attempt
	// costs the same whether or not the user exists.
	dummyHash string
	// passwordSlots holds one token per password check allowed at once.
	passwordSlots chan struct{}
	// passwordGarbage is the argon2 memory checks have left since the last
	// collection they asked for (see collectPasswordGarbage).
	passwordGarbage atomic.Int64
	// clientBlocks are the token endpoint's callers blocked for failing
	// client authentication too often.
	clientBlocks *clientBlocks
	// grants is the token endpoint's table of grant types (grantTable).
	grants []grantType
}

// Deps are the Provider's collaborators.
type Deps struct {
	Store store.Store
	Keys  *token.Keyring
	// Successor derives a refresh token's successor from its secret; it
	// must be deterministic (see token.Successors).
	Successor func(parent string) string
	// State seals the pending sign-in requests browsers carry; it must be
	// derived from the master key every instance shares.
	State  *token.StateSealer
	Now    func() time.Time
	Logger *slog.Logger
	// DummyPasswordHash is a hash of any password, made with the same
	// parameters as real users' hashes.
	DummyPasswordHash string
}

// New returns a Provider.
func New(cfg Config, d Deps) *Provider {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg.UserCodeLimits = cfg.UserCodeLimits.orDefault()
	cfg.Lockout = EffectiveLockout(cfg.Lockout, DefaultLockout())
	cfg.ClientAuthLimit = cfg.ClientAuthLimit.orDefault()
	if cfg.PasswordMemory <= 0 {
		cfg.PasswordMemory = 64 << 20
	}
	perCheck := int64(password.Default().Memory) << 10
	slots := int(min(cfg.PasswordMemory/perCheck, int64(runtime.GOMAXPROCS(0))))
	slots = max(slots, 1)
	p := &Provider{
		cfg:           cfg,
		store:         d.Store,
		keys:          d.Keys,
		successor:     d.Successor,
		state:         d.State,
		now:           func() time.Time { return now().UTC() },
		log:           log,
		dummyHash:     d.DummyPasswordHash,
		passwordSlots: make(chan struct{}, slots),
		clientBlocks:  newClientBlocks(cfg.ClientAuthLimit.MaxBlocked),
	}
	p.grants = p.grantTable()
	return p
}

// Config returns the provider's settings.
func (p *Provider) Config() Config { return p.cfg }

// Now is the provider's clock.
func (p *Provider) Now() time.Time { return p.now() }

// Endpoint is the tenant a request was addressed to and the issuer it was
// addressed under: https://host/{t}/v2.0, where {t} is the name or id the
// client used, so that discovery fetched under either form is consistent.
type Endpoint struct {
	Tenant store.Tenant
	Issuer string // Base + "/v2.0"
	Base   string // https://host/{t}, under which the tenant's endpoints live
	Origin string // https://host
}

// issuers are every issuer the tenant's tokens may carry: one per way of
// naming the tenant in the path.
func (ep Endpoint) issuers() []string {
	return []string{ep.Issuer, ep.Origin + "/" + ep.Tenant.Name + "/v2.0", ep.Origin + "/" + ep.Tenant.ID + "/v2.0"}
}

func (p *Provider) accessLifetime(client store.App) time.Duration {
	if client.AccessTokenLifetime > 0 {
		return client.AccessTokenLifetime
	}
	return p.cfg.AccessTokenLifetime
}

func (p *Provider) refreshLifetimes(client store.App) (absolute, idle time.Duration) {
	absolute, idle = p.cfg.RefreshTokenLifetime, p.cfg.RefreshTokenIdleLifetime
	if client.RefreshTokenLifetime > 0 {
		absolute = client.RefreshTokenLifetime
	}
	if client.RefreshTokenIdleLifetime > 0 {
		idle = client.RefreshTokenIdleLifetime
	}
	if idle > absolute {
		idle = absolute
	}
	return absolute, idle
}

// CollectGarbage deletes expired rows in batches of minBatch to maxBatch
// rows until none are left or ctx ends, and returns how many it deleted.
//
// A batch holds the store's writer (SQLite's only one, which the token
// endpoint's rotations queue behind) for as long as it runs, and how long
// that is depends on where the rows lie: rows long expired are scattered
// over cold pages of three indexes, and a hundred seeded refresh families
// took 50 to 80 ms to delete on SQLite. So the batch is sized by time: it
// halves while a pass takes longer than collectPassBudget and doubles back
// while one takes under a quarter of it. Between passes the collector
// rests twice as long as the pass took, so a backlog takes at most a third
// of the writer's time. On a store across the network a pass's round
// trips alone can take the budget, and a batch below a few dozen rows
// shortens nothing but the work done: there minBatch keeps it up.
func (p *Provider) CollectGarbage(ctx context.Context, minBatch, maxBatch int) (int64, error) {
	minBatch = max(minBatch, 1)
	maxBatch = max(maxBatch, minBatch)
	var total int64
	batch := min(max(collectFirstBatch, minBatch), maxBatch)
	for {
		start := time.Now()
		n, err := p.store.DeleteExpired(ctx, p.now(), batch)
		took := time.Since(start)
		total += n
		// Fewer rows than a batch means every table came up short: done,
		// without a pass that finds nothing.
		if err != nil || n < int64(batch) || ctx.Err() != nil {
			return total, err
		}
		switch {
		case took > collectPassBudget:
			batch = max(batch/2, minBatch)
		case took < collectPassBudget/4:
			batch = min(batch*2, maxBatch)
		}
		rest := time.NewTimer(2 * took)
		select {
		case <-ctx.Done():
			rest.Stop()
			return total, nil
		case <-rest.C:
		}
	}
}

// collectPassBudget is how long one collection pass may hold the store's
// writer; collectFirstBatch is the batch a collection starts with.
const (
	collectPassBudget = 10 * time.Millisecond
	collectFirstBatch = 20
)
