package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testFactors: factors are enrolled with recovery codes in one write,
// listed per user and tenant, removed (the last one taking the codes with
// it) and reset; the MFA policy is kept with its tenant.
func testFactors(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	now := epoch()
	totp := store.Factor{ID: "f1", TenantID: t1, UserID: "u1", Kind: store.FactorTOTP, Name: "Phone",
		Secret: []byte("sealed"), CreatedAt: now}
	codes := []store.RecoveryCode{{Hash: hash("c1"), CreatedAt: now}, {Hash: hash("c2"), CreatedAt: now}}
	ok(t, s.AddFactor(ctx, totp, codes))
	isErr(t, s.AddFactor(ctx, totp, nil), store.ErrConflict)
	isErr(t, s.AddFactor(ctx, store.Factor{ID: "f9", TenantID: t1, UserID: "nobody", Kind: store.FactorTOTP, CreatedAt: now}, nil), store.ErrNotFound)
	passkey := store.Factor{ID: "f2", TenantID: t1, UserID: "u1", Kind: store.FactorPasskey, Name: "Key",
		Data: []byte(`{"id":"abc"}`), CreatedAt: now.Add(time.Second)}
	ok(t, s.AddFactor(ctx, passkey, nil))

	got, err := s.ListFactors(ctx, t1, "u1")
	ok(t, err)
	same(t, got, []store.Factor{totp, passkey})
	other, err := s.ListFactors(ctx, t2, "u1")
	ok(t, err)
	if len(other) != 0 {
		t.Fatalf("tenant t2 sees t1's factors: %v", other)
	}
	n, err := s.CountRecoveryCodes(ctx, t1, "u1")
	ok(t, err)
	same(t, n, 2)

	// The counter only rises.
	ok(t, s.AdvanceFactorCounter(ctx, t1, "f1", 100, now.Add(time.Minute)))
	isErr(t, s.AdvanceFactorCounter(ctx, t1, "f1", 100, now.Add(time.Minute)), store.ErrNotLive)
	isErr(t, s.AdvanceFactorCounter(ctx, t1, "f1", 99, now.Add(time.Minute)), store.ErrNotLive)
	isErr(t, s.AdvanceFactorCounter(ctx, t2, "f1", 101, now), store.ErrNotFound)
	got, err = s.ListFactors(ctx, t1, "u1")
	ok(t, err)
	same(t, got[0].Counter, int64(100))
	same(t, got[0].LastUsedAt, now.Add(time.Minute))

	// A code is spent once.
	ok(t, s.UseRecoveryCode(ctx, t1, "u1", hash("c1")))
	isErr(t, s.UseRecoveryCode(ctx, t1, "u1", hash("c1")), store.ErrNotLive)
	isErr(t, s.UseRecoveryCode(ctx, t1, "u2", hash("c2")), store.ErrNotLive)
	ok(t, s.SetRecoveryCodes(ctx, t1, "u1", []store.RecoveryCode{{Hash: hash("c3"), CreatedAt: now}}))
	isErr(t, s.UseRecoveryCode(ctx, t1, "u1", hash("c2")), store.ErrNotLive)

	// Removing a factor keeps the codes while another factor is left.
	isErr(t, s.RemoveFactor(ctx, t1, "u2", "f1"), store.ErrNotFound)
	ok(t, s.RemoveFactor(ctx, t1, "u1", "f1"))
	n, _ = s.CountRecoveryCodes(ctx, t1, "u1")
	same(t, n, 1)
	ok(t, s.RemoveFactor(ctx, t1, "u1", "f2"))
	n, _ = s.CountRecoveryCodes(ctx, t1, "u1")
	same(t, n, 0)
	isErr(t, s.AdvanceFactorCounter(ctx, t1, "f1", 200, now), store.ErrNotFound)

	// Reset removes everything; deleting the user does too.
	ok(t, s.AddFactor(ctx, totp, codes))
	ok(t, s.ResetFactors(ctx, t1, "u1"))
	got, _ = s.ListFactors(ctx, t1, "u1")
	n, _ = s.CountRecoveryCodes(ctx, t1, "u1")
	if len(got) != 0 || n != 0 {
		t.Fatalf("after reset: %d factors, %d codes", len(got), n)
	}
	ok(t, s.AddFactor(ctx, totp, codes))
	ok(t, s.DeleteUser(ctx, t1, "u1", now))
	got, _ = s.ListFactors(ctx, t1, "u1")
	if len(got) != 0 {
		t.Fatalf("factors outlive their user: %v", got)
	}
	ok(t, s.DeleteTenant(ctx, t2))

	// The policy.
	ok(t, s.SetTenantMFA(ctx, t1, store.MFAEveryone))
	tn, err := s.GetTenant(ctx, t1)
	ok(t, err)
	same(t, tn.MFA, store.MFAEveryone)
	isErr(t, s.SetTenantMFA(ctx, "nope", store.MFAAdmins), store.ErrNotFound)
}

