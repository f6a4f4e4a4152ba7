package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
)

// signedInWithTokens is a browser signed in to the web app, with the tokens
// of that sign-in, and the web app set to come back to /bye.
func signedInWithTokens(t *testing.T, e *env) (*browser, map[string]any) {
	t.Helper()
	var err error
	e.web, err = e.admin.Set(t.Context(), e.web, admin.AppSettings{PostLogoutRedirectURIs: []string{"http://localhost:8080/bye"}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	code := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
	status, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, code))
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, tokens)
	}
	return b, tokens
}

// stillSignedIn checks that the browser's session and the refresh token
// it issued both survived.
func stillSignedIn(t *testing.T, e *env, b *browser, tokens map[string]any) map[string]any {
	t.Helper()
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Callback == nil {
		t.Fatalf("the session ended: page %q", o.Page)
	}
	status, resp := e.refresh(tokens["refresh_token"].(string), nil)
	if status != http.StatusOK {
		t.Fatalf("the refresh token ended: %d %v", status, resp)
	}
	return resp
}

// A logout link without id_token_hint, followed from anywhere, asks the user
// instead of ending the session and revoking the refresh tokens at once
// (OpenID Connect RP-Initiated Logout 1.0 §2, §6).
func TestLogoutWithoutHintAsks(t *testing.T) {
	e := newEnv(t)
	b, tokens := signedInWithTokens(t, e)
	link := e.authority() + "/oauth2/v2.0/logout?" + url.Values{"client_id": {e.web.ClientID},
		"post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"s-1"}}.Encode()

	ask := b.Get(link)
	if ask.Page != "logout" || ask.Status != http.StatusOK || !strings.Contains(ask.Body, "Web App") || !strings.Contains(ask.Body, "alice@contoso.test") {
		t.Fatalf("logout link without a hint: %d %q\n%s", ask.Status, ask.Page, ask.Body)
	}
	tokens = stillSignedIn(t, e, b, tokens)

	// A cross-site form posting the same request, without the page's
	// token, is asked again too.
	if o := b.PostForm(e.authority()+"/oauth2/v2.0/logout", url.Values{"client_id": {e.web.ClientID}, "logout": {"confirm"}}); o.Page != "logout" {
		t.Fatalf("a forged POST: %d %q", o.Status, o.Page)
	}
	// A forged token is refused, headed as a failed sign-out.
	forged := b.PostForm(e.authority()+"/oauth2/v2.0/logout", url.Values{"client_id": {e.web.ClientID}, "logout": {"confirm"}, "csrf": {"forged"}})
	if forged.Status != http.StatusForbidden || forged.Page != "error" || !strings.Contains(forged.Body, "We couldn't sign you out") {
		t.Fatalf("a forged confirmation: %d %q\n%s", forged.Status, forged.Page, forged.Body)
	}
	// Another browser's page does not confirm for this one.
	other, _ := signedInWithTokens(t, e)
	theirs := other.Get(link)
	if o := b.Submit(theirs, map[string]string{"logout": "confirm"}); o.Status != http.StatusForbidden {
		t.Fatalf("another browser's confirmation: %d %q", o.Status, o.Page)
	}
	tokens = stillSignedIn(t, e, b, tokens)

	// Staying signed in changes nothing.
	if o := b.Submit(ask, map[string]string{"logout": "cancel"}); !strings.Contains(o.Body, "still signed in") || o.Callback != nil {
		t.Fatalf("cancel: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	tokens = stillSignedIn(t, e, b, tokens)

	// Confirming signs out and goes where the application asked.
	done := b.Submit(b.Get(link), map[string]string{"logout": "confirm"})
	if done.Callback == nil || done.Callback.Path != "/bye" || done.Params.Get("state") != "s-1" {
		t.Fatalf("confirmed logout: %d %q %v", done.Status, done.Page, done.Callback)
	}
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Page != "login" {
		t.Errorf("after a confirmed logout: page %q", o.Page)
	}
	status, resp := e.refresh(tokens["refresh_token"].(string), nil)
	wantDead(t, status, resp)
}

// With an id_token_hint of the session's user the application proved it
// took part in the session: no question. A hint of another user, even a
// valid one, does not spare the question.
func TestLogoutWithHint(t *testing.T) {
	e := newEnv(t)
	b, tokens := signedInWithTokens(t, e)

	if _, _, err := e.admin.CreateUser(t.Context(), e.tenant, adminUser("bob@contoso.test", "bob's long passphrase")); err != nil {
		t.Fatal(err)
	}
	bob := e.browser()
	bobCode := bob.SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "bob@contoso.test", "bob's long passphrase")
	_, bobTokens, _ := e.post(e.tokenURL(), redeemWeb(e, bobCode.Params.Get("code")))
	if o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {bobTokens["id_token"].(string)}}.Encode()); o.Page != "logout" {
		t.Fatalf("another user's hint signed out without asking: %d %q", o.Status, o.Page)
	}
	tokens = stillSignedIn(t, e, b, tokens)

	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)},
		"post_logout_redirect_uri": {"http://localhost:8080/bye"}}.Encode())
	if o.Callback == nil || o.Callback.Path != "/bye" {
		t.Fatalf("logout with the session user's hint: %d %q", o.Status, o.Page)
	}
	status, resp := e.refresh(tokens["refresh_token"].(string), nil)
	wantDead(t, status, resp)
}

