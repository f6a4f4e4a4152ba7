package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
)

var (
	iframeSrc    = regexp.MustCompile(`<iframe src="([^"]*)"`)
	continueHref = regexp.MustCompile(`<a id="continue" href="([^"]*)"`)
)

// Signed in to two apps in one session, one of them with a front-channel
// logout URL: signing out shows exactly that app's iframe, with the
// issuer and the session's sid (the one in its ID token), framed under a
// Content-Security-Policy that allows its origin and no other, then goes
// on to the post-logout redirect. The other app's sign-in wrote nothing
// on the session.
func TestFrontChannelLogout(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	fc := "https://web.example:8443/front-channel-logout?tab=1"
	var err error
	e.web, err = e.admin.Set(ctx, e.web, admin.AppSettings{FrontChannelLogoutURI: &fc,
		PostLogoutRedirectURIs: []string{"http://localhost:8080/bye"}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	status, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, codeFor(e, b, e.web.ClientID, webRedirect, "openid", nil)))
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, tokens)
	}
	native := b.signIn(authorizeURL(e, e.native.ClientID, "http://localhost", "openid", url.Values{
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}))
	sid := native.Params.Get("session_state")
	if sid == "" || native.Params.Get("code") == "" {
		t.Fatalf("native app's sign-in: %v", native.Params)
	}
	sess, err := e.store.GetSessionByID(ctx, e.tenant.ID, sid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sess.FrontChannelClients, []string{e.web.ClientID}) {
		t.Fatalf("the session lists %v, want only the web app", sess.FrontChannelClients)
	}

	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)},
		"post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"s-1"}}.Encode())
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "You signed out") {
		t.Fatalf("logout: %d %q %v\n%s", o.Status, o.Page, o.Callback, o.Body)
	}
	frames := iframeSrc.FindAllStringSubmatch(o.Body, -1)
	if len(frames) != 1 {
		t.Fatalf("%d iframes, want 1:\n%s", len(frames), o.Body)
	}
	src, err := url.Parse(html.UnescapeString(frames[0][1]))
	if err != nil {
		t.Fatal(err)
	}
	q := src.Query()
	if src.Scheme+"://"+src.Host+src.Path != "https://web.example:8443/front-channel-logout" ||
		q.Get("tab") != "1" || q.Get("iss") != e.authority()+"/v2.0" || q.Get("sid") != sid || len(q) != 3 {
		t.Errorf("iframe %s: want the web app's URL with its tab, iss %s/v2.0 and sid %s", src, e.authority(), sid)
	}
	if _, claims := e.verifyJWT(tokens["id_token"].(string), "JWT", e.web.ClientID); claims["sid"] != sid {
		t.Errorf("the ID token's sid is %v, the front channel's %s", claims["sid"], sid)
	}
	csp := o.Header.Get("Content-Security-Policy")
	var frameSrc []string
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "frame-src" {
			frameSrc = f[1:]
		}
	}
	if !slices.Equal(frameSrc, []string{"https://web.example:8443"}) || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q: want frame-src of the web app's origin alone", csp)
	}
	next := continueHref.FindStringSubmatch(o.Body)
	if next == nil || html.UnescapeString(next[1]) != "http://localhost:8080/bye?state=s-1" {
		t.Errorf("continue link %v, want the post-logout redirect with state", next)
	}
	if !strings.Contains(o.Body, `http-equiv="refresh"`) || !strings.Contains(o.Body, "<script nonce=") {
		t.Error("the page does not move on by itself")
	}
	if _, err := e.store.GetSessionByID(ctx, e.tenant.ID, sid); err == nil {
		t.Error("the session outlived the logout")
	}

	// A session that signed in to no app with a URL signs out as before:
	// straight to the redirect.
	b = e.browser()
	status, tokens, _ = e.post(e.tokenURL(), redeemWeb(e, codeFor(e, b, e.web.ClientID, webRedirect, "openid", nil)))
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, tokens)
	}
	none := ""
	if e.web, err = e.admin.Set(ctx, e.web, admin.AppSettings{FrontChannelLogoutURI: &none}); err != nil {
		t.Fatal(err)
	}
	o = b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)},
		"post_logout_redirect_uri": {"http://localhost:8080/bye"}}.Encode())
	if o.Callback == nil || o.Callback.Path != "/bye" {
		t.Fatalf("logout after the URL was removed: %d %q\n%s", o.Status, o.Page, o.Body)
	}
}

// Discovery says front-channel logout is done, with iss and sid (OpenID
// Connect Front-Channel Logout 1.0 §3).
func TestDiscoveryFrontChannelLogout(t *testing.T) {
	e := newEnv(t)
	doc := e.discoveryAt(e.authority())
	for _, k := range []string{"frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
		if got, ok := doc[k].(bool); !ok || !got {
			t.Errorf("%s = %v, want true", k, doc[k])
		}
	}
}
