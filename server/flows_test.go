package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/token"
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

func pkcePair() (verifier, challenge string) {
	verifier = token.NewOpaque() + "-verifier"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestPublicClientPKCEAndResponseModes(t *testing.T) {
	for _, mode := range []string{"query", "fragment", "form_post"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			verifier, challenge := pkcePair()
			redirect := "http://localhost:53117"
			o := e.browser().signIn(e.authority() + "/oauth2/v2.0/authorize?" + url.Values{
				"client_id": {e.native.ClientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "response_mode": {mode},
				"scope": {"api://files/Files.Read openid profile offline_access"}, "state": {"st"}, "nonce": {"n-0S6_WzA2Mj"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "client_info": {"1"},
				"x-client-SKU": {"msal.js.node"}, "client-request-id": {"0bd9d2d4-1bcb-4b2e-8b1a-111111111111"},
			}.Encode())
			if o.Params.Get("state") != "st" || o.Params.Get("code") == "" {
				t.Fatalf("callback params: %v", o.Params)
			}
			if mode == "form_post" && o.Page != "form_post" {
				t.Fatalf("form_post answered with %q", o.Page)
			}
			status, resp, _ := e.post(e.tokenURL()+"?client-request-id=abc", url.Values{"client_id": {e.native.ClientID}, "grant_type": {"authorization_code"},
				"code": {o.Params.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}, "client_info": {"1"},
				"scope": {"api://files/Files.Read openid profile offline_access"}, "x-client-VER": {"3.0.0"}, "clidata": {"1"}})
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, resp)
			}
			ci := clientInfo(t, resp["client_info"].(string))
			if ci["uid"] != e.user.ID || ci["utid"] != e.tenant.ID {
				t.Errorf("client_info = %v", ci)
			}
			_, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
			if claims["scp"] != "Files.Read" {
				t.Errorf("scp = %v", claims["scp"])
			}
			_, id := e.verifyJWT(resp["id_token"].(string), "JWT", e.native.ClientID)
			if id["nonce"] != "n-0S6_WzA2Mj" {
				t.Errorf("nonce = %v", id["nonce"])
			}
			// A public client refreshes without a secret.
			status, r2, _ := e.post(e.tokenURL(), url.Values{"client_id": {e.native.ClientID}, "grant_type": {"refresh_token"},
				"refresh_token": {resp["refresh_token"].(string)}, "scope": {"api://files/Files.Read openid profile offline_access"}, "client_info": {"1"}})
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, r2)
			}
			_, id2 := e.verifyJWT(r2["id_token"].(string), "JWT", e.native.ClientID)
			if id2["sub"] != id["sub"] {
				t.Error("sub changed on refresh")
			}
			// golang.org/x/oauth2's default auth style sends HTTP Basic
			// with an empty password: for a public client that is its id.
			basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(e.native.ClientID+":"))}}
			status, r3, _ := e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2["refresh_token"].(string)}}.Encode(), basic)
			if status != http.StatusOK {
				t.Fatalf("refresh with an empty Basic password: %d %v", status, r3)
			}
		})
	}
}

func TestHybridCodeIDToken(t *testing.T) {
	e := newEnv(t)
	o := e.browser().signIn(e.authority() + "/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {e.web.ClientID}, "response_type": {"code id_token"}, "redirect_uri": {webRedirect},
		"scope": {"openid profile"}, "nonce": {"abc"}, "state": {"s"}}.Encode())
	if o.Callback.Fragment == "" {
		t.Fatalf("hybrid response not in the fragment: %v", o.Callback)
	}
	_, id := e.verifyJWT(o.Params.Get("id_token"), "JWT", e.web.ClientID)
	if id["nonce"] != "abc" || id["c_hash"] != halfHash(o.Params.Get("code")) {
		t.Errorf("hybrid ID token: %v", id)
	}
}

