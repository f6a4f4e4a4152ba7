package oauth

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// The lockout policy as a table: each row is a sequence of failures at
// offsets from t0, and what the key's state must be after the last one.
func TestLockoutPolicy(t *testing.T) {
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	d := DefaultLockout()
	pol := LockoutPolicy{Threshold: d.Threshold, Duration: d.Duration, MaxDuration: d.MaxDuration, ResetAfter: d.ResetAfter}
	at := func(offsets ...time.Duration) []time.Time {
		var ts []time.Time
		for _, o := range offsets {
			ts = append(ts, t0.Add(o))
		}
		return ts
	}
	// burst is n failures a second apart starting at from.
	burst := func(from time.Duration, n int) []time.Duration {
		var out []time.Duration
		for i := range n {
			out = append(out, from+time.Duration(i)*time.Second)
		}
		return out
	}
	cat := func(parts ...[]time.Duration) []time.Duration {
		var out []time.Duration
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		policy      LockoutPolicy
		failures    []time.Time
		counted     int // how many of the failures counted
		wantFails   int
		wantLocks   int
		lockedUntil time.Time // zero: not locked
	}{
		{name: "one failure", failures: at(0), counted: 1, wantFails: 1},
		{name: "nine failures stay open", failures: at(burst(0, 9)...), counted: 9, wantFails: 9},
		{name: "the tenth locks for a minute", failures: at(burst(0, 10)...), counted: 10, wantLocks: 1,
			lockedUntil: t0.Add(9*time.Second + time.Minute)},
		{name: "failures during a lockout do not count", failures: at(burst(0, 15)...), counted: 10, wantLocks: 1,
			lockedUntil: t0.Add(9*time.Second + time.Minute)},
		// After the first lockout ends, each further failure locks again,
		// for twice as long as the one before.
		{name: "the next failure after a lockout locks for two minutes",
			failures: at(cat(burst(0, 10), []time.Duration{2 * time.Minute})...), counted: 11, wantLocks: 2,
			lockedUntil: t0.Add(4 * time.Minute)},
		{name: "then four, eight, then capped at fifteen",
			failures: at(cat(burst(0, 10), []time.Duration{2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 19 * time.Minute, 40 * time.Minute})...),
			counted:  15, wantLocks: 6, lockedUntil: t0.Add(55 * time.Minute)},
		{name: "the cap holds however many lockouts",
			failures: at(cat(burst(0, 10), []time.Duration{2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 19 * time.Minute, 40 * time.Minute, 56 * time.Minute, 72 * time.Minute})...),
			counted:  17, wantLocks: 8, lockedUntil: t0.Add(87 * time.Minute)},
		// A quiet period of ResetAfter since the last failure forgets
		// failures and lockouts alike.
		{name: "a quiet period forgets failures",
			failures: at(cat(burst(0, 9), []time.Duration{9*time.Second + 12*time.Hour})...), counted: 10, wantFails: 1},
		{name: "a quiet period forgets lockouts",
			failures: at(cat(burst(0, 10), []time.Duration{9*time.Second + 12*time.Hour})...), counted: 11, wantFails: 1},
		{name: "just short of the quiet period remembers",
			failures: at(cat(burst(0, 9), []time.Duration{8*time.Second + 12*time.Hour - time.Millisecond})...), counted: 10, wantLocks: 1,
			lockedUntil: t0.Add(8*time.Second + 12*time.Hour - time.Millisecond + time.Minute)},
		{name: "a threshold of one locks at once", policy: LockoutPolicy{Threshold: 1, Duration: time.Minute, MaxDuration: time.Hour, ResetAfter: time.Hour},
			failures: at(0), counted: 1, wantLocks: 1, lockedUntil: t0.Add(time.Minute)},
		{name: "a maximum below the duration is the duration", policy: LockoutPolicy{Threshold: 1, Duration: time.Hour, MaxDuration: time.Minute, ResetAfter: 24 * time.Hour},
			failures: at(0, 2*time.Hour), counted: 2, wantLocks: 2, lockedUntil: t0.Add(3 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			if p.Threshold == 0 {
				p = pol
			}
			s := store.Throttle{TenantID: "t", Key: "user:x"}
			counted := 0
			for _, now := range tc.failures {
				next, ok := p.Fail(s, now)
				if ok {
					counted++
				} else if next != s {
					t.Fatalf("a failure that did not count changed the state: %+v -> %+v", s, next)
				}
				s = next
				if s.LastFailure.Add(p.ResetAfter).After(s.ExpiresAt) || s.LockedUntil.After(s.ExpiresAt) {
					t.Fatalf("row expires at %v, before what it holds matters: %+v", s.ExpiresAt, s)
				}
			}
			if counted != tc.counted || s.Failures != tc.wantFails || s.Lockouts != tc.wantLocks {
				t.Errorf("counted %d, failures %d, lockouts %d; want %d, %d, %d",
					counted, s.Failures, s.Lockouts, tc.counted, tc.wantFails, tc.wantLocks)
			}
			last := tc.failures[len(tc.failures)-1]
			until, locked := p.Locked(s, last)
			if locked != !tc.lockedUntil.IsZero() || locked && !until.Equal(tc.lockedUntil) {
				t.Errorf("Locked at the last failure = %v until %v, want locked until %v", locked, until, tc.lockedUntil)
			}
			if locked {
				if _, still := p.Locked(s, tc.lockedUntil.Add(-time.Millisecond)); !still {
					t.Error("unlocked before its time")
				}
				if _, still := p.Locked(s, tc.lockedUntil); still {
					t.Error("still locked when its time is up")
				}
			}
		})
	}
}

