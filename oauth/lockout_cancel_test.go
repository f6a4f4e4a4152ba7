package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// cancelAfterReserve is a store that cancels the request's context once the
// attempt's counters are written, as a client going away during the
// password check does.
type cancelAfterReserve struct {
	store.Store
	puts   atomic.Int32
	cancel atomic.Pointer[context.CancelFunc]
}

func (s *cancelAfterReserve) UpdateThrottles(ctx context.Context, tenantID string, keys []string, change func([]store.Throttle) ([]store.ThrottleUpdate, error)) ([]store.Throttle, error) {
	after, err := s.Store.UpdateThrottles(ctx, tenantID, keys, change)
	if s.puts.Add(1) == 1 {
		if c := s.cancel.Load(); c != nil {
			(*c)()
		}
	}
	return after, err
}

// An attempt whose request is cancelled after it was counted in flight is
// still settled: it holds no room on the account afterwards. Settling with
// the request's context left it in flight until the row expired, and ten
// such attempts shut the account's owner out with "too many sign-ins in
// progress".
func TestCancelledSignInIsSettled(t *testing.T) {
	f := newFx(t)
	wrapped := &cancelAfterReserve{Store: f.store}
	mk := token.NewMasterKey()
	dummy, err := password.Hash("dummy-password", password.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: wrapped, Keys: token.NewKeyring(wrapped, mk, f.clock.Now),
		Successor: token.NewSuccessors(mk).Derive, State: token.NewStateSealer(mk), Now: f.clock.Now,
		DummyPasswordHash: dummy, Logger: slog.New(slog.DiscardHandler)})
	for i := range 3 {
		a := newAgent()
		begin := a.take(p.BeginAuthorize(context.Background(), f.ep, oauth.Params{"client_id": f.web.ClientID,
			"redirect_uri": webRedirect, "response_type": "code", "scope": "openid", "state": "s"}, a.browser()))
		ctx, cancel := context.WithCancel(context.Background())
		wrapped.puts.Store(0)
		wrapped.cancel.Store(&cancel)
		p.SubmitLogin(ctx, f.ep, oauth.LoginForm{Ref: begin.Interaction.Ref, CSRF: begin.Interaction.CSRF,
			Username: "alice@contoso.test", Password: "not alice's password"}, a.browser())
		wrapped.cancel.Store(nil)
		if ctx.Err() == nil {
			t.Fatalf("attempt %d: the request was not cancelled during its check", i)
		}
	}
	sum := sha256.Sum256([]byte("alice@contoso.test"))
	acct, err := f.store.GetThrottle(context.Background(), f.ep.Tenant.ID, "user:"+base64.RawURLEncoding.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	// Each attempt was either checked (a failure) or stopped before its
	// check (the request was gone when a check slot came free): either way
	// it is no longer in flight.
	if acct.InFlight != 0 || acct.Failures > 3 {
		t.Fatalf("after 3 cancelled wrong passwords the account has %d in flight and %d failures, want none in flight", acct.InFlight, acct.Failures)
	}
}
