package client_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/client"
	"github.com/tessera-id/tessera/client/cache"
)

// fakeProvider is an OpenID provider written by hand in the shape of a
// real one (Entra ID, Authgear), to show the library depends on no
// Tessera-specific behaviour.
type fakeProvider struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PrivateKey
	entra    bool
	mu       sync.Mutex
	now      time.Time
	rt       int          // generation of the current refresh token
	calls    atomic.Int64 // token requests
	throttle bool         // answer 429 with Retry-After
	forms    []map[string]string

	// Switches, set with set(): how the next responses deviate.
	rtLifetime time.Duration   // send refresh_token_expires_in
	granted    string          // the scope the Entra shape reports, instead of the usual
	bare       bool            // a plain OAuth 2.0 answer: no id_token, no client_info
	device     string          // answer device code polls with this error
	idKey      *rsa.PrivateKey // sign ID tokens with this key (still named k1)
	idIssuer   string          // ID token iss
	idAudience string          // ID token aud
	idExpired  bool            // ID token expired an hour ago
	idNonce    string          // ID token nonce
}

// set changes switches while no request is being answered.
func (p *fakeProvider) set(fn func(p *fakeProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(p)
}

func (p *fakeProvider) lastForm() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forms[len(p.forms)-1]
}

const (
	fakeTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	fakeUser   = "00000000-0000-0000-66f3-3332eca7ea81"
	fakeClient = "11111111-2222-4333-8444-555555555555"
)

func newFakeProvider(t *testing.T, entra bool) *fakeProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProvider{t: t, key: key, entra: entra, now: time.Now().Truncate(time.Second)}
	mux := http.NewServeMux()
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	if entra {
		mux.HandleFunc("GET /contoso.example/v2.0/.well-known/openid-configuration", p.discovery)
		mux.HandleFunc("POST /contoso.example/oauth2/v2.0/token", p.token)
		mux.HandleFunc("POST /contoso.example/oauth2/v2.0/devicecode", p.deviceCode)
	} else {
		mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
		mux.HandleFunc("POST /oauth2/token", p.token)
	}
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	return p
}

func (p *fakeProvider) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

func (p *fakeProvider) advance(d time.Duration) {
	p.mu.Lock()
	p.now = p.now.Add(d)
	p.mu.Unlock()
}

func (p *fakeProvider) authority() string {
	if p.entra {
		return p.srv.URL + "/contoso.example"
	}
	return p.srv.URL
}

func (p *fakeProvider) issuer() string {
	if p.entra {
		return p.srv.URL + "/" + fakeTenant + "/v2.0"
	}
	return p.srv.URL
}

func (p *fakeProvider) discovery(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{"issuer": p.issuer(), "jwks_uri": p.srv.URL + "/keys", "response_types_supported": []string{"code"}}
	if p.entra {
		// Entra's document names no device endpoint: MSAL derives it.
		doc["token_endpoint"] = p.authority() + "/oauth2/v2.0/token"
		doc["authorization_endpoint"] = p.authority() + "/oauth2/v2.0/authorize"
		doc["tenant_region_scope"] = "EU"
	} else {
		doc["token_endpoint"] = p.srv.URL + "/oauth2/token"
		doc["authorization_endpoint"] = p.srv.URL + "/oauth2/authorize"
	}
	_ = json.NewEncoder(w).Encode(doc)
}

