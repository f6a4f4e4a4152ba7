package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Behaviour every engine once asserted in its own tests, each in its own
// words; they belong to the contract, so they live here once.

// testTimesUTC: times come back in UTC whatever zone they went in with, at
// millisecond precision; the zero time stays zero.
func testTimesUTC(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+5", 5*3600)
	in := time.Date(2031, 1, 2, 3, 4, 5, 6_789_000, zone)
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256", CreatedAt: in}))
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "t2", Name: "t2", SigningAlg: "RS256"}))
	got, err := s.GetTenant(ctx, "t1")
	ok(t, err)
	if want := in.Truncate(time.Millisecond).UTC(); got.CreatedAt != want {
		t.Errorf("got %v, want %v", got.CreatedAt, want)
	}
	got, err = s.GetTenant(ctx, "t2")
	ok(t, err)
	if !got.CreatedAt.IsZero() {
		t.Errorf("zero time came back as %v", got.CreatedAt)
	}
}

// testUsernameUnicodeCase: usernames are compared case-insensitively
// beyond ASCII (SQLite's lower() folds ASCII only, and PostgreSQL's and
// MySQL's depend on a collation), so that "Ölaf" and "ölaf" are one
// account on every engine.
func testUsernameUnicodeCase(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}))
	ok(t, s.CreateUser(ctx, store.User{ID: "u1", TenantID: "t1", Username: "Ölaf"}))
	if _, err := s.GetUserByUsername(ctx, "t1", "ölaf"); err != nil {
		t.Errorf("lookup with other case: %v", err)
	}
	err := s.CreateUser(ctx, store.User{ID: "u2", TenantID: "t1", Username: "ÖLAF"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second Ölaf: got %v, want ErrConflict", err)
	}
}

func signingKey(id string, status store.KeyStatus) store.SigningKey {
	return store.SigningKey{TenantID: "t1", ID: id, Alg: "RS256", Status: status, PrivateKey: []byte("x"), PublicJWK: []byte("{}")}
}

// testOneActiveKey: a tenant has one active and one next key; a second is
// refused rather than left for the signer to choose between.
func testOneActiveKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}))
	for _, k := range []store.SigningKey{signingKey("a", store.KeyActive), signingKey("n", store.KeyNext)} {
		ok(t, s.AddSigningKey(ctx, k))
	}
	for _, k := range []store.SigningKey{signingKey("a2", store.KeyActive), signingKey("n2", store.KeyNext)} {
		if err := s.AddSigningKey(ctx, k); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second %s key: got %v, want ErrConflict", k.Status, err)
		}
	}
}

// testMissingParent: rows that belong to a missing tenant or app are
// refused as ErrNotFound.
func testMissingParent(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.CreateApp(ctx, store.App{TenantID: "nope", ClientID: "web"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app in a missing tenant: got %v, want ErrNotFound", err)
	}
	err = s.AddClientSecret(ctx, store.ClientSecret{ID: "s", TenantID: "nope", ClientID: "web", Hash: []byte{1}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("secret of a missing app: got %v, want ErrNotFound", err)
	}
	err = s.AddAppCredential(ctx, store.AppCredential{ID: "c", TenantID: "nope", ClientID: "web",
		Kind: store.CredentialJWK, PublicKey: []byte("{}")})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credential of a missing app: got %v, want ErrNotFound", err)
	}
}

// testDeviceCodeCreatedPending: CreateDeviceCode stores the code pending
// whatever its Status says, so that only DecideDeviceCode can approve one.
func testDeviceCodeCreatedPending(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.UnixMilli(1_900_000_000_000).UTC()
	d := store.DeviceCode{Hash: []byte{1}, TenantID: "t1", ClientID: "tv", UserCode: "ABCDEFGH",
		Status: store.DeviceApproved, UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	ok(t, s.CreateDeviceCode(ctx, d))
	got, err := s.GetDeviceCode(ctx, "t1", d.Hash)
	ok(t, err)
	if got.Status != store.DevicePending {
		t.Errorf("status %q, want pending", got.Status)
	}
	if err := s.RedeemDeviceCode(ctx, "t1", d.Hash, now, store.Redemption{}); !errors.Is(err, store.ErrNotLive) {
		t.Errorf("redeem: got %v, want ErrNotLive", err)
	}
}

// testHitClockSkew: a hit stamped in an older window than the stored one
// (another server's clock a little behind) counts in the stored window
// instead of resetting it, so that skewed clocks cannot keep a counter
// near zero.
func testHitClockSkew(t *testing.T, s store.Store) {
	ctx := t.Context()
	boundary := time.UnixMilli(1_900_000_020_000).UTC() // a multiple of 10s
	for i, tc := range []struct {
		at   time.Time
		want int
	}{
		{boundary.Add(-time.Second), 1},
		{boundary, 1},
		{boundary.Add(-time.Millisecond), 2}, // behind: counted in the newer window
		{boundary.Add(time.Second), 3},
		{boundary.Add(10 * time.Second), 1},
	} {
		n, err := s.Hit(ctx, "k", 10*time.Second, tc.at)
		ok(t, err)
		if n != tc.want {
			t.Errorf("hit %d at %v: count %d, want %d", i, tc.at, n, tc.want)
		}
	}
}

// testUnrepresentableLookups: a lookup by a string an engine may not hold
// as text (a NUL byte, invalid UTF-8: PostgreSQL refuses both) finds
// nothing instead of failing, so that a hostile tenant name in a URL path
// is a 404, not a 500.
func testUnrepresentableLookups(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}))
	for _, bad := range []string{"t1\x00", "\xff\xfe"} {
		if _, err := s.GetTenant(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTenant(%q): got %v, want ErrNotFound", bad, err)
		}
		if _, err := s.GetUserByUsername(ctx, "t1", bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUserByUsername(%q): got %v, want ErrNotFound", bad, err)
		}
		if apps, err := s.ListApps(ctx, bad); err != nil || len(apps) != 0 {
			t.Errorf("ListApps(%q): got %v, %v; want none", bad, apps, err)
		}
		if revoked, err := s.IsAccessTokenRevoked(ctx, "t1", bad); err != nil || revoked {
			t.Errorf("IsAccessTokenRevoked(%q): got %v, %v; want false", bad, revoked, err)
		}
	}
}

