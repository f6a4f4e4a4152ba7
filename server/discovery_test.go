package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	e := newEnv(t)
	for _, segment := range []string{"contoso", e.tenant.ID} {
		for _, path := range []string{"/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"} {
			resp, err := e.srv.Client().Get(e.url("/" + segment + path))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			base := e.srv.URL + "/" + segment
			want := map[string]string{
				"issuer":                 base + "/v2.0",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"jwks_uri":               base + "/discovery/v2.0/keys",
			}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("%s%s: %s = %v, want %s", segment, path, k, doc[k], v)
				}
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
				t.Errorf("discovery Cache-Control = %q", cc)
			}
		}
	}
	// No part of the token endpoint URL but its last segment says "token":
	// MSAL derives the device code endpoint by replacing it.
	if strings.Count(strings.TrimSuffix(e.tokenURL(), "/token"), "token") != 0 {
		t.Errorf("token endpoint %s contains 'token' elsewhere", e.tokenURL())
	}

	set := e.jwks()
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS publishes %d keys, want the active and the next", len(set.Keys))
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.KeyID == "" || k.Use != "sig" || k.Algorithm != string(jose.RS256) {
			t.Errorf("JWKS key %+v", k)
		}
	}
	// Tokens issued under the tenant id carry that issuer.
	status, resp, _ := e.post(e.url("/"+e.tenant.ID+"/oauth2/v2.0/token"), url.Values{"grant_type": {"client_credentials"},
		"client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	if status != 200 {
		t.Fatalf("%d %v", status, resp)
	}
	sig, err := jose.ParseSignedCompact(resp["access_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	_ = json.Unmarshal(sig.UnsafePayloadWithoutVerification(), &claims)
	if claims["iss"] != e.srv.URL+"/"+e.tenant.ID+"/v2.0" {
		t.Errorf("iss under the tenant id = %v", claims["iss"])
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	page := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	action, fields := testbrowser.ParseForm(t, page.Body)
	fields.Set("username", "alice@contoso.test")
	fields.Set("password", e.password)
	req, _ := http.NewRequest(http.MethodPost, e.url(action), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Replay the browser-binding cookie the authorize step set.
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.Cookies(u) {
		req.AddCookie(c)
	}
	client := *e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "tessera_sso_") {
			found = true
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("SSO cookie attributes: %+v", c)
			}
		}
	}
	if !found {
		t.Fatalf("no SSO cookie set on login (status %d)", resp.StatusCode)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	token := func() string {
		status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"},
			"client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
		if status != 200 {
			t.Fatalf("%d %v", status, resp)
		}
		return resp["access_token"].(string)
	}
	kid := func(raw string) string {
		sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		return sig.Signatures[0].Protected.KeyID
	}
	before := token()
	next := map[string]bool{}
	for _, k := range e.jwks().Keys {
		next[k.KeyID] = true
	}
	delete(next, kid(before))
	if err := e.admin.RotateKeys(t.Context(), e.tenant, 25*time.Hour); err != nil {
		t.Fatal(err)
	}
	after := token()
	if !next[kid(after)] {
		t.Errorf("after rotation tokens are signed by %s, not the key published as next %v", kid(after), next)
	}
	// The retired key stays published, so tokens it signed still verify.
	e.verifyJWT(before, "at+jwt", e.api.ClientID)
	e.verifyJWT(after, "at+jwt", e.api.ClientID)
	if n := len(e.jwks().Keys); n != 3 {
		t.Errorf("JWKS holds %d keys after rotation, want retired + active + next", n)
	}
	// Once the retired key's tokens have all expired it leaves JWKS.
	e.clock.Advance(26 * time.Hour)
	if n := len(e.jwks().Keys); n != 2 {
		t.Errorf("JWKS holds %d keys after the retired key expired", n)
	}
}

// TestDiscoveryAdvertisesWhatWorks: every advertised endpoint answers, and
// every advertised grant type reaches its grant (never
// unsupported_grant_type), while one that is not advertised does not.
func TestDiscoveryAdvertisesWhatWorks(t *testing.T) {
	e := newEnv(t)
	resp, err := e.srv.Client().Get(e.authority() + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	doc := decodeJSON(t, resp.Body)
	resp.Body.Close()
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "device_authorization_endpoint",
		"userinfo_endpoint", "end_session_endpoint", "revocation_endpoint", "introspection_endpoint"} {
		u, _ := doc[k].(string)
		if !strings.HasPrefix(u, e.authority()+"/") {
			t.Errorf("%s = %q", k, u)
			continue
		}
		r, err := e.srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode == http.StatusNotFound || r.StatusCode >= 500 {
			t.Errorf("%s (%s) answers %d", k, u, r.StatusCode)
		}
	}
	grants, _ := doc["grant_types_supported"].([]any)
	if len(grants) != 6 {
		t.Errorf("grant_types_supported = %v", grants)
	}
	for _, g := range append(grants, "password") {
		status, body, _ := e.post(e.tokenURL(), url.Values{"grant_type": {g.(string)}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}})
		unsupported := body["error"] == "unsupported_grant_type"
		if unsupported != (g == "password") || status == 200 {
			t.Errorf("grant %v: %d %v", g, status, body)
		}
	}
	// plain is for the apps an admin allowed it, not for the tenant.
	if pkce, _ := doc["code_challenge_methods_supported"].([]any); len(pkce) != 1 || pkce[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", doc["code_challenge_methods_supported"])
	}
	methods, _ := doc["token_endpoint_auth_methods_supported"].([]any)
	if len(methods) != 4 {
		t.Errorf("token_endpoint_auth_methods_supported = %v", methods)
	}
	// MSAL derives the device code endpoint from the token endpoint.
	if got := strings.Replace(doc["token_endpoint"].(string), "/token", "/devicecode", 1); got != doc["device_authorization_endpoint"] {
		t.Errorf("token endpoint with /devicecode = %s, device endpoint %v", got, doc["device_authorization_endpoint"])
	}
	if got := strings.ReplaceAll(doc["token_endpoint"].(string), "token", "devicecode"); got != doc["device_authorization_endpoint"] {
		t.Errorf("MSAL Go's replacement gives %s", got)
	}
}