func authorizeURL(e *env, clientID, redirect, scope string, extra url.Values) string {
	v := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {scope}, "state": {"xyz"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return e.authority() + "/oauth2/v2.0/authorize?" + v.Encode()
}

func TestSingleSignOnAndPrompt(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	first := b.signIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid offline_access", nil))
	if first.Params.Get("code") == "" {
		t.Fatal("no code")
	}
	// Same browser, same permissions: no page at all.
	o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid offline_access", nil))
	if o.Callback == nil || o.Params.Get("code") == "" {
		t.Fatalf("SSO did not skip login: page %q", o.Page)
	}
	if o.Params.Get("session_state") != first.Params.Get("session_state") {
		t.Error("session_state changed within one session")
	}
	// prompt=login asks again.
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"login"}})); o.Page != "login" {
		t.Errorf("prompt=login: page %q", o.Page)
	}
	// prompt=consent shows consent even though granted.
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"consent"}})); o.Page != "consent" {
		t.Errorf("prompt=consent: page %q", o.Page)
	}
	// prompt=none with a session and a missing consent.
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid email", url.Values{"prompt": {"none"}}))
	if o.Params.Get("error") != "consent_required" || o.Params.Get("state") != "xyz" {
		t.Errorf("prompt=none missing consent: %v", o.Params)
	}
	// prompt=none without a session.
	o = e.browser().Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"none"}}))
	if o.Params.Get("error") != "login_required" {
		t.Errorf("prompt=none without session: %v", o.Params)
	}
	// max_age=0 forces a fresh login.
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"max_age": {"0"}})); o.Page != "login" {
		t.Errorf("max_age=0: page %q", o.Page)
	}
}

func TestLoginFailuresAreGeneric(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.admin.CreateUser(t.Context(), e.tenant, adminUser("bob", "bob's password")); err != nil {
		t.Fatal(err)
	}
	bob, _ := e.admin.User(t.Context(), e.tenant, "bob")
	if _, err := e.admin.SetDisabled(t.Context(), bob, true); err != nil {
		t.Fatal(err)
	}
	var messages []string
	for _, cred := range [][2]string{{"alice@contoso.test", "wrong"}, {"nobody", "whatever1"}, {"bob", "bob's password"}} {
		b := e.browser()
		o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
		o = b.Login(o, cred[0], cred[1])
		// The form again with the message, 200: a 401 would need a
		// WWW-Authenticate challenge, which a form has none to give.
		if o.Page != "login" || o.Status != http.StatusOK || o.Callback != nil {
			t.Fatalf("%s: page %q status %d", cred[0], o.Page, o.Status)
		}
		messages = append(messages, extract(o.Body, `<p class="error" role="alert">`, `</p>`))
	}
	for _, m := range messages {
		if m != "Incorrect username or password." {
			t.Errorf("login error message %q reveals more than it should", m)
		}
	}
}

func extract(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return s
	}
	return s[:j]
}

func TestConsentCancelIsAccessDenied(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	o = b.Login(o, "alice@contoso.test", e.password)
	o = b.Consent(o, "cancel")
	if o.Params.Get("error") != "access_denied" || o.Params.Get("state") != "xyz" || o.Params.Get("code") != "" {
		t.Errorf("cancel: %v", o.Params)
	}
}

