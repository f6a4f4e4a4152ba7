package oauth

import (
	"net/netip"
	"time"

	"github.com/tessera-id/tessera/store"
)

// DefaultLockout is the sign-in throttling a tenant gets for every setting
// it leaves at zero. The account numbers are Entra ID's smart lockout
// defaults (10 failures, one minute, growing with each further lockout);
// the quiet period that forgets an account's history is Keycloak's default
// failure reset time. An address may fail ten times as often as one
// account, so a shared office address keeps working while a password spray
// from it (a few guesses at each of many usernames) is stopped. A pending
// sign-in request allows five tries, so a script must keep starting new
// requests, and a person is told to start over.
func DefaultLockout() store.LockoutSettings {
	return store.LockoutSettings{
		Threshold:        10,
		Duration:         time.Minute,
		MaxDuration:      15 * time.Minute,
		ResetAfter:       12 * time.Hour,
		AddressThreshold: 100,
		RequestAttempts:  5,
	}
}

// EffectiveLockout is the tenant's settings with each zero field taken
// from defaults.
func EffectiveLockout(tenant, defaults store.LockoutSettings) store.LockoutSettings {
	pick := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	pickD := func(v, d time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return d
	}
	return store.LockoutSettings{
		Threshold:        pick(tenant.Threshold, defaults.Threshold),
		Duration:         pickD(tenant.Duration, defaults.Duration),
		MaxDuration:      pickD(tenant.MaxDuration, defaults.MaxDuration),
		ResetAfter:       pickD(tenant.ResetAfter, defaults.ResetAfter),
		AddressThreshold: pick(tenant.AddressThreshold, defaults.AddressThreshold),
		RequestAttempts:  pick(tenant.RequestAttempts, defaults.RequestAttempts),
	}
}

// LockoutPolicy turns one key's failures into lockouts. It is pure: the
// store only keeps what Fail returns, and the caller supplies the clock.
//
// Threshold failures lock the key for Duration. Entra ID's way after that:
// while the history is remembered, each further failure locks it again,
// for twice as long as the lockout before, up to MaxDuration, so that a
// guesser gets one guess per lockout rather than a fresh Threshold. A
// quiet period of ResetAfter with no failure forgets the history; a
// successful sign-in forgets it too (the caller deletes the row).
type LockoutPolicy struct {
	Threshold   int
	Duration    time.Duration
	MaxDuration time.Duration
	ResetAfter  time.Duration
}

// Locked reports whether s is locked at now, and until when.
func (p LockoutPolicy) Locked(s store.Throttle, now time.Time) (time.Time, bool) {
	return s.LockedUntil, now.Before(s.LockedUntil)
}

// Fail returns s after one more failure at now, and whether it counted. A
// failure while s is locked does not count: it can only be one that was
// already past the check when another locked the key, and counting it
// would lengthen the lockout for what the lockout itself refuses.
func (p LockoutPolicy) Fail(s store.Throttle, now time.Time) (store.Throttle, bool) {
	if _, locked := p.Locked(s, now); locked {
		return s, false
	}
	s = p.forgetQuiet(s, now)
	s.Failures++
	s.LastFailure = now
	if s.Lockouts > 0 || s.Failures >= max(p.Threshold, 1) {
		s.Lockouts++
		s.Failures = 0
		s.LockedUntil = now.Add(p.lockoutLength(s.Lockouts))
	}
	s.ExpiresAt = s.LastFailure.Add(p.ResetAfter)
	if s.LockedUntil.After(s.ExpiresAt) {
		s.ExpiresAt = s.LockedUntil
	}
	return s, true
}