// testSessionAMR: a session, a code, a device approval and a refresh
// family keep the methods of the sign-in; a step-up replaces the
// session's, and signing in again renews it under a new cookie.
func testSessionAMR(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	now := epoch()
	ss := store.Session{ID: "sid-amr", Hash: hash("cookie amr"), TenantID: t1, UserID: "u1", AMR: []string{"pwd"},
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ok(t, s.CreateSession(ctx, ss))
	later := now.Add(20 * time.Minute)
	ok(t, s.UpgradeSession(ctx, t1, ss.ID, []string{"pwd", "otp", "mfa"}, later))
	got, err := s.GetSession(ctx, t1, ss.Hash)
	ok(t, err)
	same(t, got.AMR, []string{"pwd", "otp", "mfa"})
	// Stored to the millisecond, as every time is.
	if !got.AuthTime.Equal(later.Truncate(time.Millisecond)) || !got.CreatedAt.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("after the step-up: auth time %v, created %v; want %v, %v", got.AuthTime, got.CreatedAt, later, now)
	}
	isErr(t, s.UpgradeSession(ctx, t2, ss.ID, []string{"pwd"}, later), store.ErrNotFound)

	// Signing in again renews it under a new cookie: the old one finds
	// nothing, the new one the same session with the new methods, time
	// and expiry.
	again := now.Add(40 * time.Minute)
	renewed := ss
	renewed.Hash, renewed.AMR, renewed.AuthTime, renewed.ExpiresAt = hash("cookie amr, again"), []string{"pwd"}, again, again.Add(time.Hour)
	ok(t, s.RenewSession(ctx, t1, ss.Hash, renewed))
	_, err = s.GetSession(ctx, t1, ss.Hash)
	isErr(t, err, store.ErrNotFound)
	got, err = s.GetSession(ctx, t1, renewed.Hash)
	ok(t, err)
	if got.ID != ss.ID || !slices.Equal(got.AMR, []string{"pwd"}) || !got.AuthTime.Equal(again.Truncate(time.Millisecond)) ||
		!got.CreatedAt.Equal(now.Truncate(time.Millisecond)) || !got.ExpiresAt.Equal(renewed.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("after signing in again: %+v", got)
	}
	// Renewed meanwhile (another tab), or in another tenant: no row.
	other := renewed
	other.Hash = hash("cookie amr, other tab")
	isErr(t, s.RenewSession(ctx, t1, ss.Hash, other), store.ErrNotFound)
	isErr(t, s.RenewSession(ctx, t2, renewed.Hash, other), store.ErrNotFound)
	if got, err := s.GetSession(ctx, t1, renewed.Hash); err != nil || got.ID != ss.ID {
		t.Errorf("a renewal that lost changed the session: %v %+v", err, got)
	}

	c := store.AuthCode{Hash: hash("code amr"), TenantID: t1, ClientID: "web", UserID: "u1", SessionID: ss.ID,
		RedirectURI: "https://app/cb", AMR: []string{"pwd", "otp", "mfa"}, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	ok(t, s.CreateAuthCode(ctx, c))
	gc, err := s.GetAuthCode(ctx, t1, c.Hash)
	ok(t, err)
	same(t, gc.AMR, c.AMR)

	f, rt := family("fam-amr", now)
	f.AMR = []string{"pwd", "otp", "mfa"}
	ok(t, s.CreateRefreshFamily(ctx, f, rt))
	_, gf, err := s.GetRefreshToken(ctx, t1, rt.Hash)
	ok(t, err)
	same(t, gf.AMR, f.AMR)
	gf, err = s.GetRefreshFamily(ctx, t1, f.ID)
	ok(t, err)
	same(t, gf.AMR, f.AMR)

	d := store.DeviceCode{Hash: hash("device amr"), TenantID: t1, ClientID: "web", UserCode: "AMRAMRAM",
		Interval: 5 * time.Second, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ok(t, s.CreateDeviceCode(ctx, d))
	ok(t, s.DecideDeviceCode(ctx, t1, d.Hash, store.DeviceDecision{Status: store.DeviceApproved, UserID: "u1",
		SessionID: ss.ID, AuthTime: now, AMR: []string{"pwd", "otp", "mfa"}}, now))
	gd, err := s.GetDeviceCode(ctx, t1, d.Hash)
	ok(t, err)
	same(t, gd.AMR, []string{"pwd", "otp", "mfa"})
}

// testFactorRace: of handles racing to accept one TOTP step, or to spend
// one recovery code, exactly one wins, whichever instance it runs on.
func testFactorRace(t *testing.T, s store.Store, open func() store.Store) {
	ctx := t.Context()
	seed(t, s)
	handles := []store.Store{s, open()}
	now := epoch()
	ok(t, s.AddFactor(ctx, store.Factor{ID: "f1", TenantID: t1, UserID: "u1", Kind: store.FactorTOTP, CreatedAt: now},
		[]store.RecoveryCode{{Hash: hash("c1"), CreatedAt: now}}))
	const n = 16
	for _, op := range []struct {
		name string
		run  func(store.Store) error
	}{
		{"totp step", func(h store.Store) error { return h.AdvanceFactorCounter(ctx, t1, "f1", 58000000, now) }},
		{"recovery code", func(h store.Store) error { return h.UseRecoveryCode(ctx, t1, "u1", hash("c1")) }},
	} {
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = op.run(handles[i%2])
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrNotLive):
				t.Fatalf("%s: unexpected error %v", op.name, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%s: %d winners, want 1", op.name, wins)
		}
	}
}
