package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
)

// env is a real server (real SQLite in a temp dir, real crypto, real
// HTTPS through httptest) with a tenant, apps and a user made through the
// admin package, as the CLI makes them.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	store    store.Store
	admin    *admin.Admin
	clock    *testserver.Clock
	tenant   store.Tenant
	web      store.App // confidential, redirect http://localhost:8080, exposes access_as_user
	secret   string
	native   store.App // public, loopback redirect, needs api Files.Read
	api      store.App // resource: scopes Files.Read Files.Write, role Files.ReadAll
	daemon   store.App // confidential, role Files.ReadAll on api, admin-consented
	daemonPW string    // the daemon's client secret
	user     store.User
	password string
	dataDir  string // the SQLite database's directory
	ts       *testserver.Server
}

const webRedirect = "http://localhost:8080"

type envOption func(*oauth.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvWith(t, testserver.Options{Config: func(c *oauth.Config) {
		for _, o := range opts {
			o(c)
		}
	}})
}

// newEnvWith is newEnv on a server started as o says (its tenant is
// always contoso).
func newEnvWith(t testing.TB, o testserver.Options) *env {
	t.Helper()
	ctx := context.Background()
	o.Tenant = "contoso"
	ts := testserver.StartWith(t, o)
	e := &env{t: t, srv: ts.HTTP, store: ts.Store, admin: ts.Admin, clock: ts.Clock, tenant: ts.Tenant, dataDir: ts.DataDir, ts: ts}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	e.web, err = e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: "Web App", RedirectURIs: []string{webRedirect}})
	must(err)
	e.web, err = e.admin.Expose(ctx, e.web, "", []string{"access_as_user"}, nil)
	must(err)
	e.secret, _, err = e.admin.AddSecret(ctx, e.web, "app secret", e.clock.Now().AddDate(0, 6, 0))
	must(err)
	e.api, err = e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: "Files API"})
	must(err)
	e.api, err = e.admin.Expose(ctx, e.api, "api://files", []string{"Files.Read", "Files.Write"}, []string{"Files.ReadAll"})
	must(err)
	e.native, err = e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: "Native App", Public: true, RedirectURIs: []string{"http://localhost"}})
	must(err)
	e.native, err = e.admin.AddPermission(ctx, e.native, e.api.ClientID, []string{"Files.Read"}, nil)
	must(err)
	e.daemon, err = e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: "Daemon"})
	must(err)
	e.daemon, err = e.admin.AddPermission(ctx, e.daemon, "api://files", nil, []string{"Files.ReadAll"})
	must(err)
	_, err = e.admin.GrantAdminConsent(ctx, e.daemon)
	must(err)
	e.daemonPW, _, err = e.admin.AddSecret(ctx, e.daemon, "daemon", e.clock.Now().AddDate(1, 0, 0))
	must(err)
	e.password = "correct horse battery"
	e.user, _, err = e.admin.CreateUser(ctx, e.tenant, admin.UserOptions{Username: "alice@contoso.test", Password: e.password, Email: "alice@contoso.test", Name: "Alice"})
	must(err)
	return e
}

func (e *env) url(path string) string { return e.srv.URL + path }

// authority is the tenant's base URL, as MSAL's authority.
func (e *env) authority() string { return e.srv.URL + "/contoso" }

func (e *env) tokenURL() string { return e.authority() + "/oauth2/v2.0/token" }

// post sends a form to the token endpoint and decodes the JSON answer.
func (e *env) post(target string, form url.Values) (int, map[string]any, http.Header) {
	return e.postRaw(target, "application/x-www-form-urlencoded", form.Encode(), nil)
}

func (e *env) postRaw(target, contentType, body string, header http.Header) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, decodeJSON(e.t, resp.Body), resp.Header
}

func decodeJSON(t testing.TB, r io.Reader) map[string]any {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, b)
	}
	return m
}

// browser returns a new user agent for this server.
func (e *env) browser() *browser {
	return &browser{Browser: testbrowser.New(e.t, e.srv.Client()), e: e}
}

// browser adds alice's credentials to testbrowser.Browser.
type browser struct {
	*testbrowser.Browser
	e *env
}

func (b *browser) signIn(authorizeURL string) testbrowser.Outcome {
	return b.SignIn(authorizeURL, "alice@contoso.test", b.e.password)
}

// jwks fetches the tenant's published keys, as a resource server would.
func (e *env) jwks() jose.JSONWebKeySet {
	e.t.Helper()
	resp, err := e.srv.Client().Get(e.authority() + "/discovery/v2.0/keys")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		e.t.Fatal(err)
	}
	return set
}

// verifyJWT checks a token independently of Tessera's own code: go-jose
// against the served JWKS, then typ, iss, aud and exp. The nonce of an ID
// token is checked by verifyIDToken.
func (e *env) verifyJWT(raw, wantTyp, wantAud string) (map[string]any, map[string]any) {
	e.t.Helper()
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		e.t.Fatalf("parse JWT: %v", err)
	}
	h := sig.Signatures[0].Protected
	set := e.jwks()
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		e.t.Fatalf("kid %q not in JWKS", h.KeyID)
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		e.t.Fatalf("signature does not verify against JWKS: %v", err)
	}
	if typ, _ := h.ExtraHeaders["typ"].(string); typ != wantTyp {
		e.t.Errorf("typ = %q, want %q", typ, wantTyp)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		e.t.Fatal(err)
	}
	if claims["iss"] != e.authority()+"/v2.0" {
		e.t.Errorf("iss = %v, want %s", claims["iss"], e.authority()+"/v2.0")
	}
	if claims["aud"] != wantAud {
		e.t.Errorf("aud = %v, want %s", claims["aud"], wantAud)
	}
	exp, _ := claims["exp"].(float64)
	if time.Unix(int64(exp), 0).Before(e.clock.Now()) {
		e.t.Errorf("token already expired: exp %v", exp)
	}
	headers := map[string]any{"alg": h.Algorithm, "kid": h.KeyID, "typ": h.ExtraHeaders["typ"]}
	return headers, claims
}

// verifyIDToken is verifyJWT for an ID token issued to aud, plus the
// nonce: the one the authorization request sent, or none when it sent
// none (refresh and device code grants have no request to echo).
func (e *env) verifyIDToken(raw, aud, nonce string) map[string]any {
	e.t.Helper()
	_, claims := e.verifyJWT(raw, "JWT", aud)
	got, present := claims["nonce"]
	if nonce == "" && present || nonce != "" && got != nonce {
		e.t.Errorf("ID token nonce = %v, want %q", got, nonce)
	}
	return claims
}

// clientInfo decodes MSAL's client_info.
func clientInfo(t testing.TB, s string) map[string]string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("client_info is not base64url: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