// Reserve admits one more attempt in flight against s until Settle, and
// returns s with it; or it refuses (false) when
// s is locked or the attempts in flight already fill what is left before a
// lock: Threshold less the failures, or one at a time while a history of
// lockouts is remembered (then any failure locks again). Attempts sent all
// at once thus get no more checks than failures would be allowed one by
// one. Nothing in flight locks the key: only a settled failure does.
func (p LockoutPolicy) Reserve(s store.Throttle, now time.Time) (store.Throttle, bool) {
	if _, locked := p.Locked(s, now); locked {
		return s, false
	}
	s = forgetDeadAttempts(p.forgetQuiet(s, now), now)
	room := max(p.Threshold, 1) - s.Failures - s.InFlight
	if s.Lockouts > 0 {
		room = 1 - s.InFlight
	}
	if room <= 0 {
		return s, false
	}
	s.InFlight++
	s.InFlightUntil = now.Add(inFlightBound)
	// Kept at least while the attempt is in flight, and as long as a
	// failure would keep it.
	if exp := now.Add(p.ResetAfter); s.ExpiresAt.Before(exp) {
		s.ExpiresAt = exp
	}
	return s, true
}

// Settle ends an attempt Reserve admitted: it is no longer in flight, and
// when it failed it is counted as Fail counts a failure.
func (p LockoutPolicy) Settle(s store.Throttle, now time.Time, failed bool) store.Throttle {
	if s = forgetDeadAttempts(s, now); s.InFlight > 0 {
		s.InFlight--
	}
	if failed {
		s, _ = p.Fail(s, now)
	}
	return s
}

// forgetQuiet returns s without its history once ResetAfter has passed
// since its last failure.
func (p LockoutPolicy) forgetQuiet(s store.Throttle, now time.Time) store.Throttle {
	if !s.LastFailure.IsZero() && !now.Before(s.LastFailure.Add(p.ResetAfter)) {
		return store.Throttle{TenantID: s.TenantID, Key: s.Key, InFlight: s.InFlight, InFlightUntil: s.InFlightUntil, Version: s.Version}
	}
	return s
}

// inFlightBound is how long an attempt may stay in flight: far longer than
// a password check and the request around it (the server's write timeout
// is 30 s), so only an attempt whose request died before it settled (a
// cancelled request, a crashed instance) outlives it.
const inFlightBound = time.Minute

// forgetDeadAttempts drops the attempts in flight once the last one
// admitted has outlived inFlightBound: they can only be dead, and must not
// hold the key's room for the rest of its history.
func forgetDeadAttempts(s store.Throttle, now time.Time) store.Throttle {
	if s.InFlight > 0 && !now.Before(s.InFlightUntil) {
		s.InFlight, s.InFlightUntil = 0, time.Time{}
	}
	return s
}

// lockoutLength is the length of the nth lockout: Duration doubled n-1
// times, never more than MaxDuration (nor less than Duration, should the
// two be set the wrong way round).
func (p LockoutPolicy) lockoutLength(n int) time.Duration {
	limit := max(p.MaxDuration, p.Duration)
	d := p.Duration
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// signInPolicies are the three policies a sign-in attempt is counted
// under.
type signInPolicies struct {
	account, address, request LockoutPolicy
}

func (p *Provider) signInPolicies(t store.Tenant) signInPolicies {
	l := EffectiveLockout(t.Lockout, p.cfg.Lockout)
	life := p.cfg.AuthRequestLifetime
	return signInPolicies{
		account: LockoutPolicy{Threshold: l.Threshold, Duration: l.Duration, MaxDuration: l.MaxDuration, ResetAfter: l.ResetAfter},
		address: LockoutPolicy{Threshold: l.AddressThreshold, Duration: l.Duration, MaxDuration: l.MaxDuration, ResetAfter: l.ResetAfter},
		// Locked for as long as the request can live: its first lockout
		// is its last.
		request: LockoutPolicy{Threshold: l.RequestAttempts, Duration: life, MaxDuration: life, ResetAfter: life},
	}
}

// addressBucket is what limits by source address count under: an IPv4
// address whole, an IPv6 address by its /64, since one subscriber
// commonly holds a whole /64 and could take a fresh address from it for
// every guess. Anything that does not parse is its own bucket.
func addressBucket(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}