func TestLoginFormRejectsForgery(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	page := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	action, fields := testbrowser.ParseForm(t, page.Body)
	fields.Set("username", "alice@contoso.test")
	fields.Set("password", e.password)

	// Wrong CSRF token.
	forged := url.Values{}
	for k, v := range fields {
		forged[k] = v
	}
	forged.Set("csrf", "forged")
	if o := b.PostForm(e.url(action), forged); o.Page != "error" || o.Status != http.StatusForbidden {
		t.Errorf("forged csrf: status %d page %q", o.Status, o.Page)
	}
	// Another browser (no binding cookie) submitting a valid form.
	if o := e.browser().PostForm(e.url(action), fields); o.Page != "error" {
		t.Errorf("other browser: status %d page %q", o.Status, o.Page)
	}
	// The real submission still works.
	if o := b.PostForm(e.url(action), fields); o.Page != "consent" {
		t.Errorf("genuine submission: status %d page %q", o.Status, o.Page)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(e.daemon.ClientID)+":"+url.QueryEscape(e.daemonPW)))}}
	for name, send := range map[string]func() (int, map[string]any, http.Header){
		"post": func() (int, map[string]any, http.Header) {
			return e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
		},
		"basic": func() (int, map[string]any, http.Header) {
			return e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=api%3A%2F%2Ffiles%2F.default", basic)
		},
		// MSAL Go appends the OpenID scopes to every request; Entra ID
		// ignores them for client credentials, and so does Tessera.
		"msal go scopes": func() (int, map[string]any, http.Header) {
			return e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default openid offline_access profile"}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			status, resp, _ := send()
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, resp)
			}
			if _, ok := resp["refresh_token"]; ok {
				t.Error("client credentials returned a refresh token")
			}
			if _, ok := resp["id_token"]; ok {
				t.Error("client credentials returned an ID token")
			}
			if resp["scope"] != "api://files/.default" {
				t.Errorf("scope = %v", resp["scope"])
			}
			_, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
			roles, _ := claims["roles"].([]any)
			if len(roles) != 1 || roles[0] != "Files.ReadAll" {
				t.Errorf("roles = %v", claims["roles"])
			}
			if claims["sub"] != e.daemon.ServicePrincipalID || claims["oid"] != e.daemon.ServicePrincipalID || claims["idtyp"] != "app" {
				t.Errorf("app identity claims: %v", claims)
			}
		})
	}
	// A role permission configured but not granted by an admin: a token
	// without roles, as Entra answers.
	if _, err := e.admin.AddPermission(t.Context(), e.web, "api://files", nil, []string{"Files.ReadAll"}); err != nil {
		t.Fatal(err)
	}
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "scope": {e.api.ClientID + "/.default"}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["roles"] != nil {
		t.Errorf("unconsented roles: %v", claims["roles"])
	}
}

// codeFor signs alice in to client and returns a code for scope.
func codeFor(e *env, b *browser, clientID, redirect, scope string, extra url.Values) string {
	e.t.Helper()
	o := b.signIn(authorizeURL(e, clientID, redirect, scope, extra))
	code := o.Params.Get("code")
	if code == "" {
		e.t.Fatalf("no code: %v", o.Params)
	}
	return code
}

// webTokens runs the web app's code flow and returns the token response.
func webTokens(e *env, scope string) map[string]any {
	e.t.Helper()
	code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, scope, nil)
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}})
	if status != http.StatusOK {
		e.t.Fatalf("code redemption: %d %v", status, resp)
	}
	return resp
}

func (e *env) refresh(rt string, extra url.Values) (int, map[string]any) {
	e.t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "refresh_token": {rt}}
	for k, vs := range extra {
		v[k] = vs
	}
	status, resp, _ := e.post(e.tokenURL(), v)
	return status, resp
}

func wantDead(t *testing.T, status int, resp map[string]any) {
	t.Helper()
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || resp["suberror"] != "bad_token" {
		t.Fatalf("want invalid_grant/bad_token, got %d %v", status, resp)
	}
	if _, ok := resp["access_token"]; ok {
		t.Fatal("an error response carried a token")
	}
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	e := newEnv(t)
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)

	status, r1 := e.refresh(rt0, nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, r1)
	}
	rt1 := r1["refresh_token"].(string)

	// A retry of rt0 inside the grace window: the same successor.
	status, retry := e.refresh(rt0, nil)
	if status != http.StatusOK || retry["refresh_token"] != rt1 {
		t.Fatalf("retry in grace: %d %v (want successor %s)", status, retry, rt1)
	}

	// rt1 rotates normally.
	status, r2 := e.refresh(rt1, nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, r2)
	}
	rt2 := r2["refresh_token"].(string)

	// Replaying rt0 after the window revokes the whole family.
	e.clock.Advance(oauth.DefaultConfig().RefreshGrace + time.Second)
	status, resp := e.refresh(rt0, nil)
	wantDead(t, status, resp)
	status, resp = e.refresh(rt2, nil)
	wantDead(t, status, resp)
}

