package client_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/client"
	"github.com/tessera-id/tessera/client/cache"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
)

// fixture is a real Tessera with a public app, a resource API, a
// confidential daemon and a user.
type fixture struct {
	t      *testing.T
	ts     *testserver.Server
	public store.App
	api    store.App
	daemon store.App
	secret string
	calls  atomic.Int64 // token endpoint requests
}

const password = "correct horse battery"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ts := testserver.Start(t, "contoso", func(c *oauth.Config) { c.DevicePollInterval = time.Second })
	f := &fixture{t: t, ts: ts}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.api, err = ts.Admin.RegisterApp(ctx, ts.Tenant, admin.RegisterOptions{Name: "Files API"})
	must(err)
	f.api, err = ts.Admin.Expose(ctx, f.api, "api://files", []string{"Files.Read"}, []string{"Files.ReadAll"})
	must(err)
	f.public, err = ts.Admin.RegisterApp(ctx, ts.Tenant, admin.RegisterOptions{Name: "CLI", Public: true, RedirectURIs: []string{"http://localhost"}})
	must(err)
	f.daemon, err = ts.Admin.RegisterApp(ctx, ts.Tenant, admin.RegisterOptions{Name: "Daemon"})
	must(err)
	f.daemon, err = ts.Admin.AddPermission(ctx, f.daemon, "api://files", nil, []string{"Files.ReadAll"})
	must(err)
	_, err = ts.Admin.GrantAdminConsent(ctx, f.daemon)
	must(err)
	f.secret, _, err = ts.Admin.AddSecret(ctx, f.daemon, "ci", ts.Clock.Now().AddDate(0, 1, 0))
	must(err)
	_, _, err = ts.Admin.CreateUser(ctx, ts.Tenant, admin.UserOptions{Username: "alice", Password: password, Name: "Alice", Email: "alice@contoso.test"})
	must(err)
	return f
}