func TestEffectiveLockout(t *testing.T) {
	d := DefaultLockout()
	if got := EffectiveLockout(store.LockoutSettings{}, d); got != d {
		t.Errorf("no settings: %+v, want the defaults %+v", got, d)
	}
	mine := store.LockoutSettings{Threshold: 3, MaxDuration: time.Hour, RequestAttempts: 2}
	want := d
	want.Threshold, want.MaxDuration, want.RequestAttempts = 3, time.Hour, 2
	if got := EffectiveLockout(mine, d); got != want {
		t.Errorf("some settings: %+v, want %+v", got, want)
	}
}

func TestAddressBucket(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
		"":                     "",
	} {
		if got := addressBucket(in); got != want {
			t.Errorf("addressBucket(%q) = %q, want %q", in, got, want)
		}
	}
}

// Attempts in flight: Reserve admits no more at once than failures are
// left before a lock (one at a time while lockouts are remembered), locks
// nothing itself, and Settle takes an attempt back or counts its failure.
func TestLockoutReserveSettle(t *testing.T) {
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	pol := LockoutPolicy{Threshold: 3, Duration: time.Minute, MaxDuration: 15 * time.Minute, ResetAfter: time.Hour}
	reserve := func(s store.Throttle, n int) (store.Throttle, int) {
		admitted := 0
		for range n {
			next, ok := pol.Reserve(s, t0)
			if ok {
				s, admitted = next, admitted+1
			}
		}
		return s, admitted
	}
	for _, tc := range []struct {
		name         string
		start        store.Throttle
		burst        int
		wantAdmitted int
		failed       int // of the admitted, how many fail (the rest are taken back)
		wantLocked   bool
		wantFailures int
	}{
		{name: "a fresh key admits the threshold at once", burst: 10, wantAdmitted: 3, failed: 0, wantFailures: 0},
		{name: "in flight locks nothing", burst: 3, wantAdmitted: 3, failed: 0, wantFailures: 0},
		{name: "two failures leave room for one", start: store.Throttle{Failures: 2, LastFailure: t0}, burst: 5, wantAdmitted: 1, failed: 1, wantLocked: true},
		{name: "three admitted, all fail: locked", burst: 3, wantAdmitted: 3, failed: 3, wantLocked: true},
		{name: "three admitted, two fail: not yet", burst: 3, wantAdmitted: 3, failed: 2, wantFailures: 2},
		{name: "a remembered lockout admits one at a time", start: store.Throttle{Lockouts: 1, LastFailure: t0.Add(-2 * time.Minute)}, burst: 4, wantAdmitted: 1, failed: 1, wantLocked: true},
		{name: "a locked key admits none", start: store.Throttle{Lockouts: 1, LockedUntil: t0.Add(time.Minute), LastFailure: t0}, burst: 4, wantAdmitted: 0, wantLocked: true},
		{name: "attempts in flight past their bound are dead", start: store.Throttle{InFlight: 3, InFlightUntil: t0.Add(-time.Second)}, burst: 5, wantAdmitted: 3},
		{name: "attempts in flight within their bound hold the room", start: store.Throttle{InFlight: 3, InFlightUntil: t0.Add(time.Second)}, burst: 5, wantAdmitted: 0},
		{name: "a quiet hour forgets before admitting", start: store.Throttle{Failures: 2, LastFailure: t0.Add(-time.Hour)}, burst: 5, wantAdmitted: 3, failed: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, admitted := reserve(tc.start, tc.burst)
			if admitted != tc.wantAdmitted {
				t.Fatalf("admitted %d of %d, want %d", admitted, tc.burst, tc.wantAdmitted)
			}
			if !s.LockedUntil.Equal(tc.start.LockedUntil) {
				t.Fatalf("reserving changed the lock: %v", s.LockedUntil)
			}
			for i := range admitted {
				s = pol.Settle(s, t0, i < tc.failed)
			}
			if _, locked := pol.Locked(s, t0); locked != tc.wantLocked {
				t.Fatalf("locked = %v, want %v (%+v)", locked, tc.wantLocked, s)
			}
			if !tc.wantLocked && s.Failures != tc.wantFailures {
				t.Errorf("failures = %d, want %d", s.Failures, tc.wantFailures)
			}
		})
	}
}
