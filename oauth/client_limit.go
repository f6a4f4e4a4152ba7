package oauth

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/token"
)

// ClientAuthLimit bounds failed client authentications at the token,
// device authorization, revocation and introspection endpoints, per
// tenant, client id and source address, and per tenant and source address
// whatever the client id. Zero fields mean the defaults.
type ClientAuthLimit struct {
	// Failures in one Window block the caller for Block.
	Failures int
	// AddressFailures in one Window, under any client ids, block the
	// address for Block: one address naming a new client id each time
	// would otherwise never reach Failures, and cost a counter row each.
	AddressFailures int
	Window          time.Duration
	Block           time.Duration
	// MaxBlocked bounds the in-memory set of blocked callers.
	MaxBlocked int
}

// DefaultClientAuthLimit allows 20 failures in 5 minutes per client id and
// address, 100 per address, then blocks the caller for 5 minutes. A client secret is 256 random bits, so this is not
// what keeps it from being guessed; it keeps a misconfigured or hostile
// caller from costing a store write per request forever, and makes its
// noise stop.
func DefaultClientAuthLimit() ClientAuthLimit {
	return ClientAuthLimit{Failures: 20, AddressFailures: 100, Window: 5 * time.Minute, Block: 5 * time.Minute, MaxBlocked: 10_000}
}

func (l ClientAuthLimit) orDefault() ClientAuthLimit {
	d := DefaultClientAuthLimit()
	if l.Failures <= 0 {
		l.Failures = d.Failures
	}
	if l.AddressFailures <= 0 {
		l.AddressFailures = d.AddressFailures
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.Block <= 0 {
		l.Block = d.Block
	}
	if l.MaxBlocked <= 0 {
		l.MaxBlocked = d.MaxBlocked
	}
	return l
}

// clientKey is one caller of the token endpoint; with client anyClient,
// every client id from that address.
type clientKey struct {
	tenant, client, address string
}

// anyClient stands for every client id in an address-wide clientKey. A
// caller that names "*" as its client id only shares its own address's
// count.
const anyClient = "*"

func (k clientKey) anyClient() clientKey {
	return clientKey{tenant: k.tenant, client: anyClient, address: k.address}
}

// callerOf names the caller of req: its IPv6 address by its /64, as
// sign-in limits count it. A client id is anything up to
// MaxValueLen bytes that the caller chose; a long one is kept as its hash,
// so that the blocked set's memory and the store's keys stay small.
func callerOf(ep Endpoint, clientID string, req TokenRequest) clientKey {
	if len(clientID) > 64 {
		clientID = "sha256:" + hex.EncodeToString(token.Hash(clientID))
	}
	return clientKey{tenant: ep.Tenant.ID, client: clientID, address: addressBucket(req.Address)}
}

// clientBlocks is the set of callers blocked until some time, held by one
// Provider. The successful path must cost no store round trip (a client
// credentials response needs none), so failures are counted in the store
// (shared by every instance) only when they happen, and a caller whose
// count crossed the limit is remembered here, where checking it costs no
// I/O. Another instance learns of the block at the caller's next failure
// there, whose count is already over the limit.
type clientBlocks struct {
	// n is the size of until, read without the lock: while nobody is
	// blocked, which is almost always, a check costs one atomic load.
	n     atomic.Int64
	mu    sync.Mutex
	until map[clientKey]time.Time
	max   int
}

func newClientBlocks(max int) *clientBlocks {
	return &clientBlocks{until: map[clientKey]time.Time{}, max: max}
}

// blocked returns when k's block ends, if it is blocked at now.
func (b *clientBlocks) blocked(k clientKey, now time.Time) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.until[k]
	if ok && !now.Before(until) {
		delete(b.until, k)
		b.n.Store(int64(len(b.until)))
		ok = false
	}
	return until, ok
}