func TestRefreshRetryAfterSuccessorUsedRevokes(t *testing.T) {
	e := newEnv(t)
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)
	_, r1 := e.refresh(rt0, nil)
	_, r2 := e.refresh(r1["refresh_token"].(string), nil)
	// rt0 again, still inside the grace window, but its successor has
	// moved on: a replay, not a retry.
	status, resp := e.refresh(rt0, nil)
	wantDead(t, status, resp)
	status, resp = e.refresh(r2["refresh_token"].(string), nil)
	wantDead(t, status, resp)
}

func TestConcurrentRefreshOneRotation(t *testing.T) {
	e := newEnv(t)
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)
	const n = 20
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "refresh_token": {rt0}}
			resp, err := e.srv.Client().PostForm(e.tokenURL(), v)
			if err != nil {
				results[i] = "error: " + err.Error()
				return
			}
			defer resp.Body.Close()
			m := decodeJSON(t, resp.Body)
			if resp.StatusCode != http.StatusOK {
				results[i] = fmt.Sprintf("status %d %v", resp.StatusCode, m)
				return
			}
			results[i] = m["refresh_token"].(string)
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r != results[0] {
			t.Fatalf("caller %d got %q, caller 0 got %q: concurrent retries must share one successor", i, r, results[0])
		}
	}
	if status, resp := e.refresh(results[0], nil); status != http.StatusOK {
		t.Fatalf("the shared successor does not work: %d %v", status, resp)
	}
}

func TestCodeReplayRevokesIssuedTokens(t *testing.T) {
	e := newEnv(t)
	code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid offline_access", nil)
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}}
	status, first, _ := e.post(e.tokenURL(), form)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, first)
	}
	status, again, _ := e.post(e.tokenURL(), form)
	if status != http.StatusBadRequest || again["error"] != "invalid_grant" || again["access_token"] != nil {
		t.Fatalf("replay: %d %v", status, again)
	}
	status, resp := e.refresh(first["refresh_token"].(string), nil)
	wantDead(t, status, resp)
}

func TestRefreshEndsWithUserOrConsent(t *testing.T) {
	t.Run("disabled user", func(t *testing.T) {
		e := newEnv(t)
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		if _, err := e.admin.SetDisabled(t.Context(), e.user, true); err != nil {
			t.Fatal(err)
		}
		status, resp := e.refresh(rt, nil)
		wantDead(t, status, resp)
	})
	t.Run("consent removed", func(t *testing.T) {
		e := newEnv(t)
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		if err := e.admin.RevokeConsent(t.Context(), e.web, e.user.ID); err != nil {
			t.Fatal(err)
		}
		status, resp := e.refresh(rt, nil)
		wantDead(t, status, resp)
	})
}

func TestRefreshLifetimes(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		e := newEnv(t)
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		e.clock.Advance(oauth.DefaultConfig().RefreshTokenIdleLifetime + time.Minute)
		status, resp := e.refresh(rt, nil)
		wantDead(t, status, resp)
	})
	t.Run("sliding then absolute", func(t *testing.T) {
		e := newEnv(t)
		idle := 2 * time.Hour
		absolute := 5 * time.Hour
		if _, err := e.admin.Set(t.Context(), e.web, adminLifetimes(absolute, idle)); err != nil {
			t.Fatal(err)
		}
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		for i := 0; i < 4; i++ { // each use slides the idle window
			e.clock.Advance(idle - time.Minute)
			status, resp := e.refresh(rt, nil)
			if i < 2 {
				if status != http.StatusOK {
					t.Fatalf("use %d: %d %v", i, status, resp)
				}
				rt = resp["refresh_token"].(string)
				continue
			}
			// Past the family's absolute lifetime, even a fresh token dies.
			wantDead(t, status, resp)
			return
		}
	})
}

func TestCodeExpires(t *testing.T) {
	e := newEnv(t)
	code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid", nil)
	e.clock.Advance(10*time.Minute + time.Second)
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}})
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" {
		t.Fatalf("%d %v", status, resp)
	}
}

