package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

// TestFrontChannelLogout: in Chromium, a user signed in to two apps in one
// session (one with a front-channel logout URL) signs out; the sign-out
// page's hidden iframe calls that app's URL with iss and sid, which the
// Content-Security-Policy lets through, then the browser goes on to the
// post-logout redirect. The other app is not called.
func TestFrontChannelLogout(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	other := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E front channel")
	s.CLI(t, "app", "set", "--tenant", s.Tenant, "--app", app.ClientID, "--post-logout-redirect-uri", rp.URL("/signed-out"),
		"--front-channel-logout-url", rp.URL("/front-channel?tab=1"))
	plain := webApp(t, s, other, "E2E no front channel")

	b := browser.For(t)
	code := requireCode(t, signIn(t, b, s, rp, authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"in"}})), "in")
	c := signIn(t, b, s, other, authorizeURL(s, url.Values{"client_id": {plain.ClientID}, "redirect_uri": {other.URL("/cb")}, "state": {"other"}}))
	requireCode(t, c, "other")
	sid := c.Params.Get("session_state")
	idToken, _ := redeem(t, s, app, rp.URL("/cb"), code)["id_token"].(string)
	if idToken == "" || sid == "" {
		t.Fatalf("no id_token (%t) or session_state (%q)", idToken != "", sid)
	}

	b.Navigate(s.Authority() + "/oauth2/v2.0/logout?" + url.Values{
		"id_token_hint": {idToken}, "post_logout_redirect_uri": {rp.URL("/signed-out")}, "state": {"bye"},
	}.Encode())
	fc := rp.mustTake(t, b, "/front-channel")
	if fc.Method != "GET" || fc.Params.Get("iss") != s.Authority()+"/v2.0" || fc.Params.Get("sid") != sid || fc.Params.Get("tab") != "1" {
		t.Errorf("the front channel brought %s %v, want iss %s/v2.0, sid %s and the URL's own tab", fc.Method, fc.Params, s.Authority(), sid)
	}
	if c := rp.mustTake(t, b, "/signed-out"); c.Params.Get("state") != "bye" {
		t.Errorf("the post-logout redirect brought %v, want the state", c.Params)
	}
	if _, ok := other.take("/front-channel", 200*time.Millisecond); ok {
		t.Error("the app without a front-channel logout URL was called")
	}
}