// block blocks k until the given time. A full set first drops the blocks
// that ended, then the one that ends first: under a flood of blocked
// callers the newest block matters more than the oldest.
func (b *clientBlocks) block(k clientKey, until, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.until[k]; !ok && len(b.until) >= b.max {
		var first clientKey
		var firstUntil time.Time
		for key, u := range b.until {
			if !now.Before(u) {
				delete(b.until, key)
			} else if firstUntil.IsZero() || u.Before(firstUntil) {
				first, firstUntil = key, u
			}
		}
		if len(b.until) >= b.max {
			delete(b.until, first)
		}
	}
	b.until[k] = until
	b.n.Store(int64(len(b.until)))
}

// clientBlocked answers the caller of req for clientID if it is blocked,
// before any work is done for it. While nobody is blocked it costs one
// atomic load: not even the caller's key is built.
func (p *Provider) clientBlocked(ep Endpoint, clientID string, req TokenRequest) *Error {
	if p.clientBlocks.n.Load() == 0 {
		return nil
	}
	now := p.now()
	k := callerOf(ep, clientID, req)
	until, blocked := p.clientBlocks.blocked(k, now)
	if !blocked {
		if until, blocked = p.clientBlocks.blocked(k.anyClient(), now); !blocked {
			return nil
		}
	}
	return tooManyClientFailures(until.Sub(now))
}

func tooManyClientFailures(wait time.Duration) *Error {
	e := invalidClient(CodeLocked,
		"Too many failed client authentication attempts from this address. Try again in %d seconds.", seconds(wait))
	e.RetryAfter = wait
	return e
}

// seconds rounds a wait up to whole seconds, at least one.
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// clientAuthFailed counts a failed client authentication in the store and
// blocks the caller here once its count reaches the limit. It returns the
// error to answer with: e, or the block's own when this failure started
// one.
func (p *Provider) clientAuthFailed(ctx context.Context, k clientKey, e *Error) *Error {
	l := p.cfg.ClientAuthLimit
	now := p.now()
	// The address's count first: once it is over, the caller is blocked
	// before its own pair is counted, so an address spraying client ids
	// stops costing a row per id.
	if e := p.countClientFailure(ctx, k.anyClient(), l.AddressFailures, now, e); e != nil && e.RetryAfter > 0 {
		return e
	}
	return p.countClientFailure(ctx, k, l.Failures, now, e)
}

// countClientFailure counts one failure of k in the store, and blocks k
// here once the count reaches limit.
func (p *Provider) countClientFailure(ctx context.Context, k clientKey, limit int, now time.Time, e *Error) *Error {
	l := p.cfg.ClientAuthLimit
	n, err := p.store.Hit(ctx, fmt.Sprintf("clientauth:%s:%s:%s", k.tenant, k.client, k.address), l.Window, now)
	if err != nil {
		// The caller failed anyway; a store that cannot count must not
		// turn that into a 500, which a client might retry harder.
		p.log.WarnContext(ctx, "count failed client authentication", "tenant", k.tenant, "client", k.client, "err", err)
		return e
	}
	if n < limit {
		return e
	}
	p.clientBlocks.block(k, now.Add(l.Block), now)
	if n == limit { // once per window, however long the failing goes on
		p.log.WarnContext(ctx, "client authentication blocked", "tenant", k.tenant, "client", k.client,
			"address", k.address, "failures", n, "until", now.Add(l.Block))
	}
	if n > limit {
		// Over the limit before this failure: blocked elsewhere (another
		// instance), or here and since expired. Either way it is refused
		// as blocked, like the ones the set catches.
		return tooManyClientFailures(l.Block)
	}
	return e
}

// isClientAuthFailure tells the failures that count against a caller:
// the client could not prove who it is. Malformed requests and server
// errors do not count.
func isClientAuthFailure(e *Error) bool {
	return e != nil && e.Code == ErrInvalidClient && e.Status == http.StatusUnauthorized
}
