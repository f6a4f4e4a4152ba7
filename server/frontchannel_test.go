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

// The portal's Authentication page sets the front-channel logout URL under
// Sign-out, with its label and Entra's hint; a refused URL is shown back
// (escaped) with the reason and changes nothing; an empty field removes it.
func TestPortalFrontChannelLogoutURL(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	path := "/apps/" + e.web.ClientID + "/authentication"
	page := u.Get(u.base + path)
	for _, want := range []string{`<label for="frontchannel_logout_url">Front-channel logout URL</label>`,
		"This is where we send a request to have the application clear the user's session data. This is required for single sign-out to work correctly.",
		`name="action" value="set-frontchannel"`} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("the Authentication page lacks %q:\n%s", want, page.Body)
		}
	}
	set := "https://web.example/logout?a=1&b=2"
	o := u.post(page, path, url.Values{"action": {"set-frontchannel"}, "frontchannel_logout_url": {set}})
	if !strings.Contains(o.Body, "Saved.") || !strings.Contains(o.Body, `value="https://web.example/logout?a=1&amp;b=2"`) {
		t.Fatalf("Save: %d\n%s", o.Status, o.Body)
	}
	hostile := `javascript:alert("x")`
	o = u.post(o, path, url.Values{"action": {"set-frontchannel"}, "frontchannel_logout_url": {hostile}})
	if o.Status != http.StatusBadRequest || !strings.Contains(o.Body, "forbidden scheme") || strings.Contains(o.Body, `alert("x")`) {
		t.Fatalf("a javascript: URL: %d\n%s", o.Status, o.Body)
	}
	if app, err := e.store.GetApp(t.Context(), e.tenant.ID, e.web.ClientID); err != nil || app.FrontChannelLogoutURI != set {
		t.Fatalf("after a refused URL the app holds %q, %v", app.FrontChannelLogoutURI, err)
	}
	o = u.post(o, path, url.Values{"action": {"set-frontchannel"}, "frontchannel_logout_url": {""}})
	if app, err := e.store.GetApp(t.Context(), e.tenant.ID, e.web.ClientID); err != nil || app.FrontChannelLogoutURI != "" || !strings.Contains(o.Body, "Saved.") {
		t.Fatalf("an empty field left %q, %v: %d", app.FrontChannelLogoutURI, err, o.Status)
	}
	// Without the page's CSRF token nothing is saved.
	if o := u.PostForm(u.base+path, url.Values{"action": {"set-frontchannel"}, "frontchannel_logout_url": {set}}); o.Status < 400 {
		t.Errorf("a POST without the CSRF token: %d", o.Status)
	}
	if app, _ := e.store.GetApp(t.Context(), e.tenant.ID, e.web.ClientID); app.FrontChannelLogoutURI != "" {
		t.Errorf("a POST without the CSRF token set %q", app.FrontChannelLogoutURI)
	}
}

// A device approved in a browser session takes part in it, as a code
// does: its app, having a front-channel logout URL, is listed on the
// session, and told when it signs out.
func TestFrontChannelLogoutDeviceApproval(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	fc := "https://tv.example/logout"
	var err error
	if e.native, err = e.admin.Set(ctx, e.native, admin.AppSettings{FrontChannelLogoutURI: &fc}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	signedIn := b.signIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	sid := signedIn.Params.Get("session_state")
	da := e.deviceAuthorize(e.native.ClientID, "openid")
	page := b.Get(da["verification_uri"].(string))
	o := b.Submit(page, map[string]string{"user_code": da["user_code"].(string)})
	if o.Page == "consent" {
		o = b.Consent(o, "accept")
	}
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "signed in") {
		t.Fatalf("device approval: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	sess, err := e.store.GetSessionByID(ctx, e.tenant.ID, sid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sess.FrontChannelClients, []string{e.native.ClientID}) {
		t.Fatalf("the session lists %v, want the device's app only", sess.FrontChannelClients)
	}
	ask := b.Get(e.authority() + "/oauth2/v2.0/logout")
	out := b.Submit(ask, map[string]string{"logout": "confirm"})
	frames := iframeSrc.FindAllStringSubmatch(out.Body, -1)
	if len(frames) != 1 || !strings.HasPrefix(html.UnescapeString(frames[0][1]), fc+"?iss=") || !strings.Contains(frames[0][1], "sid="+sid) {
		t.Fatalf("sign-out page iframes %v, want the device app's:\n%s", frames, out.Body)
	}
	if strings.Contains(out.Body, `id="continue"`) {
		t.Error("a sign-out without a post-logout redirect offers to continue somewhere")
	}
}

// The portal's Sign out ends the same SSO session the logout endpoint
// would, so it tells the same applications: the signed-out page with the
// web app's iframe, then back to the portal.
func TestPortalSignOutCallsFrontChannelLogout(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	fc := "https://web.example/front-channel-logout"
	var err error
	if e.web, err = e.admin.Set(t.Context(), e.web, admin.AppSettings{FrontChannelLogoutURI: &fc}); err != nil {
		t.Fatal(err)
	}
	u, list := e.signInToPortal("alice@contoso.test", e.password)
	if list.Status != http.StatusOK {
		t.Fatalf("portal sign-in: %d", list.Status)
	}
	// The same browser, so the same SSO session, signs in to the web app.
	if o := u.signIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Params.Get("code") == "" {
		t.Fatalf("the web app's sign-in in the portal's session: %v", o.Params)
	}
	o := u.post(u.Get(u.base+"/apps"), "/signout", url.Values{})
	frames := iframeSrc.FindAllStringSubmatch(o.Body, -1)
	if o.Status != http.StatusOK || len(frames) != 1 || !strings.HasPrefix(html.UnescapeString(frames[0][1]), fc+"?") {
		t.Fatalf("the portal's sign-out page: %d, %d iframes\n%s", o.Status, len(frames), o.Body)
	}
	if !strings.Contains(o.Body, `href="/contoso/portal/"`) {
		t.Error("the signed-out page does not continue to the portal")
	}
}

// A native app's post-logout redirect URI has its own scheme; the
// signed-out page that tells the other apps continues to it as it is.
func TestFrontChannelLogoutContinuesToACustomScheme(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	fc := "https://web.example/front-channel-logout"
	var err error
	if e.web, err = e.admin.Set(ctx, e.web, admin.AppSettings{FrontChannelLogoutURI: &fc}); err != nil {
		t.Fatal(err)
	}
	const back = "com.contoso.native:/logout"
	if e.native, err = e.admin.Set(ctx, e.native, admin.AppSettings{PostLogoutRedirectURIs: []string{back}}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if code := codeFor(e, b, e.web.ClientID, webRedirect, "openid", nil); code == "" {
		t.Fatal("no code for the web app")
	}
	verifier, challenge := pkcePair()
	code := codeFor(e, b, e.native.ClientID, "http://localhost", "openid", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, tokens, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID},
		"code": {code}, "redirect_uri": {"http://localhost"}, "code_verifier": {verifier}})
	if status != http.StatusOK {
		t.Fatalf("native redemption: %d %v", status, tokens)
	}
	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)},
		"post_logout_redirect_uri": {back}, "state": {"s-2"}}.Encode())
	next := continueHref.FindStringSubmatch(o.Body)
	if next == nil || html.UnescapeString(next[1]) != back+"?state=s-2" || strings.Contains(o.Body, "ZgotmplZ") {
		t.Fatalf("continue link %v, want the native app's own scheme:\n%s", next, o.Body)
	}
}