// A browser with no session has nothing to lose: it goes where the
// application asked, to a registered URI only.
func TestLogoutWithoutSession(t *testing.T) {
	e := newEnv(t)
	signedInWithTokens(t, e)
	b := e.browser()
	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"client_id": {e.web.ClientID},
		"post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"s-2"}}.Encode())
	if o.Callback == nil || o.Callback.Path != "/bye" || o.Params.Get("state") != "s-2" {
		t.Fatalf("logout without a session: %d %q", o.Status, o.Page)
	}
	if o := b.Get(e.authority() + "/oauth2/v2.0/logout"); !strings.Contains(o.Body, "You signed out") {
		t.Errorf("plain logout without a session: %d %q", o.Status, o.Page)
	}
}

// A hint of the same user from an earlier session is no proof for this
// one: the user is asked. A logout request that cannot be read is refused
// on a page headed as a failed sign-out.
func TestLogoutHintOfAnotherSessionAndMalformedRequest(t *testing.T) {
	e := newEnv(t)
	b, tokens := signedInWithTokens(t, e)
	// Sign out (with the hint), then sign in again: a new session.
	if o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)}}.Encode()); !strings.Contains(o.Body, "You signed out") {
		t.Fatalf("first logout: %d %q", o.Status, o.Page)
	}
	codeFor(e, b, e.web.ClientID, webRedirect, "openid", nil)
	if o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)}}.Encode()); o.Page != "logout" {
		t.Fatalf("a hint of an earlier session signed out without asking: %d %q", o.Status, o.Page)
	}
	o := b.Get(e.authority() + "/oauth2/v2.0/logout?state=a&state=b")
	if o.Status != http.StatusBadRequest || !strings.Contains(o.Body, "We couldn't sign you out") {
		t.Fatalf("a malformed logout request: %d %q\n%s", o.Status, o.Page, o.Body)
	}
}

func TestLogout(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(map[bool]string{false: "refresh ends", true: "refresh kept"}[keep], func(t *testing.T) {
			e := newEnv(t)
			var err error
			e.web, err = e.admin.Set(t.Context(), e.web, admin.AppSettings{PostLogoutRedirectURIs: []string{"http://localhost:8080/bye"}, LogoutKeepsRefreshTokens: &keep})
			if err != nil {
				t.Fatal(err)
			}
			b := e.browser()
			code := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
			_, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, code))
			o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)},
				"post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"bye-state"}}.Encode())
			if o.Callback == nil || o.Callback.Path != "/bye" || o.Params.Get("state") != "bye-state" {
				t.Fatalf("logout redirect: %+v", o)
			}
			// The session is gone: authorize asks for a login again.
			if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Page != "login" {
				t.Errorf("after logout: page %q", o.Page)
			}
			status, resp := e.refresh(tokens["refresh_token"].(string), nil)
			if keep && status != 200 {
				t.Errorf("refresh after logout with keep: %d %v", status, resp)
			}
			if !keep {
				wantDead(t, status, resp)
			}
		})
	}
}

func TestLogoutRefusesUnregisteredRedirect(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "alice@contoso.test", e.password)
	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"client_id": {e.web.ClientID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if o.Callback != nil || o.Page != "error" || !strings.Contains(o.Body, "We couldn't sign you out") || !strings.Contains(o.Body, "<title>Sign-out error") {
		t.Fatalf("unregistered post_logout_redirect_uri: %+v", o)
	}
	// The session survives a refused logout.
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Callback == nil {
		t.Errorf("session ended by a refused logout: page %q", o.Page)
	}
	// Logout without parameters asks, then shows the signed-out page.
	o = b.Get(e.authority() + "/oauth2/v2.0/logout")
	if o.Page != "logout" {
		t.Fatalf("plain logout does not ask: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	if o := b.Submit(o, map[string]string{"logout": "confirm"}); !strings.Contains(o.Body, "You signed out") {
		t.Errorf("plain logout page:\n%s", o.Body)
	}
}
