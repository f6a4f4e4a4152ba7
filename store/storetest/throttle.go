package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testTenantLockout: a tenant's lockout settings are stored with it, read
// back by id, by name and in the list, and replaced whole.
func testTenantLockout(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	a := store.Tenant{ID: "3f6c0d5e", Name: "contoso", SigningAlg: "RS256", CreatedAt: now}
	b := store.Tenant{ID: "9a1b2c3d", Name: "fabrikam", SigningAlg: "ES256", CreatedAt: now,
		Lockout: store.LockoutSettings{Threshold: 3, Duration: 90 * time.Second}}
	ok(t, s.CreateTenant(ctx, a))
	ok(t, s.CreateTenant(ctx, b))
	got, err := s.GetTenant(ctx, b.Name)
	ok(t, err)
	same(t, got, b)

	a.Lockout = store.LockoutSettings{Threshold: 5, Duration: 30 * time.Second, MaxDuration: 10 * time.Minute,
		ResetAfter: 24 * time.Hour, AddressThreshold: 50, RequestAttempts: 3}
	ok(t, s.SetTenantLockout(ctx, a.ID, a.Lockout))
	for _, key := range []string{a.ID, a.Name} {
		got, err := s.GetTenant(ctx, key)
		ok(t, err)
		same(t, got, a)
	}
	all, err := s.ListTenants(ctx)
	ok(t, err)
	same(t, all, []store.Tenant{a, b})

	// Replaced whole: zero fields go back to the server's defaults.
	a.Lockout = store.LockoutSettings{RequestAttempts: 7}
	ok(t, s.SetTenantLockout(ctx, a.ID, a.Lockout))
	got, err = s.GetTenant(ctx, a.ID)
	ok(t, err)
	same(t, got, a)

	isErr(t, s.SetTenantLockout(ctx, "nope", a.Lockout), store.ErrNotFound)
	// By id only: a name does not address the update.
	isErr(t, s.SetTenantLockout(ctx, a.Name, a.Lockout), store.ErrNotFound)
}

// testThrottles: a key's history is written with a compare-and-swap on its
// version, per tenant, and forgotten on delete.
func testThrottles(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	_, err := s.GetThrottle(ctx, t1, "user:alice")
	isErr(t, err, store.ErrNotFound)

	first := store.Throttle{TenantID: t1, Key: "user:alice", Failures: 1, InFlight: 2, InFlightUntil: now.Add(time.Minute), LastFailure: now,
		ExpiresAt: now.Add(12 * time.Hour)}
	ok(t, s.PutThrottle(ctx, first))
	got, err := s.GetThrottle(ctx, t1, "user:alice")
	ok(t, err)
	first.Version = 1
	same(t, got, first)
	// A second first write lost the race.
	isErr(t, s.PutThrottle(ctx, store.Throttle{TenantID: t1, Key: "user:alice", Failures: 1, ExpiresAt: now}), store.ErrNotLive)

	locked := got
	locked.Failures, locked.InFlight, locked.Lockouts = 0, 1, 1
	locked.LockedUntil, locked.LastFailure = now.Add(time.Minute), now.Add(time.Second)
	ok(t, s.PutThrottle(ctx, locked))
	// The same version again: another writer read it too, and lost.
	isErr(t, s.PutThrottle(ctx, got), store.ErrNotLive)
	got, err = s.GetThrottle(ctx, t1, "user:alice")
	ok(t, err)
	locked.Version = 2
	same(t, got, locked)

	// Keys are per tenant.
	_, err = s.GetThrottle(ctx, t2, "user:alice")
	isErr(t, err, store.ErrNotFound)
	ok(t, s.PutThrottle(ctx, store.Throttle{TenantID: t2, Key: "user:alice", Failures: 4, ExpiresAt: now.Add(time.Hour)}))
	other, err := s.GetThrottle(ctx, t2, "user:alice")
	ok(t, err)
	if other.Failures != 4 || other.Version != 1 {
		t.Errorf("the other tenant's row: %+v", other)
	}

	ok(t, s.DeleteThrottle(ctx, t1, "user:alice"))
	ok(t, s.DeleteThrottle(ctx, t1, "user:alice"))
	_, err = s.GetThrottle(ctx, t1, "user:alice")
	isErr(t, err, store.ErrNotFound)
	// A writer that read the row before the delete loses; one that reads
	// again starts over.
	isErr(t, s.PutThrottle(ctx, got), store.ErrNotLive)
	ok(t, s.PutThrottle(ctx, store.Throttle{TenantID: t1, Key: "user:alice", Failures: 1, ExpiresAt: now.Add(time.Hour)}))
	if _, err := s.GetThrottle(ctx, t2, "user:alice"); err != nil {
		t.Errorf("deleting in one tenant touched the other: %v", err)
	}
}

// testThrottleRace: failures counted at once through two handles (two
// server instances), each by reading the row and writing it back with a
// compare-and-swap, retried on a lost race, are all counted.
func testThrottleRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	const n = 40
	handles := []store.Store{s, open()}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			h := handles[i%len(handles)]
			// Each round one writer wins, so n rounds always suffice.
			for range n {
				cur, err := h.GetThrottle(ctx, t1, "addr:192.0.2.1")
				if errors.Is(err, store.ErrNotFound) {
					cur, err = store.Throttle{TenantID: t1, Key: "addr:192.0.2.1"}, nil
				}
				if err != nil {
					errs[i] = err
					return
				}
				cur.Failures++
				cur.LastFailure, cur.ExpiresAt = now, now.Add(time.Hour)
				err = h.PutThrottle(ctx, cur)
				if !errors.Is(err, store.ErrNotLive) {
					errs[i] = err
					return
				}
			}
			errs[i] = errors.New("lost the race every time")
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		ok(t, err)
	}
	got, err := s.GetThrottle(ctx, t1, "addr:192.0.2.1")
	ok(t, err)
	if got.Failures != n || got.Version != n {
		t.Errorf("after %d concurrent failures: failures %d, version %d", n, got.Failures, got.Version)
	}
}
