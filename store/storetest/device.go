package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// deviceCode returns a pending device code of t1 for app "web", live for
// 15 minutes from now.
func deviceCode(name, userCode string, now time.Time) store.DeviceCode {
	return store.DeviceCode{Hash: hash(name), TenantID: t1, ClientID: "web", UserCode: userCode,
		Grant:  store.Grant{ResourceID: "api", Scopes: []string{"read", "write"}, OIDCScopes: []string{"openid", "offline_access"}},
		Status: store.DevicePending, Interval: 5 * time.Second, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
}

// approve is u1's approval at now, narrowed to reading.
func approve(userID string, now time.Time) store.DeviceDecision {
	return store.DeviceDecision{Status: store.DeviceApproved, UserID: userID, SessionID: "sid-" + userID,
		AuthTime: now.Add(-time.Minute),
		Grant:    store.Grant{ResourceID: "api", Scopes: []string{"read"}, OIDCScopes: []string{"openid", "offline_access"}}}
}

// decided is d as a decision leaves it.
func decided(d store.DeviceCode, dec store.DeviceDecision) store.DeviceCode {
	d.Status, d.UserID, d.SessionID, d.AuthTime, d.Grant = dec.Status, dec.UserID, dec.SessionID, dec.AuthTime, dec.Grant
	return d
}

// redemption returns what redeeming a device code with a refresh family
// named id issues.
func redemption(id string, now time.Time) (store.Redemption, store.RefreshFamily, store.RefreshToken) {
	f, rt := family(id, now)
	return store.Redemption{AccessTokenID: "at-" + id, AccessTokenExpiresAt: now.Add(time.Hour), Family: &f, First: &rt}, f, rt
}

// testDeviceCodes walks a device code through its life: pending, polled,
// approved, redeemed once.
func testDeviceCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	d := deviceCode("device", "WDJBMJHT", now)
	ok(t, s.CreateDeviceCode(ctx, d))
	check := func(want store.DeviceCode) {
		t.Helper()
		got, err := s.GetDeviceCode(ctx, t1, want.Hash)
		ok(t, err)
		same(t, got, want)
		got, err = s.GetDeviceCodeByUserCode(ctx, t1, want.UserCode)
		ok(t, err)
		same(t, got, want)
	}
	check(d)
	_, err := s.GetDeviceCode(ctx, t1, hash("nope"))
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetDeviceCodeByUserCode(ctx, t1, "NOPENOPE")
	isErr(t, err, store.ErrNotFound)

	// The device code and the user code are each unique in a tenant; the
	// same user code in another tenant is another code.
	isErr(t, s.CreateDeviceCode(ctx, d), store.ErrConflict)
	isErr(t, s.CreateDeviceCode(ctx, deviceCode("other device", d.UserCode, now)), store.ErrConflict)
	_, err = s.GetDeviceCode(ctx, t1, hash("other device"))
	isErr(t, err, store.ErrNotFound)
	elsewhere := deviceCode("device in t2", d.UserCode, now)
	elsewhere.TenantID = t2
	ok(t, s.CreateDeviceCode(ctx, elsewhere))
	got, err := s.GetDeviceCodeByUserCode(ctx, t2, d.UserCode)
	ok(t, err)
	same(t, got, elsewhere)
	check(d)

	// Each poll returns the code as it was before that poll.
	poll1, poll2 := now.Add(5*time.Second), now.Add(11*time.Second)
	got, err = s.PollDeviceCode(ctx, t1, d.Hash, poll1)
	ok(t, err)
	same(t, got, d)
	d.LastPollAt = poll1
	check(d)
	got, err = s.PollDeviceCode(ctx, t1, d.Hash, poll2)
	ok(t, err)
	same(t, got, d)
	d.LastPollAt = poll2
	check(d)
	_, err = s.PollDeviceCode(ctx, t1, hash("nope"), poll2)
	isErr(t, err, store.ErrNotFound)

	// Pending: nothing to redeem yet, and nothing is issued.
	r, _, first := redemption("early", poll2)
	isErr(t, s.RedeemDeviceCode(ctx, t1, d.Hash, poll2, r), store.ErrNotLive)
	_, _, err = s.GetRefreshToken(ctx, t1, first.Hash)
	isErr(t, err, store.ErrNotFound)
	check(d)

	// A decision is approved or denied, nothing else.
	for _, status := range []store.DeviceStatus{store.DevicePending, "", "maybe"} {
		dec := approve("u1", now)
		dec.Status = status
		if err := s.DecideDeviceCode(ctx, t1, d.Hash, dec, poll2); err == nil {
			t.Errorf("DecideDeviceCode with status %q: got nil error", status)
		}
	}
	check(d)

	// Approved once; a second decision cannot swap the user or deny it.
	decideAt := now.Add(time.Minute)
	dec := approve("u1", decideAt)
	ok(t, s.DecideDeviceCode(ctx, t1, d.Hash, dec, decideAt))
	d = decided(d, dec)
	check(d)
	isErr(t, s.DecideDeviceCode(ctx, t1, d.Hash, approve("u2", decideAt), decideAt), store.ErrNotLive)
	deny := store.DeviceDecision{Status: store.DeviceDenied, UserID: "u1", SessionID: "sid-u1", AuthTime: decideAt}
	isErr(t, s.DecideDeviceCode(ctx, t1, d.Hash, deny, decideAt), store.ErrNotLive)
	check(d)
	isErr(t, s.DecideDeviceCode(ctx, t1, hash("nope"), dec, decideAt), store.ErrNotFound)

	// Redeemed once, with its family.
	redeemAt := decideAt.Add(5 * time.Second)
	r, fam, first := redemption("fam", redeemAt)
	ok(t, s.RedeemDeviceCode(ctx, t1, d.Hash, redeemAt, r))
	d.UsedAt = redeemAt
	check(d)
	gotToken, gotFamily, err := s.GetRefreshToken(ctx, t1, first.Hash)
	ok(t, err)
	same(t, gotToken, first)
	same(t, gotFamily, fam)

	r2, _, first2 := redemption("fam-2", redeemAt)
	isErr(t, s.RedeemDeviceCode(ctx, t1, d.Hash, redeemAt.Add(5*time.Second), r2), store.ErrNotLive)
	_, _, err = s.GetRefreshToken(ctx, t1, first2.Hash)
	isErr(t, err, store.ErrNotFound)
	check(d)
	isErr(t, s.RedeemDeviceCode(ctx, t1, hash("nope"), redeemAt, r2), store.ErrNotFound)

	// Polling a used code still records the poll.
	got, err = s.PollDeviceCode(ctx, t1, d.Hash, redeemAt.Add(10*time.Second))
	ok(t, err)
	same(t, got, d)

	// The other tenant's code of the same user code was never touched.
	got, err = s.GetDeviceCode(ctx, t2, elsewhere.Hash)
	ok(t, err)
	same(t, got, elsewhere)
}