func TestMultiResourceRefreshAndEscalation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	verifier, challenge := pkcePair()
	scope := "api://files/Files.Read openid profile offline_access"
	code := codeFor(e, b, e.native.ClientID, "http://localhost:1234", scope, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID},
		"code": {code}, "redirect_uri": {"http://localhost:1234"}, "code_verifier": {verifier}, "scope": {scope}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, resp)
	}
	rt := resp["refresh_token"].(string)
	refresh := func(scope string) (int, map[string]any) {
		status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.ClientID}, "refresh_token": {rt}, "scope": {scope}})
		if status == http.StatusOK {
			rt = resp["refresh_token"].(string)
		}
		return status, resp
	}
	// Escalation to an unconsented scope of the same resource.
	status, resp = refresh("api://files/Files.Write offline_access")
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || resp["suberror"] != "consent_required" {
		t.Fatalf("escalation: %d %v", status, resp)
	}
	// A second consented resource: the web app's API, consented now.
	codeFor(e, b, e.native.ClientID, "http://localhost:1234", "api://"+e.web.ClientID+"/access_as_user", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, resp = refresh("api://" + e.web.ClientID + "/access_as_user openid offline_access")
	if status != http.StatusOK {
		t.Fatalf("multi-resource refresh: %d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.web.ClientID); claims["scp"] != "access_as_user" {
		t.Errorf("scp = %v", claims["scp"])
	}
	// No scope: the grant of the last redemption.
	status, resp = refresh("")
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, resp)
	}
	if _, ok := resp["id_token"]; !ok {
		t.Error("refresh without scope lost the ID token")
	}
}

func TestPerAppAccessTokenLifetime(t *testing.T) {
	e := newEnv(t)
	d := 15 * time.Minute
	if _, err := e.admin.Set(t.Context(), e.web, adminAccessLifetime(d)); err != nil {
		t.Fatal(err)
	}
	resp := webTokens(e, "openid")
	if resp["expires_in"] != float64(900) {
		t.Errorf("expires_in = %v", resp["expires_in"])
	}
}

func TestLoginHintMaxAgeAndDomainHint(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"login_hint": {"alice@contoso.test"}, "domain_hint": {"contoso.test"}}))
	if o.Page != "login" || !strings.Contains(o.Body, `value="alice@contoso.test"`) {
		t.Fatalf("login_hint does not prefill the username: page %q", o.Page)
	}
	o = b.Login(o, "alice@contoso.test", e.password)
	o = b.Consent(o, "accept")
	signedIn := e.clock.Now()
	e.clock.Advance(10 * time.Minute)

	// Within max_age: no login, and auth_time is the original sign-in.
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"max_age": {"3600"}, "nonce": {"n1"}}))
	if o.Callback == nil {
		t.Fatalf("max_age within the session asked again: page %q", o.Page)
	}
	status, resp, _ := e.post(e.tokenURL(), redeemWeb(e, o.Params.Get("code")))
	if status != 200 {
		t.Fatalf("%d %v", status, resp)
	}
	id := e.verifyIDToken(resp["id_token"].(string), e.web.ClientID, "n1")
	if id["auth_time"] != float64(signedIn.Unix()) {
		t.Errorf("auth_time = %v, want %d", id["auth_time"], signedIn.Unix())
	}
	// Past max_age: a fresh login, and auth_time moves to it.
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"max_age": {"60"}, "nonce": {"n2"}}))
	if o.Page != "login" {
		t.Fatalf("max_age exceeded: page %q", o.Page)
	}
	o = b.Login(o, "alice@contoso.test", e.password)
	if o.Callback == nil {
		t.Fatalf("the fresh login did not return to the client: page %q", o.Page)
	}
	status, resp, _ = e.post(e.tokenURL(), redeemWeb(e, o.Params.Get("code")))
	if status != 200 {
		t.Fatalf("%d %v", status, resp)
	}
	id = e.verifyIDToken(resp["id_token"].(string), e.web.ClientID, "n2")
	if fresh := e.clock.Now(); id["auth_time"] != float64(fresh.Unix()) || !fresh.After(signedIn) {
		t.Errorf("auth_time after the fresh login = %v, want %d (first sign-in %d)", id["auth_time"], fresh.Unix(), signedIn.Unix())
	}
	// prompt=select_account shows the sign-in page too.
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"select_account"}})); o.Page != "login" {
		t.Errorf("prompt=select_account: page %q", o.Page)
	}
}
