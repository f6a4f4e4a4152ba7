package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testAssertionIDs: a client assertion's jti is accepted once per client.
func testAssertionIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	exp := now.Add(5 * time.Minute)

	ok(t, s.UseAssertionID(ctx, t1, "web", "jti-1", exp))
	isErr(t, s.UseAssertionID(ctx, t1, "web", "jti-1", exp), store.ErrConflict)
	// A replay is a replay whatever expiry it claims.
	isErr(t, s.UseAssertionID(ctx, t1, "web", "jti-1", exp.Add(time.Hour)), store.ErrConflict)
	// The same jti from another client, or in another tenant, is another
	// assertion.
	ok(t, s.UseAssertionID(ctx, t1, "api", "jti-1", exp))
	ok(t, s.UseAssertionID(ctx, t2, "web", "jti-1", exp))
	ok(t, s.UseAssertionID(ctx, t1, "web", "jti-2", exp))
	isErr(t, s.UseAssertionID(ctx, t1, "api", "jti-1", exp), store.ErrConflict)
}

// testRevokedAccessTokens: a revoked jti stays revoked, revoking is
// idempotent, and a jti is revoked in its tenant only.
func testRevokedAccessTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	revoked := func(tenant, jti string) bool {
		t.Helper()
		r, err := s.IsAccessTokenRevoked(ctx, tenant, jti)
		ok(t, err)
		return r
	}

	if revoked(t1, "at-1") {
		t.Error("at-1 revoked before RevokeAccessToken")
	}
	ok(t, s.RevokeAccessToken(ctx, t1, "at-1", now.Add(time.Hour)))
	ok(t, s.RevokeAccessToken(ctx, t1, "at-1", now.Add(time.Hour)))
	ok(t, s.RevokeAccessToken(ctx, t1, "at-1", now.Add(time.Minute)))
	if !revoked(t1, "at-1") {
		t.Error("at-1 not revoked")
	}
	if revoked(t1, "at-2") {
		t.Error("at-2 revoked along with at-1")
	}
	if revoked(t2, "at-1") {
		t.Error("at-1 revoked in the other tenant")
	}

	// Revoking again with an earlier expiry does not cut the record short:
	// the token is still revoked until the latest expiry named.
	n, err := s.DeleteExpired(ctx, now.Add(30*time.Minute), 100)
	ok(t, err)
	if n != 0 {
		t.Errorf("DeleteExpired before the token expired: removed %d rows, want 0", n)
	}
	if !revoked(t1, "at-1") {
		t.Error("at-1 no longer revoked before it expired")
	}
}

// testHit counts in fixed windows aligned on the unix epoch.
func testHit(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	hit := func(key string, window time.Duration, at time.Time, want int) {
		t.Helper()
		got, err := s.Hit(ctx, key, window, at)
		ok(t, err)
		if got != want {
			t.Errorf("Hit(%q, %v, %v) = %d, want %d", key, window, at, got, want)
		}
	}

	// epoch() is 05:06:07.891, in the window [05:06, 05:07).
	minute := now.Truncate(time.Minute)
	hit("login:alice", time.Minute, now, 1)
	hit("login:alice", time.Minute, now.Add(10*time.Second), 2)
	hit("login:bob", time.Minute, now, 1)
	hit("login:alice", time.Minute, minute.Add(time.Minute-time.Millisecond), 3)
	// The next window starts at its first instant, from zero.
	hit("login:alice", time.Minute, minute.Add(time.Minute), 1)
	hit("login:alice", time.Minute, minute.Add(time.Minute+time.Second), 2)
	// Skipping windows starts from zero too.
	hit("login:alice", time.Minute, minute.Add(5*time.Minute+30*time.Second), 1)
	hit("login:bob", time.Minute, now.Add(time.Second), 2)

	// Windows are aligned on the unix epoch, not on the first hit: two
	// hits a few milliseconds apart across a boundary are in two windows.
	const w = 7 * time.Second
	ms := now.UnixMilli()
	start := time.UnixMilli(ms - ms%w.Milliseconds()).UTC()
	hit("odd", w, start.Add(-time.Millisecond), 1)
	hit("odd", w, start, 1)
	hit("odd", w, start.Add(w-time.Millisecond), 2)
	hit("odd", w, start.Add(w), 1)

	for _, window := range []time.Duration{0, -time.Second} {
		if _, err := s.Hit(ctx, "bad", window, now); err == nil {
			t.Errorf("Hit with window %v: got nil error", window)
		}
	}
}

// testHitRace: concurrent hits through two handles each count once, so
// the counts they return are exactly 1 to n.
func testHitRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	const n = 50
	handles := []store.Store{s, open()}
	counts := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			counts[i], errs[i] = handles[i%len(handles)].Hit(ctx, "token:web", time.Hour, now)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		ok(t, err)
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("sorted counts %v, want 1 to %d", counts, n)
		}
	}
}
