package client_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/client"
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
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	now := p.clock()
	claims := map[string]any{"iss": p.issuer(), "sub": "authgear-user-42", "aud": fakeClient, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
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
	p.mu.Unlock()
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
	p.mu.Unlock()
	var resp map[string]any
	if p.entra {
		ci, _ := json.Marshal(map[string]string{"uid": fakeUser, "utid": fakeTenant})
		resp = map[string]any{"token_type": "Bearer", "scope": "api://files/Files.Read openid profile offline_access",
			"expires_in": 3599, "ext_expires_in": 7199, "refresh_in": 1800, "access_token": "entra-at-" + next,
			"refresh_token": next, "id_token": p.idToken(), "client_info": base64.RawURLEncoding.EncodeToString(ci)}
	} else {
		// Seed 003's response: no scope, no client_info, expires_in only.
		resp = map[string]any{"access_token": "authgear-at-" + next, "expires_in": 1800, "id_token": p.idToken(),
			"refresh_token": next, "token_type": "Bearer"}
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
			if r, err := app.AcquireTokenSilent(ctx, res.Account, scopes); err != nil || !r.FromCache || p.calls.Load() != calls {
				t.Fatalf("silent from cache: %+v %v", r, err)
			}
			// Entra's refresh_in (30 min) triggers a refresh before expiry;
			// Authgear's token simply expires after 30 min.
			p.advance(31 * time.Minute)
			r, err := app.AcquireTokenSilent(ctx, res.Account, scopes)
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
