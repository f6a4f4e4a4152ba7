package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// seed002AuthorizeURL is the authorization request of
// ../shared/seeds/002_*.txt, character for character, with the host and
// tenant replaced.
func seed002AuthorizeURL(authority, clientID string) string {
	return authority + "/oauth2/v2.0/authorize?client_id=" + clientID +
		"\n  &response_type=code\n  &redirect_uri=http%3a%2f%2flocalhost%3a8080\n  &response_mode=query\n  &scope=" +
		clientID + "%2f.default&state=12345&sso_reload=true"
}

// seed002TokenBody is the seed's curl -d body, line breaks and indentation
// included, as a user pastes it.
func seed002TokenBody(clientID, code, secret string) string {
	return "client_id=" + clientID + "\n  &scope=" + clientID + "%2f.default openid profile offline_access\n  &code=" + code +
		"\n  &redirect_uri=http%3A%2F%2Flocalhost%3a8080\n  &grant_type=authorization_code\n  &client_secret=" + secret
}

func TestSeed002Sequence(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	// The seed's URL spans lines; a browser strips the white space.
	authorize := strings.NewReplacer("\n", "", " ", "").Replace(seed002AuthorizeURL(e.authority(), e.web.ClientID))
	o := b.Get(authorize)
	o = b.Login(o, "alice@contoso.test", e.password)
	if !strings.Contains(o.Body, "offline_access") || !strings.Contains(o.Body, "Web App") {
		t.Errorf("consent page does not list the permissions by name:\n%s", o.Body)
	}
	o = b.Consent(o, "accept")
	if o.Callback == nil || o.Callback.Host != "localhost:8080" {
		t.Fatalf("not redirected to the client: %+v", o)
	}
	code := o.Params.Get("code")
	if code == "" || o.Params.Get("state") != "12345" || o.Params.Get("session_state") == "" {
		t.Fatalf("callback params = %v", o.Params)
	}

	status, resp, hdr := e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded", seed002TokenBody(e.web.ClientID, code, e.secret), nil)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, resp)
	}
	if hdr.Get("Cache-Control") != "no-store" || hdr.Get("Pragma") != "no-cache" {
		t.Errorf("token response caching headers: %q %q", hdr.Get("Cache-Control"), hdr.Get("Pragma"))
	}
	for _, k := range []string{"token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token", "id_token"} {
		if _, ok := resp[k]; !ok {
			t.Errorf("token response lacks %q: %v", k, resp)
		}
	}
	if resp["token_type"] != "Bearer" || resp["expires_in"] != float64(3600) {
		t.Errorf("token_type %v expires_in %v", resp["token_type"], resp["expires_in"])
	}
	// The resource is named back the way the request named it.
	wantScope := e.web.ClientID + "/access_as_user openid profile offline_access"
	if resp["scope"] != wantScope {
		t.Errorf("scope = %q, want %q", resp["scope"], wantScope)
	}
	at := resp["access_token"].(string)
	hdrs, claims := e.verifyJWT(at, "at+jwt", e.web.ClientID)
	if hdrs["alg"] != "RS256" {
		t.Errorf("alg = %v", hdrs["alg"])
	}
	if claims["scp"] != "access_as_user" || claims["tid"] != e.tenant.ID || claims["oid"] != e.user.ID || claims["sub"] != e.user.ID || claims["azp"] != e.web.ClientID {
		t.Errorf("access token claims: %v", claims)
	}
	_, id := e.verifyJWT(resp["id_token"].(string), "JWT", e.web.ClientID)
	if id["sub"] != e.user.ID || id["preferred_username"] != "alice@contoso.test" || id["name"] != "Alice" || id["tid"] != e.tenant.ID {
		t.Errorf("ID token claims: %v", id)
	}
	if id["at_hash"] != halfHash(at) {
		t.Errorf("at_hash = %v, want %v", id["at_hash"], halfHash(at))
	}

	// Refresh it, as the newcomer's next step.
	rt := resp["refresh_token"].(string)
	status, r2, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {rt}, "scope": {e.web.ClientID + "/.default openid profile offline_access"}})
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, r2)
	}
	if r2["refresh_token"] == rt || r2["refresh_token"] == nil {
		t.Error("refresh token was not rotated")
	}
	_, id2 := e.verifyJWT(r2["id_token"].(string), "JWT", e.web.ClientID)
	if id2["sub"] != id["sub"] {
		t.Errorf("refresh changed sub: %v vs %v", id2["sub"], id["sub"])
	}
}

func halfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// TestSeed003OfflineAccessRule: through the Authgear-style aliases, a
// refresh token comes only when offline_access was asked at authorize.
func TestSeed003OfflineAccessRule(t *testing.T) {
	for _, tc := range []struct {
		authorizeScope string
		wantRefresh    bool
	}{
		{"openid", false},
		{"openid offline_access", true},
		{"offline_access", true},
	} {
		t.Run(tc.authorizeScope, func(t *testing.T) {
			e := newEnv(t)
			o := e.browser().signIn(e.url("/oauth2/authorize?" + url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"},
				"redirect_uri": {webRedirect}, "scope": {tc.authorizeScope}, "state": {"s"}}.Encode()))
			status, resp, _ := e.post(e.url("/oauth2/token"), url.Values{"client_id": {e.web.ClientID}, "client_secret": {e.secret},
				"code": {o.Params.Get("code")}, "grant_type": {"authorization_code"}, "response_type": {"code"},
				"redirect_uri": {webRedirect}, "scope": {"openid offline_access"}})
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, resp)
			}
			_, got := resp["refresh_token"]
			if got != tc.wantRefresh {
				t.Errorf("refresh_token present = %v, want %v (%v)", got, tc.wantRefresh, resp)
			}
			if _, ok := resp["access_token"]; !ok {
				t.Error("no access_token")
			}
			if strings.Contains(tc.authorizeScope, "openid") {
				if _, ok := resp["id_token"]; !ok {
					t.Error("openid granted but no id_token")
				}
			}
		})
	}
}

// TestSeed003UserInfoPath: seed 003's PHP provider is configured with
// $appUrl . '/oauth2/userInfo' (capital I) beside the /oauth2/authorize and
// /oauth2/token aliases; League's GenericProvider GETs it with the access
// token as a Bearer header.
func TestSeed003UserInfoPath(t *testing.T) {
	e := newEnv(t)
	o := e.browser().signIn(e.url("/oauth2/authorize?" + url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"},
		"redirect_uri": {webRedirect}, "scope": {"openid offline_access profile"}, "state": {"s"}}.Encode()))
	status, resp, _ := e.post(e.url("/oauth2/token"), url.Values{"client_id": {e.web.ClientID}, "client_secret": {e.secret},
		"code": {o.Params.Get("code")}, "grant_type": {"authorization_code"}, "redirect_uri": {webRedirect}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, resp)
	}
	for _, path := range []string{"/oauth2/userInfo", "/oauth2/userinfo"} {
		req, _ := http.NewRequest(http.MethodGet, e.url(path), nil)
		req.Header.Set("Authorization", "Bearer "+resp["access_token"].(string))
		req.Header.Set("Accept", "application/json")
		r, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		claims := decodeJSON(t, r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || claims["sub"] != e.user.ID || claims["preferred_username"] != "alice@contoso.test" {
			t.Errorf("GET %s: %d %v", path, r.StatusCode, claims)
		}
	}
}