// httpClient trusts the server and counts token endpoint requests.
func (f *fixture) httpClient() *http.Client {
	base := f.ts.Client()
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			f.calls.Add(1)
		}
		return base.Transport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (f *fixture) publicApp(opts ...client.Option) *client.PublicApp {
	f.t.Helper()
	opts = append([]client.Option{client.WithHTTPClient(f.httpClient()), client.WithClock(f.ts.Clock.Now)}, opts...)
	app, err := client.NewPublic(f.public.ClientID, f.ts.Authority(), opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	return app
}

// browser signs alice in at url and delivers the redirect to the app's
// loopback listener, as a system browser would.
func (f *fixture) browser(url string) error {
	b := testbrowser.New(f.t, f.ts.Client())
	o := b.SignIn(url, "alice", password)
	go func() {
		resp, err := http.Get(o.Callback.String())
		if err == nil {
			resp.Body.Close()
		}
	}()
	return nil
}

func TestAuthCodeThenSilent(t *testing.T) {
	f := newFixture(t)
	app := f.publicApp()
	ctx := context.Background()
	scopes := []string{"api://files/Files.Read"}
	req, err := app.AuthCodeURL(ctx, scopes, "http://localhost:5555")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(req.URL)
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("state") != req.State || q.Get("nonce") != req.Nonce || !strings.Contains(q.Get("scope"), "offline_access") {
		t.Fatalf("authorize URL %s", req.URL)
	}
	o := testbrowser.New(t, f.ts.Client()).SignIn(req.URL, "alice", password)

	if _, err := app.AcquireTokenByCode(ctx, req, o.Params.Get("code"), "forged-state"); err == nil {
		t.Fatal("a mismatched state was accepted")
	}
	res, err := app.AcquireTokenByCode(ctx, req, o.Params.Get("code"), o.Params.Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Username != "alice" || res.Account.TenantID != f.ts.Tenant.ID || res.IDTokenClaims == nil || res.IDTokenClaims.Nonce != req.Nonce {
		t.Fatalf("result: %+v", res)
	}
	if !strings.HasSuffix(res.Account.HomeAccountID, "."+f.ts.Tenant.ID) {
		t.Errorf("home account id %q is not uid.utid", res.Account.HomeAccountID)
	}

	calls := f.calls.Load()
	silent, err := app.AcquireTokenSilent(ctx, res.Account, scopes)
	if err != nil || !silent.FromCache || silent.AccessToken != res.AccessToken || f.calls.Load() != calls {
		t.Fatalf("silent from cache: %+v %v", silent, err)
	}
	// Served from the cache, the result still carries the ID token and
	// its claims.
	if silent.IDToken != res.IDToken || silent.IDTokenClaims == nil || silent.IDTokenClaims.Subject != res.IDTokenClaims.Subject ||
		silent.IDTokenClaims.PreferredUsername != "alice" || silent.IDTokenClaims.Nonce != req.Nonce {
		t.Errorf("cached result's ID token: %q %+v", silent.IDToken, silent.IDTokenClaims)
	}
	// Within the refresh-ahead window: refreshed, with rotation.
	f.ts.Clock.Advance(56 * time.Minute)
	refreshed, err := app.AcquireTokenSilent(ctx, res.Account, scopes)
	if err != nil || refreshed.FromCache || refreshed.AccessToken == res.AccessToken {
		t.Fatalf("silent refresh: %+v %v", refreshed, err)
	}
	if refreshed.IDTokenClaims == nil || refreshed.IDTokenClaims.Subject != res.IDTokenClaims.Subject {
		t.Errorf("refreshed result's ID token claims: %+v", refreshed.IDTokenClaims)
	}
	// Forced: a new token although the cached one is fresh.
	calls = f.calls.Load()
	forced, err := app.AcquireTokenSilent(ctx, res.Account, scopes, client.WithForceRefresh())
	if err != nil || forced.FromCache || forced.AccessToken == refreshed.AccessToken || f.calls.Load() != calls+1 {
		t.Fatalf("forced silent refresh: %+v %v", forced, err)
	}
	// And again, with the rotated refresh token from the cache.
	f.ts.Clock.Advance(2 * time.Hour)
	if _, err := app.AcquireTokenSilent(ctx, res.Account, scopes); err != nil {
		t.Fatalf("second silent refresh: %v", err)
	}

	accounts, err := app.Accounts(ctx)
	if err != nil || len(accounts) != 1 || accounts[0].Username != "alice" {
		t.Fatalf("accounts: %v %v", accounts, err)
	}
	if a, ok, _ := app.Account(ctx, "ALICE"); !ok || a.HomeAccountID != res.Account.HomeAccountID {
		t.Errorf("account by username: %v %v", a, ok)
	}
	if err := app.RemoveAccount(ctx, res.Account); err != nil {
		t.Fatal(err)
	}
	if _, err := app.AcquireTokenSilent(ctx, res.Account, scopes); !errors.Is(err, client.ErrInteractionRequired) {
		t.Errorf("silent after removal: %v", err)
	}
}

func TestInteractive(t *testing.T) {
	f := newFixture(t)
	app := f.publicApp(client.WithBrowser(f.browser))
	res, err := app.AcquireTokenInteractive(context.Background(), []string{"api://files/Files.Read"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Username != "alice" || res.AccessToken == "" {
		t.Fatalf("interactive: %+v", res)
	}
}

func TestDeviceCode(t *testing.T) {
	f := newFixture(t)
	app := f.publicApp()
	var message string
	// Bounded: if the browser goroutine fails, polling must not wait out
	// the code's 15 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := app.AcquireTokenByDeviceCode(ctx, []string{"api://files/Files.Read"}, func(_ context.Context, dc client.DeviceCode) error {
		message = dc.Message
		go func() {
			b := testbrowser.New(t, f.ts.Client())
			o := b.Submit(b.Get(dc.VerificationURIComplete), nil)
			o = b.Login(o, "alice", password)
			b.Consent(o, "accept")
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(message, "To sign in, use a web browser") || res.Account.Username != "alice" {
		t.Fatalf("device code: %q %+v", message, res)
	}
}

// signIn gets alice's tokens into app's cache.
func (f *fixture) signIn(app *client.PublicApp, scopes []string) client.Result {
	f.t.Helper()
	ctx := context.Background()
	req, err := app.AuthCodeURL(ctx, scopes, "http://localhost:5555")
	if err != nil {
		f.t.Fatal(err)
	}
	o := testbrowser.New(f.t, f.ts.Client()).SignIn(req.URL, "alice", password)
	res, err := app.AcquireTokenByCode(ctx, req, o.Params.Get("code"), o.Params.Get("state"))
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func TestSilentIsSingleFlight(t *testing.T) {
	f := newFixture(t)
	app := f.publicApp()
	scopes := []string{"api://files/Files.Read"}
	res := f.signIn(app, scopes)
	f.ts.Clock.Advance(2 * time.Hour)
	before := f.calls.Load()
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := app.AcquireTokenSilent(context.Background(), res.Account, scopes)
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = r.AccessToken
		}(i)
	}
	wg.Wait()
	if n := f.calls.Load() - before; n != 1 {
		t.Errorf("20 concurrent silent calls made %d token requests, want 1", n)
	}
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatal("concurrent callers got different tokens")
		}
	}
}

func TestSilentNeedsInteractionWhenTheRefreshTokenDies(t *testing.T) {
	f := newFixture(t)
	app := f.publicApp()
	scopes := []string{"api://files/Files.Read"}
	res := f.signIn(app, scopes)
	u, err := f.ts.Admin.User(context.Background(), f.ts.Tenant, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.Admin.SetDisabled(context.Background(), u, true); err != nil {
		t.Fatal(err)
	}
	f.ts.Clock.Advance(2 * time.Hour)
	_, err = app.AcquireTokenSilent(context.Background(), res.Account, scopes)
	var ce *client.Error
	if !errors.Is(err, client.ErrInteractionRequired) || !errors.As(err, &ce) || ce.SubError != "bad_token" {
		t.Fatalf("want interaction required with bad_token, got %v", err)
	}
	// The dead refresh token was forgotten: no second network call.
	before := f.calls.Load()
	if _, err := app.AcquireTokenSilent(context.Background(), res.Account, scopes); !errors.Is(err, client.ErrInteractionRequired) || f.calls.Load() != before {
		t.Errorf("second attempt: %v (%d calls)", err, f.calls.Load()-before)
	}
}

func testCertificate(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key, der
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t)
	cert, key, der := testCertificate(t)
	if _, err := f.ts.Admin.AddCredential(context.Background(), f.daemon, pemCert(der), "ci"); err != nil {
		t.Fatal(err)
	}
	certCred, err := client.CertificateCredential(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, cred := range map[string]client.Credential{"secret": client.SecretCredential(f.secret), "certificate": certCred} {
		t.Run(name, func(t *testing.T) {
			app, err := client.NewConfidential(f.daemon.ClientID, f.ts.Authority(), cred, client.WithHTTPClient(f.httpClient()), client.WithClock(f.ts.Clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			res, err := app.AcquireTokenByClientCredential(context.Background(), []string{"api://files/.default"})
			if err != nil || res.FromCache {
				t.Fatalf("%+v %v", res, err)
			}
			again, err := app.AcquireTokenByClientCredential(context.Background(), []string{"api://files/.default"})
			if err != nil || !again.FromCache || again.AccessToken != res.AccessToken {
				t.Fatalf("second call not from cache: %+v %v", again, err)
			}
			tok, err := app.ClientCredentialsTokenSource(context.Background(), []string{"api://files/.default"}).Token()
			if err != nil || tok.AccessToken != res.AccessToken || !tok.Valid() {
				t.Fatalf("token source: %+v %v", tok, err)
			}
			forced, err := app.AcquireTokenByClientCredential(context.Background(), []string{"api://files/.default"}, client.WithForceRefresh())
			if err != nil || forced.FromCache || forced.AccessToken == res.AccessToken {
				t.Fatalf("forced client credentials: %+v %v", forced, err)
			}
		})
	}
	// A certificate assertion is dated by the app's clock: three hours
	// on, an assertion dated by the wall clock would have expired for the
	// server, whose clock moved too.
	f.ts.Clock.Advance(3 * time.Hour)
	app, err := client.NewConfidential(f.daemon.ClientID, f.ts.Authority(), certCred, client.WithHTTPClient(f.httpClient()), client.WithClock(f.ts.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AcquireTokenByClientCredential(context.Background(), []string{"api://files/.default"}); err != nil {
		t.Fatalf("certificate assertion on the app's clock: %v", err)
	}
	bad, _ := client.NewConfidential(f.daemon.ClientID, f.ts.Authority(), client.SecretCredential("wrong"), client.WithHTTPClient(f.httpClient()))
	if _, err := bad.AcquireTokenByClientCredential(context.Background(), []string{"api://files/.default"}); !errors.Is(err, client.ErrInvalidClient) {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestTokenSourceAndHookPersistFirst(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "cache.json")
	var hooked atomic.Int64
	var persistedBeforeHook atomic.Bool
	app := f.publicApp(client.WithCache(cache.New(cache.WithPersistence(cache.NewFile(path)))),
		client.WithTokenHook(func(ctx context.Context, ev client.TokenEvent) {
			hooked.Add(1)
			// The new refresh token must already be on disk.
			other := cache.New(cache.WithPersistence(cache.NewFile(path)))
			if rt, ok, _ := other.RefreshToken(ctx, hostOf(f.ts.Authority()), f.public.ClientID, ev.Result.Account.HomeAccountID, ""); ok && rt.Secret == ev.RefreshToken {
				persistedBeforeHook.Store(true)
			} else {
				persistedBeforeHook.Store(false)
			}
		}))
	scopes := []string{"api://files/Files.Read"}
	res := f.signIn(app, scopes)
	ts := app.TokenSource(context.Background(), res.Account, scopes)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != res.AccessToken {
		t.Fatalf("token source: %v %v", tok, err)
	}
	f.ts.Clock.Advance(2 * time.Hour)
	tok2, err := ts.Token()
	if err != nil || tok2.AccessToken == tok.AccessToken {
		t.Fatalf("token source refresh: %v", err)
	}
	if hooked.Load() != 2 || !persistedBeforeHook.Load() {
		t.Errorf("hook calls %d, persisted before hook %v", hooked.Load(), persistedBeforeHook.Load())
	}
	// A second app instance (another process) sharing the file signs in
	// silently with what the first one cached.
	other := f.publicApp(client.WithCache(cache.New(cache.WithPersistence(cache.NewFile(path)))))
	accounts, err := other.Accounts(context.Background())
	if err != nil || len(accounts) != 1 {
		t.Fatalf("shared cache accounts: %v %v", accounts, err)
	}
	if r, err := other.AcquireTokenSilent(context.Background(), accounts[0], scopes); err != nil || !r.FromCache {
		t.Fatalf("shared cache silent: %+v %v", r, err)
	}
}

func TestTwoCachesOnOneFileLoseNoRefreshToken(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "cache.json")
	newApp := func() *client.PublicApp {
		return f.publicApp(client.WithCache(cache.New(cache.WithPersistence(cache.NewFile(path)))))
	}
	scopes := []string{"api://files/Files.Read"}
	res := f.signIn(newApp(), scopes)
	for round := 0; round < 3; round++ {
		f.ts.Clock.Advance(2 * time.Hour)
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := newApp().AcquireTokenSilent(context.Background(), res.Account, scopes); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
	}
}

func hostOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}

func TestOnBehalfOfAndRefreshTokenAgainstTessera(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A middle-tier API with a secret, needing Files.Read, admin-consented.
	mid, err := f.ts.Admin.RegisterApp(ctx, f.ts.Tenant, admin.RegisterOptions{Name: "Middle"})
	if err != nil {
		t.Fatal(err)
	}
	if mid, err = f.ts.Admin.Expose(ctx, mid, "api://middle", []string{"user_impersonation"}, nil); err != nil {
		t.Fatal(err)
	}
	if mid, err = f.ts.Admin.AddPermission(ctx, mid, "api://files", []string{"Files.Read"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.Admin.GrantAdminConsent(ctx, mid); err != nil {
		t.Fatal(err)
	}
	midSecret, _, err := f.ts.Admin.AddSecret(ctx, mid, "obo", f.ts.Clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	user := f.signIn(f.publicApp(), []string{"api://middle/user_impersonation"})

	api, err := client.NewConfidential(mid.ClientID, f.ts.Authority(), client.SecretCredential(midSecret),
		client.WithHTTPClient(f.httpClient()), client.WithClock(f.ts.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	down, err := api.AcquireTokenOnBehalfOf(ctx, user.AccessToken, []string{"api://files/Files.Read"})
	if err != nil || down.FromCache {
		t.Fatalf("on-behalf-of: %+v %v", down, err)
	}
	again, err := api.AcquireTokenOnBehalfOf(ctx, user.AccessToken, []string{"api://files/Files.Read"})
	if err != nil || !again.FromCache || again.AccessToken != down.AccessToken {
		t.Fatalf("on-behalf-of from cache: %+v %v", again, err)
	}
	// Past expiry the cached OBO refresh token renews it.
	f.ts.Clock.Advance(2 * time.Hour)
	before := f.calls.Load()
	renewed, err := api.AcquireTokenOnBehalfOf(ctx, user.AccessToken, []string{"api://files/Files.Read"})
	if err != nil || renewed.FromCache || f.calls.Load()-before != 1 {
		t.Fatalf("on-behalf-of renewal: %+v %v (%d calls)", renewed, err, f.calls.Load()-before)
	}

	// Seed 000: a refresh token from elsewhere, redeemed by a new app
	// instance, then silent from its cache.
	var rt string
	hooked := f.publicApp(client.WithTokenHook(func(_ context.Context, ev client.TokenEvent) { rt = ev.RefreshToken }))
	first := f.signIn(hooked, []string{"api://files/Files.Read"})
	fresh := f.publicApp()
	migrated, err := fresh.AcquireTokenByRefreshToken(ctx, rt, []string{"api://files/Files.Read"})
	if err != nil || migrated.Account.HomeAccountID != first.Account.HomeAccountID {
		t.Fatalf("refresh token migration: %+v %v", migrated, err)
	}
	if r, err := fresh.AcquireTokenSilent(ctx, migrated.Account, []string{"api://files/Files.Read"}); err != nil || !r.FromCache {
		t.Fatalf("silent after migration: %+v %v", r, err)
	}
}

// TestInteractiveChecksIssuer: Tessera promises iss in authorization
// responses (RFC 9207), so the loopback listener refuses a redirect that
// names another issuer or none, and redeems nothing: that code may be one
// a mix-up attacker obtained from another server.
func TestInteractiveChecksIssuer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req, err := f.publicApp().AuthCodeURL(ctx, []string{"api://files/Files.Read"}, "http://localhost:5555")
	if err != nil {
		t.Fatal(err)
	}
	if req.Issuer != f.ts.Authority()+"/v2.0" || !req.RequireIssuer {
		t.Fatalf("request issuer %q, required %v; want the authority's, required", req.Issuer, req.RequireIssuer)
	}
	tampered := func(change func(url.Values)) func(string) error {
		return func(authorize string) error {
			o := testbrowser.New(t, f.ts.Client()).SignIn(authorize, "alice", password)
			if o.Params.Get("iss") != f.ts.Authority()+"/v2.0" {
				t.Errorf("Tessera's redirect carries iss %q", o.Params.Get("iss"))
			}
			cb := *o.Callback
			q := cb.Query()
			change(q)
			cb.RawQuery = q.Encode()
			go func() {
				if resp, err := http.Get(cb.String()); err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		}
	}
	for name, c := range map[string]struct {
		change func(url.Values)
		code   string
	}{
		"another issuer": {func(q url.Values) { q.Set("iss", f.ts.HTTP.URL+"/fabrikam/v2.0") }, "issuer_mismatch"},
		"no issuer":      {func(q url.Values) { q.Del("iss") }, "issuer_missing"},
		"another issuer on an error": {func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("iss", "https://attacker.example")
		}, "issuer_mismatch"},
	} {
		t.Run(name, func(t *testing.T) {
			before := f.calls.Load()
			app := f.publicApp(client.WithBrowser(tampered(c.change)))
			tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			_, err := app.AcquireTokenInteractive(tctx, []string{"api://files/Files.Read"})
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Code != c.code || !errors.Is(err, client.ErrInvalidGrant) {
				t.Fatalf("got %v, want %s", err, c.code)
			}
			if n := f.calls.Load() - before; n != 0 {
				t.Errorf("%d token requests; the code must not be redeemed", n)
			}
		})
	}
	// What Tessera sent, unchanged, passes.
	if _, err := f.publicApp(client.WithBrowser(tampered(func(url.Values) {}))).AcquireTokenInteractive(ctx, []string{"api://files/Files.Read"}); err != nil {
		t.Fatal(err)
	}
}

// TestCheckIssuer covers the rules of RFC 9207 §2.4 for a caller that
// catches the redirect itself.
func TestCheckIssuer(t *testing.T) {
	const iss = "https://login.example/contoso/v2.0"
	for _, c := range []struct {
		name string
		req  client.AuthCodeRequest
		resp url.Values
		code string // "" for accepted
	}{
		{"promised and right", client.AuthCodeRequest{Issuer: iss, RequireIssuer: true}, url.Values{"iss": {iss}}, ""},
		{"promised and missing", client.AuthCodeRequest{Issuer: iss, RequireIssuer: true}, url.Values{"code": {"c"}}, "issuer_missing"},
		{"promised and empty", client.AuthCodeRequest{Issuer: iss, RequireIssuer: true}, url.Values{"iss": {""}}, "issuer_mismatch"},
		{"promised and wrong", client.AuthCodeRequest{Issuer: iss, RequireIssuer: true}, url.Values{"iss": {iss + "/"}}, "issuer_mismatch"},
		{"not promised, absent", client.AuthCodeRequest{Issuer: iss}, url.Values{"code": {"c"}}, ""},
		{"not promised, sent and wrong", client.AuthCodeRequest{Issuer: iss}, url.Values{"iss": {"https://attacker.example"}}, "issuer_mismatch"},
		{"Entra's multi-tenant template", client.AuthCodeRequest{Issuer: "https://login.microsoftonline.com/{tenantid}/v2.0"},
			url.Values{"iss": {"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"}}, ""},
	} {
		err := c.req.CheckIssuer(c.resp)
		var ce *client.Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.code != "" && (!errors.As(err, &ce) || ce.Code != c.code):
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}
