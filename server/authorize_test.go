package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/token"
)

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

// TestSignInAgainRenewsSession: signing in again in the same browser
// (prompt=login) renews its session in place under a new cookie: one
// session in the user's list, the same sid in the tokens, auth_time moved,
// and the old cookie worth nothing. Another user signing in on that
// browser gets a session of their own.
func TestSignInAgainRenewsSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	first := e.redeemWeb(b.signIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)).Params.Get("code"))
	_, firstID := e.verifyJWT(first["id_token"].(string), "JWT", e.web.ClientID)
	u, err := url.Parse(e.authority())
	if err != nil {
		t.Fatal(err)
	}
	ssoCookie := func(b *browser) *http.Cookie {
		for _, c := range b.Cookies(u) {
			if strings.HasPrefix(c.Name, "tessera_sso_") {
				return c
			}
		}
		t.Fatal("no session cookie")
		return nil
	}
	oldCookie := ssoCookie(b)

	e.clock.Advance(10 * time.Minute)
	o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"login"}}))
	if o.Page != "login" {
		t.Fatalf("prompt=login: page %q", o.Page)
	}
	again := e.redeemWeb(b.Login(o, "alice@contoso.test", e.password).Params.Get("code"))
	_, againID := e.verifyJWT(again["id_token"].(string), "JWT", e.web.ClientID)
	if againID["sid"] == nil || againID["sid"] != firstID["sid"] {
		t.Errorf("sid after signing in again: %v, before %v", againID["sid"], firstID["sid"])
	}
	if againID["auth_time"] != float64(e.clock.Now().Unix()) {
		t.Errorf("auth_time after signing in again: %v, want now (%d)", againID["auth_time"], e.clock.Now().Unix())
	}
	if got, err := e.store.ListUserSessions(t.Context(), e.tenant.ID, e.user.ID, e.clock.Now()); err != nil || len(got) != 1 {
		t.Errorf("alice's sessions after signing in again: %d (%v), want 1", len(got), err)
	}
	if c := ssoCookie(b); c.Value == oldCookie.Value {
		t.Error("signing in again kept the session cookie's secret")
	}
	// Renewed for a full lifetime: it outlives the first sign-in's expiry.
	e.clock.Advance(oauth.DefaultConfig().SessionLifetime - 5*time.Minute)
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"none"}})); o.Params.Get("code") == "" {
		t.Errorf("the renewed session, past the first sign-in's expiry: %v", o.Params)
	}
	// The old cookie, replayed from elsewhere, is no session any more.
	thief := e.browser()
	thief.SetCookie(u, &http.Cookie{Name: oldCookie.Name, Value: oldCookie.Value, Path: "/"})
	if o := thief.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"none"}})); o.Params.Get("error") != "login_required" {
		t.Errorf("the cookie from before signing in again: %v", o.Params)
	}

	// Bob on alice's browser: a session of his own, alice's left as it is.
	bob, _, err := e.admin.CreateUser(t.Context(), e.tenant, admin.UserOptions{Username: "bob@contoso.test", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"prompt": {"login"}}))
	bobCode := b.Login(o, "bob@contoso.test", "bob's long password")
	if bobCode.Page == "consent" {
		bobCode = b.Consent(bobCode, "accept")
	}
	if bobCode.Params.Get("code") == "" {
		t.Fatalf("bob's sign-in: page %q %v", bobCode.Page, bobCode.Params)
	}
	for _, id := range []string{e.user.ID, bob.ID} {
		if got, err := e.store.ListUserSessions(t.Context(), e.tenant.ID, id, e.clock.Now()); err != nil || len(got) != 1 {
			t.Errorf("%s's sessions after bob signed in on alice's browser: %d (%v), want 1", id, len(got), err)
		}
	}
}
