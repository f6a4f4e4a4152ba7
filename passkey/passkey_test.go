package passkey_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/passkey"
	"github.com/tessera-id/tessera/passkey/passkeytest"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

const origin = "https://localhost:8443"

type fixture struct {
	t     *testing.T
	store store.Store
	rp    *passkey.RelyingParty
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	f := &fixture{t: t, store: s, now: time.Now().UTC()}
	for _, tid := range []string{"t1", "t2"} {
		if err := s.CreateTenant(t.Context(), store.Tenant{ID: tid, Name: tid, SigningAlg: "ES256", CreatedAt: f.now}); err != nil {
			t.Fatal(err)
		}
		for _, uid := range []string{"alice", "bob"} {
			if err := s.CreateUser(t.Context(), store.User{ID: uid, TenantID: tid, Username: uid + "@example.com", CreatedAt: f.now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.rp = passkey.New(s, token.NewStateSealer(token.NewMasterKey()), "Tessera", func() time.Time { return f.now })
	return f
}

func (f *fixture) user(tid, uid string) passkey.User {
	f.t.Helper()
	fs, err := f.store.ListFactors(f.t.Context(), tid, uid)
	if err != nil {
		f.t.Fatal(err)
	}
	return passkey.User{ID: uid, Username: uid + "@example.com", Factors: fs}
}

// register runs a whole registration of a new passkey for uid with a.
func (f *fixture) register(a *passkeytest.Authenticator, tid, uid string) store.Factor {
	f.t.Helper()
	c := passkey.Ceremony{TenantID: tid, Origin: origin, Context: "account-" + uid}
	ch, err := f.rp.BeginRegistration(c, f.user(tid, uid))
	if err != nil {
		f.t.Fatal(err)
	}
	answer, err := a.Create(ch.Options)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.rp.FinishRegistration(c, f.user(tid, uid), ch.State, answer, "key")
	if err != nil {
		f.t.Fatalf("registration refused: %v", err)
	}
	if err := f.store.AddFactor(f.t.Context(), p, nil); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func authenticator() *passkeytest.Authenticator {
	return &passkeytest.Authenticator{Origin: origin, Verified: true}
}

func TestRegisterThenSignInPasswordless(t *testing.T) {
	f := newFixture(t)
	a := authenticator()
	p := f.register(a, "t1", "alice")
	if p.UserID != "alice" || p.TenantID != "t1" || p.ID == "" || p.Kind != store.FactorPasskey || len(p.Data) == 0 {
		t.Fatalf("registered passkey: %+v", p)
	}

	c := passkey.Ceremony{TenantID: "t1", Origin: origin, Context: "interaction-1"}
	ch, err := f.rp.BeginSignIn(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := a.Get(ch.Options, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.rp.FinishSignIn(t.Context(), c, ch.State, answer)
	if err != nil {
		t.Fatalf("sign-in refused: %v", err)
	}
	if got.UserID != "alice" || got.FactorID != p.ID || !got.Verified {
		t.Errorf("sign-in: %+v", got)
	}
	if amr := got.AMR(); !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
		t.Errorf("amr %v", amr)
	}
	stored, err := f.store.GetFactor(t.Context(), "t1", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Counter != 1 || stored.LastUsedAt.IsZero() {
		t.Errorf("after sign-in the passkey has count %d, last used %v", stored.Counter, stored.LastUsedAt)
	}
}

// A passkey as second factor after the password: only the user's own
// credentials are offered and accepted.
func TestSecondFactor(t *testing.T) {
	f := newFixture(t)
	alices, bobs := authenticator(), authenticator()
	alices.Verified = false
	alices.BackupEligible = true
	f.register(alices, "t1", "alice")
	f.register(bobs, "t1", "bob")

	alice := f.user("t1", "alice")
	c := passkey.Ceremony{TenantID: "t1", Origin: origin, Context: "interaction-2"}
	ch, err := f.rp.BeginSignIn(c, &alice)
	if err != nil {
		t.Fatal(err)
	}
	// Bob's key answering Alice's challenge is refused.
	forged, err := bobs.Get(ch.Options, bobs.Credentials()[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishSignIn(t.Context(), c, ch.State, forged); !errors.Is(err, passkey.ErrRefused) {
		t.Errorf("another user's passkey as Alice's second factor: %v", err)
	}
	answer, err := alices.Get(ch.Options, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.rp.FinishSignIn(t.Context(), c, ch.State, answer)
	if err != nil {
		t.Fatalf("second factor refused: %v", err)
	}
	if got.UserID != "alice" || got.Verified {
		t.Errorf("second factor: %+v", got)
	}
	if amr := got.AMR(); !slices.Equal(amr, []string{"swk"}) {
		t.Errorf("amr of an unverified synced passkey: %v", amr)
	}
	// Passwordless needs user verification, which this authenticator does
	// not do.
	ch, err = f.rp.BeginSignIn(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, err = alices.Get(ch.Options, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishSignIn(t.Context(), c, ch.State, answer); !errors.Is(err, passkey.ErrRefused) {
		t.Errorf("passwordless without user verification: %v", err)
	}
}

func TestHostileAnswers(t *testing.T) {
	f := newFixture(t)
	a := authenticator()
	f.register(a, "t1", "alice")
	c := passkey.Ceremony{TenantID: "t1", Origin: origin, Context: "interaction-3"}
	begin := func() passkey.Challenge {
		t.Helper()
		ch, err := f.rp.BeginSignIn(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	refused := func(name string, c passkey.Ceremony, state string, answer []byte) {
		t.Helper()
		_, err := f.rp.FinishSignIn(t.Context(), c, state, answer)
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, passkey.ErrRefused) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}

	ch := begin()
	answer, err := a.Get(ch.Options, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishSignIn(t.Context(), c, ch.State, answer); err != nil {
		t.Fatal(err)
	}
	refused("the same answer again", c, ch.State, answer)

	// An authenticator that keeps no counter (sends 0 every time): its
	// answer still counts once, by its challenge.
	zero := authenticator()
	zero.FrozenCounter = true
	f.register(zero, "t1", "bob")
	ch = begin()
	answer, _ = zero.Get(ch.Options, nil)
	if _, err := f.rp.FinishSignIn(t.Context(), c, ch.State, answer); err != nil {
		t.Fatalf("counterless passkey: %v", err)
	}
	refused("a counterless answer again", c, ch.State, answer)

	// A fresh challenge answered with an old counter value (a cloned key).
	ch = begin()
	a.FrozenCounter = true
	answer, _ = a.Get(ch.Options, nil)
	refused("counter that did not move", c, ch.State, answer)
	a.FrozenCounter = false

	// Signed for another relying party (a phishing site's host).
	ch = begin()
	phished := *a
	phished.RPID = "evil.example"
	answer, _ = phished.Get(ch.Options, a.Credentials()[0])
	refused("another relying party id", c, ch.State, answer)

	// From a page of another origin.
	ch = begin()
	other := *a
	other.Origin = "https://evil.example"
	answer, _ = other.Get(ch.Options, a.Credentials()[0])
	refused("another origin", c, ch.State, answer)

	// A challenge sealed for one sign-in, tenant or kind does not open in
	// another.
	ch = begin()
	answer, _ = a.Get(ch.Options, nil)
	refused("another interaction", passkey.Ceremony{TenantID: "t1", Origin: origin, Context: "interaction-4"}, ch.State, answer)
	refused("another tenant", passkey.Ceremony{TenantID: "t2", Origin: origin, Context: "interaction-3"}, ch.State, answer)
	refused("tampered state", c, ch.State[:len(ch.State)-2]+"AA", answer)

	// Expired.
	ch = begin()
	answer, _ = a.Get(ch.Options, nil)
	f.now = f.now.Add(10 * time.Minute)
	refused("expired challenge", c, ch.State, answer)

	// Malformed and oversized answers.
	ch = begin()
	for name, junk := range map[string][]byte{
		"empty": nil, "not JSON": []byte("{"), "wrong shape": []byte(`{"id":1}`),
		"oversized": make([]byte, 1<<20),
	} {
		refused(name, c, ch.State, junk)
	}

	// A passkey of another tenant is unknown here.
	b := authenticator()
	f.register(b, "t2", "alice")
	ch = begin()
	answer, _ = b.Get(ch.Options, nil)
	refused("another tenant's passkey", c, ch.State, answer)

	// A removed passkey stops working at once.
	ch = begin()
	answer, _ = a.Get(ch.Options, nil)
	p, err := f.store.ListFactors(t.Context(), "t1", "alice")
	if err != nil || len(p) != 1 {
		t.Fatal(p, err)
	}
	if err := f.store.RemoveFactor(t.Context(), "t1", "alice", p[0].ID); err != nil {
		t.Fatal(err)
	}
	refused("removed passkey", c, ch.State, answer)
}

func TestRegistrationChecks(t *testing.T) {
	f := newFixture(t)
	a := authenticator()
	c := passkey.Ceremony{TenantID: "t1", Origin: origin, Context: "account-alice"}
	ch, err := f.rp.BeginRegistration(c, f.user("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := a.Create(ch.Options)
	if err != nil {
		t.Fatal(err)
	}
	// Finished for another user than it was begun for.
	if _, err := f.rp.FinishRegistration(c, f.user("t1", "bob"), ch.State, answer, "k"); !errors.Is(err, passkey.ErrRefused) {
		t.Errorf("registration finished as another user: %v", err)
	}
	// A sign-in state is not a registration state.
	sign, err := f.rp.BeginSignIn(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishRegistration(c, f.user("t1", "alice"), sign.State, answer, "k"); !errors.Is(err, passkey.ErrRefused) {
		t.Errorf("registration with a sign-in state: %v", err)
	}
	other := *a
	other.RPID = "evil.example"
	ch, _ = f.rp.BeginRegistration(c, f.user("t1", "alice"))
	answer, _ = other.Create(ch.Options)
	if _, err := f.rp.FinishRegistration(c, f.user("t1", "alice"), ch.State, answer, "k"); !errors.Is(err, passkey.ErrRefused) {
		t.Errorf("registration for another relying party: %v", err)
	}
	// A plain-http origin other than localhost is no place for passkeys.
	if _, err := f.rp.BeginRegistration(passkey.Ceremony{TenantID: "t1", Origin: "http://example.com"}, f.user("t1", "alice")); err == nil {
		t.Error("registration began on a plain-http origin")
	}
	// The options exclude what the user has registered already.
	f.register(a, "t1", "alice")
	ch, err = f.rp.BeginRegistration(c, f.user("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ch.Options), `"excludeCredentials"`) || !strings.Contains(string(ch.Options), `"residentKey":"required"`) {
		t.Errorf("registration options: %s", ch.Options)
	}
}
