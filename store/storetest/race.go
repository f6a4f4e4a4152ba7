package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// race has n callers rotate parent at once, caller i through
// handles[i%len(handles)] with successor hash name/i, and returns the index
// of the single winner. Every loser must get ErrNotLive, and only the
// winner's successor may exist afterwards.
func race(t *testing.T, handles []store.Store, parent store.RefreshToken, name string, n int, now time.Time) int {
	t.Helper()
	ctx := t.Context()
	succ := make([]store.RefreshToken, n)
	errs := make([]error, n)
	for i := range n {
		succ[i] = successor(parent, fmt.Sprintf("%s/%d", name, i), now)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = handles[i%len(handles)].RotateRefreshToken(ctx, parent.TenantID, parent.Hash, succ[i], now)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: callers %d and %d both rotated the same parent", name, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrNotLive):
			t.Fatalf("%s: caller %d: got %v, want nil or ErrNotLive", name, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no caller rotated the parent", name)
	}
	for i := range n {
		_, _, err := handles[(i+1)%len(handles)].GetRefreshToken(ctx, parent.TenantID, succ[i].Hash)
		if i == winner {
			ok(t, err)
		} else {
			isErr(t, err, store.ErrNotFound)
		}
	}
	return winner
}

// testRotateRace is Dex's parallel refresh test: many requests with the
// same refresh token, one wins.
func testRotateRace(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	fam, rt0 := family("fam", now)
	ok(t, s.CreateRefreshFamily(ctx, fam, rt0))

	race(t, []store.Store{s}, rt0, "succ", 100, now)
	got, _, err := s.GetRefreshToken(ctx, t1, rt0.Hash)
	ok(t, err)
	if got.UsedAt.IsZero() {
		t.Error("parent not marked used")
	}
}

// testRotateRaceHandles is the same race between server instances (or
// processes) that share the database but nothing in memory.
func testRotateRaceHandles(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	fam, rt0 := family("fam", now)
	ok(t, s.CreateRefreshFamily(ctx, fam, rt0))

	handles := []store.Store{open(), open(), open(), open()}
	race(t, handles, rt0, "succ", 100, now)
}

// testRotateChain rotates one family 50 times, each step raced by 10
// callers spread over two handles: one winner per step, and the chain's
// lineage counts up.
func testRotateChain(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	fam, parent := family("fam", now)
	ok(t, s.CreateRefreshFamily(ctx, fam, parent))

	handles := []store.Store{s, open()}
	for step := 1; step <= 50; step++ {
		at := now.Add(time.Duration(step) * time.Second)
		name := fmt.Sprintf("step-%d", step)
		winner := race(t, handles, parent, name, 10, at)
		next, gotFamily, err := s.GetRefreshToken(ctx, t1, hash(fmt.Sprintf("%s/%d", name, winner)))
		ok(t, err)
		if next.Generation != step || next.FamilyID != fam.ID || !bytes.Equal(next.ParentHash, parent.Hash) {
			t.Fatalf("step %d: got generation %d, family %q, parent %x; want %d, %q, %x",
				step, next.Generation, next.FamilyID, next.ParentHash, step, fam.ID, parent.Hash)
		}
		same(t, gotFamily, fam)
		parent = next
	}
}

// testHandlesShareWrites checks that a write through one handle is seen by
// the very next read through another: no handle may serve rows from memory.
func testHandlesShareWrites(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	other := open()

	app, err := other.GetApp(ctx, t1, "web")
	ok(t, err)
	app.Name = "renamed"
	ok(t, s.UpdateApp(ctx, app))
	got, err := other.GetApp(ctx, t1, "web")
	ok(t, err)
	same(t, got, app)

	fam, rt0 := family("fam", now)
	ok(t, other.CreateRefreshFamily(ctx, fam, rt0))
	ok(t, s.RevokeRefreshFamily(ctx, t1, fam.ID, now))
	isErr(t, other.RotateRefreshToken(ctx, t1, rt0.Hash, successor(rt0, "rt1", now), now), store.ErrNotLive)
	_, gotFamily, err := other.GetRefreshToken(ctx, t1, rt0.Hash)
	ok(t, err)
	fam.RevokedAt = now
	same(t, gotFamily, fam)

	// Introspection reads revocations through its own handle's readers.
	revoked, err := other.IsAccessTokenRevoked(ctx, t1, "at-1")
	ok(t, err)
	if revoked {
		t.Fatal("at-1 revoked before RevokeAccessToken")
	}
	ok(t, s.RevokeAccessToken(ctx, t1, "at-1", now.Add(time.Hour)))
	revoked, err = other.IsAccessTokenRevoked(ctx, t1, "at-1")
	ok(t, err)
	if !revoked {
		t.Error("revocation through one handle not seen through another")
	}
}