// testDeviceCodeDenied: a denied code cannot be redeemed, nor approved
// afterwards.
func testDeviceCodeDenied(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	d := deviceCode("device", "BCDFGHJK", now)
	ok(t, s.CreateDeviceCode(ctx, d))
	deny := store.DeviceDecision{Status: store.DeviceDenied, UserID: "u1", SessionID: "sid-u1", AuthTime: now}
	ok(t, s.DecideDeviceCode(ctx, t1, d.Hash, deny, now))
	d = decided(d, deny)
	got, err := s.GetDeviceCode(ctx, t1, d.Hash)
	ok(t, err)
	same(t, got, d)

	isErr(t, s.DecideDeviceCode(ctx, t1, d.Hash, approve("u1", now), now), store.ErrNotLive)
	r, _, first := redemption("fam", now)
	isErr(t, s.RedeemDeviceCode(ctx, t1, d.Hash, now, r), store.ErrNotLive)
	_, _, err = s.GetRefreshToken(ctx, t1, first.Hash)
	isErr(t, err, store.ErrNotFound)
	got, err = s.GetDeviceCode(ctx, t1, d.Hash)
	ok(t, err)
	same(t, got, d)
}

// testDeviceCodeExpiry: from the instant it expires, a code can be neither
// decided nor redeemed.
func testDeviceCodeExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	pending := deviceCode("pending", "PPPPPPPP", now)
	ok(t, s.CreateDeviceCode(ctx, pending))
	isErr(t, s.DecideDeviceCode(ctx, t1, pending.Hash, approve("u1", now), pending.ExpiresAt), store.ErrNotLive)
	got, err := s.GetDeviceCode(ctx, t1, pending.Hash)
	ok(t, err)
	same(t, got, pending)

	approved := deviceCode("approved", "AAAAAAAA", now)
	ok(t, s.CreateDeviceCode(ctx, approved))
	dec := approve("u1", now)
	ok(t, s.DecideDeviceCode(ctx, t1, approved.Hash, dec, approved.ExpiresAt.Add(-time.Millisecond)))
	approved = decided(approved, dec)
	r, _, first := redemption("late", approved.ExpiresAt)
	isErr(t, s.RedeemDeviceCode(ctx, t1, approved.Hash, approved.ExpiresAt, r), store.ErrNotLive)
	_, _, err = s.GetRefreshToken(ctx, t1, first.Hash)
	isErr(t, err, store.ErrNotFound)
	got, err = s.GetDeviceCode(ctx, t1, approved.Hash)
	ok(t, err)
	same(t, got, approved)

	// One millisecond before, it still could.
	at := approved.ExpiresAt.Add(-time.Millisecond)
	r, _, _ = redemption("in time", at)
	ok(t, s.RedeemDeviceCode(ctx, t1, approved.Hash, at, r))
}

