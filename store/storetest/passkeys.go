package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testPasskeys: a credential id is registered once per tenant, only for a
// user who exists; a user's passkeys are listed oldest first; removing one
// takes only the owner's; they go with the user and the tenant.
func testPasskeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	key := func(tid, uid, id string, at time.Time) store.Passkey {
		return store.Passkey{TenantID: tid, UserID: uid, ID: id, Name: "key " + id, Credential: []byte(`{"id":"` + id + `"}`), SignCount: 7, CreatedAt: at}
	}
	ok(t, s.AddPasskey(ctx, key(t1, "u1", "cred-b", now)))
	ok(t, s.AddPasskey(ctx, key(t1, "u1", "cred-a", now.Add(time.Minute))))
	ok(t, s.AddPasskey(ctx, key(t2, "u1", "cred-b", now)))
	isErr(t, s.AddPasskey(ctx, key(t1, "u2", "cred-b", now)), store.ErrConflict)
	isErr(t, s.AddPasskey(ctx, key(t1, "nobody", "cred-c", now)), store.ErrNotFound)

	got, err := s.ListPasskeys(ctx, t1, "u1")
	ok(t, err)
	same(t, got, []store.Passkey{key(t1, "u1", "cred-b", now), key(t1, "u1", "cred-a", now.Add(time.Minute))})
	one, err := s.GetPasskey(ctx, t1, "cred-a")
	ok(t, err)
	same(t, one, key(t1, "u1", "cred-a", now.Add(time.Minute)))
	_, err = s.GetPasskey(ctx, t1, "cred-z")
	isErr(t, err, store.ErrNotFound)

	isErr(t, s.RemovePasskey(ctx, t1, "u2", "cred-a"), store.ErrNotFound)
	ok(t, s.RemovePasskey(ctx, t1, "u1", "cred-a"))
	isErr(t, s.RemovePasskey(ctx, t1, "u1", "cred-a"), store.ErrNotFound)

	ok(t, s.DeleteUser(ctx, t1, "u1", now))
	got, err = s.ListPasskeys(ctx, t1, "u1")
	ok(t, err)
	if len(got) != 0 {
		t.Errorf("a deleted user's passkeys are left: %+v", got)
	}
	_, err = s.GetPasskey(ctx, t1, "cred-b")
	isErr(t, err, store.ErrNotFound)
	other, err := s.GetPasskey(ctx, t2, "cred-b")
	ok(t, err)
	same(t, other, key(t2, "u1", "cred-b", now))
	ok(t, s.DeleteTenant(ctx, t2))
	_, err = s.GetPasskey(ctx, t2, "cred-b")
	isErr(t, err, store.ErrNotFound)
}

// testPasskeyCounter: a use moves the counter only from the value the
// caller read, so of concurrent sign-ins presenting the same assertion
// exactly one wins; a stale one is ErrNotLive and a removed passkey
// ErrNotFound.
func testPasskeyCounter(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	ok(t, s.AddPasskey(ctx, store.Passkey{TenantID: t1, UserID: "u1", ID: "cred", Name: "k", Credential: []byte("{}"), SignCount: 3, CreatedAt: now}))
	ok(t, s.UsePasskey(ctx, t1, "cred", 3, 4, now.Add(time.Second)))
	isErr(t, s.UsePasskey(ctx, t1, "cred", 3, 4, now.Add(2*time.Second)), store.ErrNotLive)
	p, err := s.GetPasskey(ctx, t1, "cred")
	ok(t, err)
	if p.SignCount != 4 || !norm(p.LastUsedAt).Equal(norm(now.Add(time.Second))) {
		t.Errorf("after one use: count %d, last used %v", p.SignCount, p.LastUsedAt)
	}
	// The largest counter an authenticator may send round-trips.
	ok(t, s.UsePasskey(ctx, t1, "cred", 4, 1<<32-1, now.Add(3*time.Second)))
	p, err = s.GetPasskey(ctx, t1, "cred")
	ok(t, err)
	if p.SignCount != 1<<32-1 {
		t.Errorf("count %d, want %d", p.SignCount, uint32(1<<32-1))
	}

	ok(t, s.AddPasskey(ctx, store.Passkey{TenantID: t1, UserID: "u1", ID: "race", Name: "k", Credential: []byte("{}"), SignCount: 10, CreatedAt: now}))
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() { errs[i] = s.UsePasskey(ctx, t1, "race", 10, 11, now) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			isErr(t, err, store.ErrNotLive)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent uses of one counter value won, want 1", won, racers)
	}
	ok(t, s.RemovePasskey(ctx, t1, "u1", "race"))
	isErr(t, s.UsePasskey(ctx, t1, "race", 11, 12, now), store.ErrNotFound)
}
