package storetest

import (
	"errors"
	"fmt"
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

// testThrottles: keys' histories are read and changed together, per
// tenant; kept, stored (versions counting the writes) or forgotten as
// the change says; an error from the change writes nothing.
func testThrottles(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	_, err := s.GetThrottle(ctx, t1, "user:alice")
	isErr(t, err, store.ErrNotFound)
	// update runs one UpdateThrottles and returns what the change saw.
	update := func(tenant string, keys []string, ups ...store.ThrottleUpdate) (seen, after []store.Throttle) {
		t.Helper()
		after, err := s.UpdateThrottles(ctx, tenant, keys, func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
			seen = cur
			return ups, nil
		})
		ok(t, err)
		return seen, after
	}
	store1 := func(th store.Throttle) store.ThrottleUpdate {
		return store.ThrottleUpdate{Op: store.ThrottleStore, Next: th}
	}
	keep := store.ThrottleUpdate{Op: store.ThrottleKeep}
	forget := store.ThrottleUpdate{Op: store.ThrottleForget}

	first := store.Throttle{Failures: 1, InFlight: 2, InFlightUntil: now.Add(time.Minute), LastFailure: now, ExpiresAt: now.Add(12 * time.Hour)}
	seen, after := update(t1, []string{"user:alice"}, store1(first))
	same(t, seen, []store.Throttle{{TenantID: t1, Key: "user:alice"}})
	first.TenantID, first.Key, first.Version = t1, "user:alice", 1
	same(t, after, []store.Throttle{first})
	got, err := s.GetThrottle(ctx, t1, "user:alice")
	ok(t, err)
	same(t, got, first)

	// Several keys at once, in the caller's order: one stored again, one
	// kept without a row, one stored for the first time.
	locked := got
	locked.Failures, locked.InFlight, locked.Lockouts = 0, 1, 1
	locked.LockedUntil, locked.LastFailure = now.Add(time.Minute), now.Add(time.Second)
	req := store.Throttle{InFlight: 1, InFlightUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	keys := []string{"user:alice", "addr:192.0.2.1", "req:1"}
	seen, after = update(t1, keys, store1(locked), keep, store1(req))
	same(t, seen, []store.Throttle{first, {TenantID: t1, Key: "addr:192.0.2.1"}, {TenantID: t1, Key: "req:1"}})
	locked.Version = 2
	req.TenantID, req.Key, req.Version = t1, "req:1", 1
	same(t, after, []store.Throttle{locked, {TenantID: t1, Key: "addr:192.0.2.1"}, req})
	for _, want := range after {
		got, err := s.GetThrottle(ctx, t1, want.Key)
		if want.Version == 0 {
			isErr(t, err, store.ErrNotFound)
			continue
		}
		ok(t, err)
		same(t, got, want)
	}

	// A change that fails writes nothing, and its error comes back as is.
	refused := errors.New("refused")
	_, err = s.UpdateThrottles(ctx, t1, keys, func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
		return []store.ThrottleUpdate{forget, store1(first), forget}, refused
	})
	if err != refused {
		t.Errorf("UpdateThrottles with a failing change: %v, want its error", err)
	}
	got, err = s.GetThrottle(ctx, t1, "user:alice")
	ok(t, err)
	same(t, got, locked)
	// As does a key named twice, before anything is read.
	_, err = s.UpdateThrottles(ctx, t1, []string{"req:1", "req:1"}, func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
		t.Error("change called for a key named twice")
		return []store.ThrottleUpdate{keep, keep}, nil
	})
	if err == nil {
		t.Error("UpdateThrottles took a key named twice")
	}

	// Keys are per tenant.
	_, err = s.GetThrottle(ctx, t2, "user:alice")
	isErr(t, err, store.ErrNotFound)
	_, after = update(t2, []string{"user:alice"}, store1(store.Throttle{Failures: 4, ExpiresAt: now.Add(time.Hour)}))
	if after[0].Failures != 4 || after[0].Version != 1 || after[0].TenantID != t2 {
		t.Errorf("the other tenant's row: %+v", after[0])
	}

	// Forgotten, twice (a key without a row is no error), and started over.
	_, after = update(t1, []string{"user:alice", "req:1"}, forget, forget)
	same(t, after, []store.Throttle{{TenantID: t1, Key: "user:alice"}, {TenantID: t1, Key: "req:1"}})
	update(t1, []string{"user:alice"}, forget)
	_, err = s.GetThrottle(ctx, t1, "user:alice")
	isErr(t, err, store.ErrNotFound)
	_, after = update(t1, []string{"user:alice"}, store1(store.Throttle{Failures: 1, ExpiresAt: now.Add(time.Hour)}))
	if after[0].Version != 1 {
		t.Errorf("a key stored again after it was forgotten: version %d, want 1", after[0].Version)
	}
	if _, err := s.GetThrottle(ctx, t2, "user:alice"); err != nil {
		t.Errorf("forgetting in one tenant touched the other: %v", err)
	}
}

// testThrottleRace: failures counted at once through two handles (two
// server instances), each against the shared address key and one of three
// account keys, named in either order, are all counted: no update is
// lost, none fails, and overlapping updates do not deadlock.
func testThrottleRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	const n = 40
	const addr = "addr:192.0.2.1"
	handles := []store.Store{s, open()}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys := []string{addr, fmt.Sprintf("user:%d", i%3)}
			if i%2 == 1 {
				keys[0], keys[1] = keys[1], keys[0]
			}
			_, errs[i] = handles[i%len(handles)].UpdateThrottles(ctx, t1, keys, func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
				ups := make([]store.ThrottleUpdate, len(cur))
				for j, c := range cur {
					c.Failures++
					c.LastFailure, c.ExpiresAt = now, now.Add(time.Hour)
					ups[j] = store.ThrottleUpdate{Op: store.ThrottleStore, Next: c}
				}
				return ups, nil
			})
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		ok(t, err)
	}
	got, err := s.GetThrottle(ctx, t1, addr)
	ok(t, err)
	if got.Failures != n || got.Version != n {
		t.Errorf("after %d concurrent failures: failures %d, version %d", n, got.Failures, got.Version)
	}
	users := 0
	for u := range 3 {
		got, err := s.GetThrottle(ctx, t1, fmt.Sprintf("user:%d", u))
		ok(t, err)
		users += got.Failures
	}
	if users != n {
		t.Errorf("after %d concurrent failures: the account keys counted %d", n, users)
	}
}