// testDeviceCodeRedemptionAtomic: a redemption whose family cannot be
// stored leaves the code unused, and so does one that is malformed.
func testDeviceCodeRedemptionAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	taken, takenFirst := family("taken", now)
	ok(t, s.CreateRefreshFamily(ctx, taken, takenFirst))

	d := deviceCode("device", "QRSTVWXZ", now)
	ok(t, s.CreateDeviceCode(ctx, d))
	dec := approve("u1", now)
	ok(t, s.DecideDeviceCode(ctx, t1, d.Hash, dec, now))
	d = decided(d, dec)

	clash, clashFirst := family(taken.ID, now)
	clashFirst.Hash = hash("clash first token")
	isErr(t, s.RedeemDeviceCode(ctx, t1, d.Hash, now, store.Redemption{Family: &clash, First: &clashFirst}), store.ErrConflict)
	if err := s.RedeemDeviceCode(ctx, t1, d.Hash, now, store.Redemption{First: &clashFirst}); err == nil {
		t.Fatal("RedeemDeviceCode with a first token but no family: got nil error")
	}
	got, err := s.GetDeviceCode(ctx, t1, d.Hash)
	ok(t, err)
	same(t, got, d)
	_, _, err = s.GetRefreshToken(ctx, t1, clashFirst.Hash)
	isErr(t, err, store.ErrNotFound)

	// Without a refresh token, only the code is spent.
	ok(t, s.RedeemDeviceCode(ctx, t1, d.Hash, now, store.Redemption{AccessTokenID: "at", AccessTokenExpiresAt: now.Add(time.Hour)}))
	d.UsedAt = now
	got, err = s.GetDeviceCode(ctx, t1, d.Hash)
	ok(t, err)
	same(t, got, d)
}

// testRedeemDeviceRace has 50 devices (or one device retrying) redeem the
// same approved code at once, through two handles: one gets tokens.
func testRedeemDeviceRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	d := deviceCode("device", "RACERACE", now)
	ok(t, s.CreateDeviceCode(ctx, d))
	ok(t, s.DecideDeviceCode(ctx, t1, d.Hash, approve("u1", now), now))

	const n = 50
	handles := []store.Store{s, open()}
	firsts := make([]store.RefreshToken, n)
	rs := make([]store.Redemption, n)
	for i := range n {
		rs[i], _, firsts[i] = redemption(fmt.Sprintf("fam-%d", i), now)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = handles[i%len(handles)].RedeemDeviceCode(ctx, t1, d.Hash, now, rs[i])
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("callers %d and %d both redeemed the same device code", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrNotLive):
			t.Fatalf("caller %d: got %v, want nil or ErrNotLive", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no caller redeemed the device code")
	}
	for i := range n {
		_, _, err := s.GetRefreshToken(ctx, t1, firsts[i].Hash)
		if i == winner {
			ok(t, err)
		} else {
			isErr(t, err, store.ErrNotFound)
		}
	}
	got, err := s.GetDeviceCode(ctx, t1, d.Hash)
	ok(t, err)
	if !got.UsedAt.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("UsedAt %v, want %v", got.UsedAt, now)
	}
}