func (p *fakeProvider) idToken() string {
	now := p.clock()
	p.mu.Lock()
	key, iss, aud, expired, nonce := p.key, p.issuer(), fakeClient, p.idExpired, p.idNonce
	if p.idKey != nil {
		key = p.idKey
	}
	if p.idIssuer != "" {
		iss = p.idIssuer
	}
	if p.idAudience != "" {
		aud = p.idAudience
	}
	p.mu.Unlock()
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	claims := map[string]any{"iss": iss, "sub": "authgear-user-42", "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if expired {
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if p.entra {
		claims["sub"] = "pairwise-sub"
		claims["oid"] = fakeUser
		claims["tid"] = fakeTenant
		claims["preferred_username"] = "adele@contoso.example"
		claims["name"] = "Adele"
	}
	b, _ := json.Marshal(claims)
	jws, _ := signer.Sign(b)
	s, _ := jws.CompactSerialize()
	return s
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	_ = r.ParseForm()
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	p.mu.Lock()
	p.forms = append(p.forms, form)
	throttle := p.throttle
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if throttle {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"slow down"}`))
		return
	}
	p.mu.Lock()
	want := "rt-" + string(rune('0'+p.rt))
	device := p.device
	p.mu.Unlock()
	if form["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code" && device != "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": device, "error_description": "device code: " + device})
		return
	}
	if form["grant_type"] == "refresh_token" && form["refresh_token"] != want {
		w.WriteHeader(http.StatusBadRequest)
		body := `{"error":"invalid_grant","error_description":"refresh token is not valid"}`
		if p.entra {
			body = `{"error":"invalid_grant","error_description":"AADSTS70000","suberror":"bad_token","error_codes":[70000]}`
		}
		_, _ = w.Write([]byte(body))
		return
	}
	p.mu.Lock()
	p.rt++
	next := "rt-" + string(rune('0'+p.rt))
	rtLifetime, granted, bare := p.rtLifetime, p.granted, p.bare
	p.mu.Unlock()
	if granted == "" {
		granted = "api://files/Files.Read openid profile offline_access"
	}
	var resp map[string]any
	if p.entra {
		ci, _ := json.Marshal(map[string]string{"uid": fakeUser, "utid": fakeTenant})
		resp = map[string]any{"token_type": "Bearer", "scope": granted,
			"expires_in": 3599, "ext_expires_in": 7199, "refresh_in": 1800, "access_token": "entra-at-" + next,
			"refresh_token": next, "id_token": p.idToken(), "client_info": base64.RawURLEncoding.EncodeToString(ci)}
	} else {
		// Seed 003's response: no scope, no client_info, expires_in only.
		resp = map[string]any{"access_token": "authgear-at-" + next, "expires_in": 1800, "id_token": p.idToken(),
			"refresh_token": next, "token_type": "Bearer"}
	}
	if bare {
		delete(resp, "id_token")
		delete(resp, "client_info")
	}
	if rtLifetime > 0 {
		resp["refresh_token_expires_in"] = int(rtLifetime.Seconds())
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (p *fakeProvider) deviceCode(w http.ResponseWriter, r *http.Request) {
	_ = json.NewEncoder(w).Encode(map[string]any{"device_code": "dc", "user_code": "BCDF-GHJK", "verification_uri": p.srv.URL + "/devicelogin",
		"expires_in": 900, "interval": 1, "message": "To sign in, use a web browser to open the page " + p.srv.URL + "/devicelogin and enter the code BCDF-GHJK to authenticate."})
}

func (p *fakeProvider) app(t *testing.T) *client.PublicApp {
	app, err := client.NewPublic(fakeClient, p.authority(), client.WithHTTPClient(p.srv.Client()), client.WithClock(p.clock))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestProviderShapes(t *testing.T) {
	for _, entra := range []bool{true, false} {
		name := map[bool]string{true: "entra", false: "authgear"}[entra]
		t.Run(name, func(t *testing.T) {
			p := newFakeProvider(t, entra)
			app := p.app(t)
			ctx := context.Background()
			scopes := []string{"api://files/Files.Read"}
			res, err := app.AcquireTokenByRefreshToken(ctx, "rt-0", scopes)
			if err != nil {
				t.Fatal(err)
			}
			wantHome, wantUser := "authgear-user-42", ""
			if entra {
				wantHome, wantUser = fakeUser+"."+fakeTenant, "adele@contoso.example"
			}
			if res.Account.HomeAccountID != wantHome || res.Account.Username != wantUser || res.IDTokenClaims == nil {
				t.Fatalf("account %+v claims %v", res.Account, res.IDTokenClaims)
			}
			if entra != (p.forms[0]["client_info"] == "1") {
				t.Errorf("client_info sent = %q to an entra=%v provider", p.forms[0]["client_info"], entra)
			}
			calls := p.calls.Load()
			r, err := app.AcquireTokenSilent(ctx, res.Account, scopes)
			if err != nil || !r.FromCache || p.calls.Load() != calls {
				t.Fatalf("silent from cache: %+v %v", r, err)
			}
			// A cached result carries the cached ID token and its claims.
			if r.IDToken != res.IDToken || r.IDTokenClaims == nil || r.IDTokenClaims.Subject != res.IDTokenClaims.Subject ||
				r.IDTokenClaims.Raw["iss"] != p.issuer() {
				t.Errorf("cached result's ID token: %q %+v", r.IDToken, r.IDTokenClaims)
			}
			// Entra's refresh_in (30 min) triggers a refresh before expiry;
			// Authgear's token simply expires after 30 min.
			p.advance(31 * time.Minute)
			r, err = app.AcquireTokenSilent(ctx, res.Account, scopes)
			if err != nil || r.FromCache {
				t.Fatalf("silent refresh: %+v %v", r, err)
			}
			if p.forms[len(p.forms)-1]["refresh_token"] != "rt-1" {
				t.Errorf("silent refresh used %q, not the rotated rt-1", p.forms[len(p.forms)-1]["refresh_token"])
			}
			// A dead refresh token means interaction, for both shapes.
			p.mu.Lock()
			p.rt = 7
			p.mu.Unlock()
			p.advance(2 * time.Hour)
			if _, err := app.AcquireTokenSilent(ctx, res.Account, scopes); !errors.Is(err, client.ErrInteractionRequired) {
				t.Errorf("dead refresh token: %v", err)
			}
		})
	}
}

func TestThrottledHonoursRetryAfter(t *testing.T) {
	p := newFakeProvider(t, false)
	p.throttle = true
	app := p.app(t)
	_, err := app.AcquireTokenByRefreshToken(context.Background(), "rt-0", nil)
	var ce *client.Error
	if !errors.Is(err, client.ErrThrottled) || !errors.As(err, &ce) || ce.RetryAfter.Sub(p.clock()) != 30*time.Second {
		t.Fatalf("want throttled for 30s, got %v", err)
	}
	calls := p.calls.Load()
	if _, err := app.AcquireTokenByRefreshToken(context.Background(), "rt-0", nil); !errors.Is(err, client.ErrThrottled) || p.calls.Load() != calls {
		t.Errorf("a throttled client called the server again: %v", err)
	}
	p.advance(31 * time.Second)
	p.throttle = false
	if _, err := app.AcquireTokenByRefreshToken(context.Background(), "rt-0", nil); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
}

func TestEntraDeviceEndpointIsDerived(t *testing.T) {
	p := newFakeProvider(t, true)
	app := p.app(t)
	// The fake approves at once: its token endpoint accepts any grant but
	// a stale refresh token.
	res, err := app.AcquireTokenByDeviceCode(context.Background(), []string{"api://files/Files.Read"}, func(_ context.Context, dc client.DeviceCode) error {
		if !strings.Contains(dc.Message, "BCDF-GHJK") {
			t.Errorf("message %q", dc.Message)
		}
		return nil
	})
	if err != nil || res.Account.Username != "adele@contoso.example" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRefreshTokenExpiryIsHonoured(t *testing.T) {
	p := newFakeProvider(t, true)
	p.set(func(p *fakeProvider) { p.rtLifetime = 24 * time.Hour })
	app := p.app(t)
	ctx := context.Background()
	scopes := []string{"api://files/Files.Read"}
	res, err := app.AcquireTokenByRefreshToken(ctx, "rt-0", scopes)
	if err != nil {
		t.Fatal(err)
	}
	rt, ok, err := app.Cache().RefreshToken(ctx, hostOf(p.srv.URL), fakeClient, res.Account.HomeAccountID, "")
	if err != nil || !ok || !rt.ExpiresOn.Equal(p.clock().Add(24*time.Hour)) {
		t.Fatalf("cached refresh token %+v %v %v; want it to expire in 24h", rt, ok, err)
	}
	// Before its expiry it is redeemed as usual.
	p.advance(2 * time.Hour)
	if r, err := app.AcquireTokenSilent(ctx, res.Account, scopes); err != nil || r.FromCache {
		t.Fatalf("silent refresh before the refresh token's expiry: %+v %v", r, err)
	}
	// The rotated one expires 24h after its issue: past that, silent
	// acquisition asks for interaction without asking the server.
	p.advance(25 * time.Hour)
	calls := p.calls.Load()
	_, err = app.AcquireTokenSilent(ctx, res.Account, scopes)
	var ce *client.Error
	if !errors.Is(err, client.ErrInteractionRequired) || !errors.As(err, &ce) || ce.Code != "refresh_token_expired" {
		t.Fatalf("silent with an expired refresh token: %v", err)
	}
	if n := p.calls.Load() - calls; n != 0 {
		t.Errorf("silent with an expired refresh token made %d token requests", n)
	}
}

func TestGrantedScopesComeFromTheServer(t *testing.T) {
	p := newFakeProvider(t, true)
	app := p.app(t)
	ctx := context.Background()
	// Files.Write is asked but refused: the server grants Files.Read only.
	p.set(func(p *fakeProvider) { p.granted = "api://files/Files.Read openid profile" })
	res, err := app.AcquireTokenByRefreshToken(ctx, "rt-0", []string{"api://files/Files.Read", "api://files/Files.Write"})
	if err != nil {
		t.Fatal(err)
	}
	if containsScope(res.Scopes, "api://files/Files.Write") || !containsScope(res.Scopes, "api://files/Files.Read") {
		t.Fatalf("result scopes %v; want the granted Files.Read only", res.Scopes)
	}
	calls := p.calls.Load()
	if r, err := app.AcquireTokenSilent(ctx, res.Account, []string{"api://files/Files.Read"}); err != nil || !r.FromCache {
		t.Fatalf("silent for the granted scope: %+v %v", r, err)
	}
	// A silent call for the refused scope is not served the narrower
	// token: it asks the server.
	r, err := app.AcquireTokenSilent(ctx, res.Account, []string{"api://files/Files.Read", "api://files/Files.Write"})
	if err != nil || r.FromCache || p.calls.Load() != calls+1 || containsScope(r.Scopes, "api://files/Files.Write") {
		t.Fatalf("silent for a refused scope: %+v %v (%d calls)", r, err, p.calls.Load()-calls)
	}
	// "/.default" is answered with the scopes it expanded to; a later
	// ".default" request finds the token.
	p.set(func(p *fakeProvider) { p.granted = "api://files/Files.Read api://files/Files.Write" })
	res, err = app.AcquireTokenByRefreshToken(ctx, p.currentRT(), []string{"api://files/.default"})
	if err != nil || !containsScope(res.Scopes, "api://files/.default") || !containsScope(res.Scopes, "api://files/Files.Write") {
		t.Fatalf(".default: %+v %v", res.Scopes, err)
	}
	for _, scopes := range [][]string{{"api://files/.default"}, {"api://files/Files.Write"}} {
		if r, err := app.AcquireTokenSilent(ctx, res.Account, scopes); err != nil || !r.FromCache {
			t.Errorf("silent for %v after a .default grant: %+v %v", scopes, r, err)
		}
	}
}

func (p *fakeProvider) currentRT() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "rt-" + string(rune('0'+p.rt))
}

func containsScope(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func TestIDTokenRejection(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, deviate := range map[string]func(p *fakeProvider){
		"wrong signing key": func(p *fakeProvider) { p.idKey = other },
		"wrong issuer":      func(p *fakeProvider) { p.idIssuer = "https://issuer.example" },
		"wrong audience":    func(p *fakeProvider) { p.idAudience = "another-client" },
		"expired":           func(p *fakeProvider) { p.idExpired = true },
		"nonce mismatch":    func(p *fakeProvider) { p.idNonce = "not-the-request-nonce" },
	} {
		t.Run(name, func(t *testing.T) {
			for _, entra := range []bool{true, false} {
				p := newFakeProvider(t, entra)
				p.set(deviate)
				var hooked bool
				app, err := client.NewPublic(fakeClient, p.authority(), client.WithHTTPClient(p.srv.Client()), client.WithClock(p.clock),
					client.WithTokenHook(func(context.Context, client.TokenEvent) { hooked = true }))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				// The authorization code flow sends a nonce and checks it.
				req, err := app.AuthCodeURL(ctx, []string{"api://files/Files.Read"}, "http://localhost:5555")
				if err != nil {
					t.Fatal(err)
				}
				if name != "nonce mismatch" {
					p.set(func(p *fakeProvider) { p.idNonce = req.Nonce })
				}
				res, err := app.AcquireTokenByCode(ctx, req, "code", req.State)
				var ce *client.Error
				if !errors.Is(err, client.ErrInvalidIDToken) || !errors.As(err, &ce) || ce.Description == "" {
					t.Fatalf("entra=%v: want an invalid ID token error, got %+v %v", entra, res, err)
				}
				if app.Cache().Len() != 0 || hooked || res.AccessToken != "" {
					t.Errorf("entra=%v: a rejected response left %d cache entries (hook called: %v)", entra, app.Cache().Len(), hooked)
				}
				if accounts, err := app.Accounts(ctx); err != nil || len(accounts) != 0 {
					t.Errorf("entra=%v: accounts after a rejected response: %v %v", entra, accounts, err)
				}
			}
		})
	}
	// The same provider without the deviation is accepted, nonce included.
	p := newFakeProvider(t, true)
	app := p.app(t)
	req, err := app.AuthCodeURL(context.Background(), nil, "http://localhost:5555")
	if err != nil {
		t.Fatal(err)
	}
	p.set(func(p *fakeProvider) { p.idNonce = req.Nonce })
	if res, err := app.AcquireTokenByCode(context.Background(), req, "code", req.State); err != nil || res.IDTokenClaims.Nonce != req.Nonce {
		t.Fatalf("a valid ID token: %+v %v", res, err)
	}
}

func TestDeviceCodeEndings(t *testing.T) {
	for _, tt := range []struct {
		answer      string
		want        error
		interaction bool
	}{
		{"access_denied", client.ErrAccessDenied, false},
		{"expired_token", client.ErrDeviceCodeExpired, true},
		// The server keeps saying "pending" while the code's announced
		// expiry passes on the app's clock: the library stops.
		{"authorization_pending", client.ErrDeviceCodeExpired, true},
	} {
		t.Run(tt.answer, func(t *testing.T) {
			p := newFakeProvider(t, true)
			p.set(func(p *fakeProvider) { p.device = tt.answer })
			app := p.app(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := app.AcquireTokenByDeviceCode(ctx, []string{"api://files/Files.Read"}, func(_ context.Context, dc client.DeviceCode) error {
				if want := p.clock().Add(900 * time.Second); !dc.ExpiresOn.Equal(want) {
					t.Errorf("code expires on %v, want %v (the app's clock)", dc.ExpiresOn, want)
				}
				p.advance(16 * time.Minute) // the user walks away
				return nil
			})
			var ce *client.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &ce) || ce.Code != map[bool]string{true: "expired_token", false: tt.answer}[tt.answer != "access_denied"] {
				t.Fatalf("device code answered %s: got %v, want %v", tt.answer, err, tt.want)
			}
			if errors.Is(err, client.ErrInteractionRequired) != tt.interaction {
				t.Errorf("errors.Is(%v, ErrInteractionRequired) = %v", err, !tt.interaction)
			}
			if n := p.calls.Load(); n != 1 {
				t.Errorf("%d polls, want 1", n)
			}
		})
	}
}

func TestTokenOptions(t *testing.T) {
	p := newFakeProvider(t, true)
	app := p.app(t)
	ctx := context.Background()
	scopes := []string{"api://files/Files.Read"}
	res, err := app.AcquireTokenByRefreshToken(ctx, "rt-0", scopes, client.WithTokenParameter("slice", "testslice"))
	if err != nil {
		t.Fatal(err)
	}
	if f := p.lastForm(); f["slice"] != "testslice" || f["grant_type"] != "refresh_token" {
		t.Errorf("extra parameter not sent: %v", f)
	}
	// A fresh token is in the cache; WithForceRefresh asks the server
	// anyway, with the cached (rotated) refresh token, and caches the
	// result.
	calls := p.calls.Load()
	forced, err := app.AcquireTokenSilent(ctx, res.Account, scopes, client.WithForceRefresh())
	if err != nil || forced.FromCache || forced.AccessToken == res.AccessToken || p.calls.Load() != calls+1 {
		t.Fatalf("forced refresh: %+v %v (%d calls)", forced, err, p.calls.Load()-calls)
	}
	if f := p.lastForm(); f["refresh_token"] != "rt-1" {
		t.Errorf("forced refresh redeemed %q, want the cached rt-1", f["refresh_token"])
	}
	if r, err := app.AcquireTokenSilent(ctx, res.Account, scopes); err != nil || !r.FromCache || r.AccessToken != forced.AccessToken {
		t.Fatalf("silent after a forced refresh: %+v %v", r, err)
	}
	// A claims challenge is sent and bypasses the cache too.
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	if r, err := app.AcquireTokenSilent(ctx, res.Account, scopes, client.WithClaims(claims)); err != nil || r.FromCache {
		t.Fatalf("silent with claims: %+v %v", r, err)
	}
	if f := p.lastForm(); f["claims"] != claims {
		t.Errorf("claims sent as %q", f["claims"])
	}
	// An extra parameter never replaces one the flow sets.
	if _, err := app.AcquireTokenSilent(ctx, res.Account, scopes, client.WithForceRefresh(), client.WithTokenParameter("grant_type", "password")); err != nil {
		t.Fatal(err)
	}
	if f := p.lastForm(); f["grant_type"] != "refresh_token" {
		t.Errorf("grant_type overridden: %v", f)
	}
}

// A plain OAuth 2.0 server identifies nobody: the tokens, and above all
// the rotated refresh token, are kept under an unidentified account.
func TestResponseWithoutAccountKeepsTheRefreshToken(t *testing.T) {
	p := newFakeProvider(t, false)
	p.set(func(p *fakeProvider) { p.bare = true })
	var hooked []string
	app, err := client.NewPublic(fakeClient, p.authority(), client.WithHTTPClient(p.srv.Client()), client.WithClock(p.clock),
		client.WithTokenHook(func(_ context.Context, ev client.TokenEvent) { hooked = append(hooked, ev.RefreshToken) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scopes := []string{"api://files/Files.Read"}
	res, err := app.AcquireTokenByRefreshToken(ctx, "rt-0", scopes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.IsZero() || !res.Account.Unidentified() || res.IDTokenClaims != nil {
		t.Fatalf("account of a response without ID token: %+v", res.Account)
	}
	if len(hooked) != 1 || hooked[0] != "rt-1" {
		t.Errorf("hook received %v", hooked)
	}
	accounts, err := app.Accounts(ctx)
	if err != nil || len(accounts) != 1 || accounts[0].HomeAccountID != res.Account.HomeAccountID {
		t.Fatalf("accounts: %+v %v", accounts, err)
	}
	if r, err := app.AcquireTokenSilent(ctx, accounts[0], scopes); err != nil || !r.FromCache || r.AccessToken != res.AccessToken {
		t.Fatalf("silent from cache: %+v %v", r, err)
	}
	// Expired: the rotated refresh token comes from the cache, and the
	// answer, which again names nobody, stays with the same account.
	p.advance(2 * time.Hour)
	r, err := app.AcquireTokenSilent(ctx, accounts[0], scopes)
	if err != nil || r.FromCache || r.Account.HomeAccountID != res.Account.HomeAccountID {
		t.Fatalf("silent refresh: %+v %v", r, err)
	}
	if f := p.lastForm(); f["refresh_token"] != "rt-1" {
		t.Errorf("silent refresh redeemed %q, want the rotated rt-1", f["refresh_token"])
	}
	if accounts, _ := app.Accounts(ctx); len(accounts) != 1 {
		t.Errorf("%d accounts after the refresh, want 1", len(accounts))
	}
	p.advance(2 * time.Hour)
	if _, err := app.AcquireTokenSilent(ctx, accounts[0], scopes); err != nil {
		t.Fatalf("second silent refresh: %v", err)
	}
}

// A middle tier serving many users: the cap bounds the on-behalf-of
// refresh tokens as well as the access tokens.
func TestOnBehalfOfCacheIsBounded(t *testing.T) {
	p := newFakeProvider(t, true)
	c := cache.New(cache.WithMaxEntries(10))
	api, err := client.NewConfidential(fakeClient, p.authority(), client.SecretCredential("s"), client.WithHTTPClient(p.srv.Client()),
		client.WithClock(p.clock), client.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 60 {
		if _, err := api.AcquireTokenOnBehalfOf(ctx, fmt.Sprintf("user-token-%d", i), []string{"api://files/Files.Read"}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if nAT, nRT := len(doc["AccessToken"]), len(doc["RefreshToken"]); nAT > 10 || nRT > 10 || nRT == 0 {
		t.Fatalf("60 on-behalf-of exchanges with a cap of 10 left %d access and %d refresh tokens", nAT, nRT)
	}
	// The newest assertion's token is still served from the cache.
	if r, err := api.AcquireTokenOnBehalfOf(ctx, "user-token-59", []string{"api://files/Files.Read"}); err != nil || !r.FromCache {
		t.Fatalf("newest on-behalf-of token: %+v %v", r, err)
	}
}

// The interactive flow against a provider that is not Tessera: the
// "browser" answers the authorization request at once, or declines it.
func TestInteractiveAgainstFakeProvider(t *testing.T) {
	p := newFakeProvider(t, true)
	respond := func(extra url.Values) func(string) error {
		return func(authorize string) error {
			u, err := url.Parse(authorize)
			if err != nil {
				return err
			}
			q := u.Query()
			p.set(func(p *fakeProvider) { p.idNonce = q.Get("nonce") })
			back := url.Values{"state": {q.Get("state")}}
			for k, v := range extra {
				back[k] = v
			}
			go func() {
				if resp, err := http.Get(q.Get("redirect_uri") + "/?" + back.Encode()); err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := client.NewPublic(fakeClient, p.authority(), client.WithHTTPClient(p.srv.Client()), client.WithClock(p.clock),
		client.WithBrowser(respond(url.Values{"code": {"the-code"}})))
	if err != nil {
		t.Fatal(err)
	}
	claims := `{"id_token":{"auth_time":{"essential":true}}}`
	res, err := app.AcquireTokenInteractive(ctx, []string{"api://files/Files.Read"}, client.WithTokenOptions(client.WithClaims(claims)))
	if err != nil || res.Account.Username != "adele@contoso.example" {
		t.Fatalf("interactive: %+v %v", res, err)
	}
	if f := p.lastForm(); f["code"] != "the-code" || f["claims"] != claims || f["code_verifier"] == "" {
		t.Errorf("code redemption form: %v", f)
	}
	declined, err := client.NewPublic(fakeClient, p.authority(), client.WithHTTPClient(p.srv.Client()),
		client.WithBrowser(respond(url.Values{"error": {"access_denied"}, "error_description": {"the user declined"}})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := declined.AcquireTokenInteractive(ctx, nil); !errors.Is(err, client.ErrAccessDenied) {
		t.Errorf("declined sign-in: %v", err)
	}
}