// testKeyRotationRace: handles (instances) rotating a tenant's keys at
// once: each rotation either goes through or, having waited for another,
// finds the next key it wanted to activate already active and fails; the
// tenant ends with one active and one next key, never two of either, and
// one retired key per success.
func testKeyRotationRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	handles := []store.Store{s, open()}
	ok(t, s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}))
	for _, k := range []store.SigningKey{signingKey("k-active", store.KeyActive), signingKey("k-next", store.KeyNext)} {
		ok(t, s.AddSigningKey(ctx, k))
	}
	now := time.UnixMilli(1_900_000_000_000).UTC()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			next := signingKey(fmt.Sprintf("k-%d", i), store.KeyNext)
			errs[i] = handles[i%2].RotateSigningKeys(ctx, "t1", next, now.Add(time.Hour))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	if wins == 0 {
		t.Fatal("no rotation went through")
	}
	ks, err := handles[1].ListSigningKeys(ctx, "t1", now)
	ok(t, err)
	count := map[store.KeyStatus]int{}
	for _, k := range ks {
		count[k.Status]++
	}
	if count[store.KeyActive] != 1 || count[store.KeyNext] != 1 || count[store.KeyRetired] != wins {
		t.Fatalf("after %d rotations: keys %v", wins, count)
	}
}

// testPollRace: concurrent polls of one device code through two handles
// each see a different previous poll: none can pass the slow_down check on
// a poll another one is recording at the same time.
func testPollRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	handles := []store.Store{s, open()}
	now := time.UnixMilli(1_900_000_000_000).UTC()
	d := store.DeviceCode{Hash: []byte{1}, TenantID: "t1", ClientID: "tv", UserCode: "ABCDEFGH",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ok(t, s.CreateDeviceCode(ctx, d))
	const n = 40
	seen := make([]time.Time, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			var got store.DeviceCode
			got, errs[i] = handles[i%2].PollDeviceCode(ctx, "t1", d.Hash, now.Add(time.Duration(i+1)*time.Second))
			seen[i] = got.LastPollAt
		})
	}
	close(start)
	wg.Wait()
	previous := map[time.Time]bool{}
	for i := range n {
		ok(t, errs[i])
		if previous[seen[i]] {
			t.Fatalf("two polls both saw the previous poll %v", seen[i])
		}
		previous[seen[i]] = true
	}
}

// testAssertionReplayRace: concurrent replays of one client assertion
// through several handles: exactly one is accepted, every other is
// ErrConflict.
func testAssertionReplayRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	handles := []store.Store{s, open(), open()}
	exp := time.UnixMilli(1_900_000_000_000).UTC()
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = handles[i%len(handles)].UseAssertionID(ctx, "t1", "web", "jti-1", exp)
		})
	}
	close(start)
	wg.Wait()
	accepted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if accepted != 1 {
		t.Errorf("%d uses of one jti accepted, want 1", accepted)
	}
}

// testSessionFrontChannelRace: sign-ins to different apps at once in one
// session, through two handles, each add their app: none is lost to
// another's read of the list without it.
func testSessionFrontChannelRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	handles := []store.Store{s, open()}
	seed(t, s)
	now := epoch()
	ss := store.Session{ID: "sid-race", Hash: hash("cookie race"), TenantID: t1, UserID: "u1",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ok(t, s.CreateSession(ctx, ss))
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = handles[i%2].AddSessionFrontChannelClient(ctx, t1, ss.ID, fmt.Sprintf("app-%02d", i))
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		ok(t, err)
	}
	got, err := s.GetSessionByID(ctx, t1, ss.ID)
	ok(t, err)
	slices.Sort(got.FrontChannelClients)
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("app-%02d", i)
	}
	same(t, got.FrontChannelClients, want)
}
