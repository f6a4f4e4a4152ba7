package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/store"
)

var (
	csrfInput   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	clientIDRow = regexp.MustCompile(`<dt>Application \(client\) ID</dt><dd><span class="copyable"><code class="value">([^<]+)</code>`)
	secretValue = regexp.MustCompile(`<dt>Value</dt><dd><span class="copyable"><code class="value">([^<]+)</code>`)
)

// portalUser is a browser signed in to the portal.
type portalUser struct {
	*browser
	e    *env
	base string
}

// signInToPortal opens the portal in a new browser and signs in.
func (e *env) signInToPortal(username, password string) (*portalUser, testbrowser.Outcome) {
	e.t.Helper()
	b := e.browser()
	o := b.Get(e.authority() + "/portal/")
	if o.Page != "login" {
		e.t.Fatalf("the portal did not ask to sign in: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	return &portalUser{browser: b, e: e, base: e.authority() + "/portal"}, b.Login(o, username, password)
}

// post submits a portal form with the page's CSRF token.
func (u *portalUser) post(page testbrowser.Outcome, path string, form url.Values) testbrowser.Outcome {
	u.e.t.Helper()
	m := csrfInput.FindStringSubmatch(page.Body)
	if m == nil {
		u.e.t.Fatalf("no CSRF token on %v", page.URL)
	}
	form.Set("csrf", html.UnescapeString(m[1]))
	return u.PostForm(u.base+path, form)
}

func (e *env) globalAdmin() {
	e.t.Helper()
	u, err := e.admin.User(e.t.Context(), e.tenant, e.user.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(e.t.Context(), u, admin.RoleGlobalAdministrator); err != nil {
		e.t.Fatal(err)
	}
}

// The seeds' portal steps over HTTP (the browser walk is in test/e2e):
// sign in, New registration, Register, read the IDs on Overview, add a Web
// redirect URI, add a client secret shown once, and the secret and URI
// work at the authorize and token endpoints.
func TestPortalRegistersAnAppAsTheSeedsDo(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, list := e.signInToPortal("alice@contoso.test", e.password)
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "<h1>App registrations</h1>") || !strings.Contains(list.Body, "Web App") {
		t.Fatalf("after sign-in: %d\n%s", list.Status, list.Body)
	}
	form := u.Get(u.base + "/apps/new")
	o := u.post(form, "/apps/new", url.Values{"name": {"msal-node-app"}, "audience": {"single"}, "platform": {"web"}, "redirect_uri": {""}})
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>msal-node-app</h1>") {
		t.Fatalf("Register: %d\n%s", o.Status, o.Body)
	}
	m := clientIDRow.FindStringSubmatch(o.Body)
	if m == nil || !strings.Contains(o.Body, e.tenant.ID) || !strings.Contains(o.Body, e.authority()+"/oauth2/v2.0/token") {
		t.Fatalf("Overview lacks the IDs or endpoints:\n%s", o.Body)
	}
	clientID := m[1]

	auth := u.Get(u.base + "/apps/" + clientID + "/authentication?platform=web")
	o = u.post(auth, "/apps/"+clientID+"/authentication", url.Values{"action": {"add-redirect"}, "platform": {"web"}, "redirect_uri": {webRedirect}})
	if !strings.Contains(o.Body, "Saved.") || !strings.Contains(o.Body, "<code>http://localhost:8080</code>") {
		t.Fatalf("Add a platform, Web, Save: %d\n%s", o.Status, o.Body)
	}

	creds := u.Get(u.base + "/apps/" + clientID + "/credentials?new=1")
	o = u.post(creds, "/apps/"+clientID+"/credentials", url.Values{"action": {"add-secret"}, "description": {"app secret"}, "expires": {"6"}})
	m = secretValue.FindStringSubmatch(o.Body)
	if o.Status != http.StatusOK || m == nil || !strings.Contains(o.Body, "won't be shown again") {
		t.Fatalf("New client secret, Add: %d\n%s", o.Status, o.Body)
	}
	secret := html.UnescapeString(m[1])
	if again := u.Get(u.base + "/apps/" + clientID + "/credentials"); strings.Contains(again.Body, secret) || !strings.Contains(again.Body, "app secret") {
		t.Error("the secret's value is shown again, or its description is missing")
	}

	// Seed 002 with what the portal showed: authorize, then the token
	// request with the secret.
	code := codeFor(e, e.browser(), clientID, webRedirect, "openid offline_access", nil)
	status, tok, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID},
		"client_secret": {secret}, "code": {code}, "redirect_uri": {webRedirect}})
	if status != http.StatusOK || tok["refresh_token"] == nil {
		t.Fatalf("seed 002's token request with the portal's values: %d %v", status, tok)
	}

	// The three changes made in the portal, and alice's consent when she
	// signed in to the app: all hers, from her address.
	entries, err := e.admin.AuditLog(t.Context(), e.tenant, store.AuditQuery{TargetID: clientID})
	if err != nil || len(entries) != 4 {
		t.Fatalf("the audit log of the app: %+v (%v)", entries, err)
	}
	for _, en := range entries {
		if en.ActorID != e.user.ID || en.ActorName != "alice@contoso.test" || en.ActorAddress == "" {
			t.Errorf("%s: by %s %s from %q", en.Activity, en.ActorID, en.ActorName, en.ActorAddress)
		}
	}
}

// Every form is refused without the session's CSRF token, user input is
// escaped wherever it is shown, a user with no directory role is turned
// away, a session id fixed before sign-in is not the one used after it,
// and signing out ends the session.
func TestPortalDefences(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, list := e.signInToPortal("alice@contoso.test", e.password)
	apps := func() int {
		all, err := e.store.ListApps(t.Context(), e.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	before := apps()
	for _, form := range []url.Values{
		{"name": {"no token"}, "audience": {"single"}},
		{"name": {"wrong token"}, "audience": {"single"}, "csrf": {"forged"}},
	} {
		o := u.PostForm(u.base+"/apps/new", form)
		if o.Status != http.StatusForbidden || apps() != before {
			t.Errorf("a form without the CSRF token: %d, apps %d -> %d", o.Status, before, apps())
		}
	}
	for _, path := range []string{"/apps/" + e.web.ClientID + "/authentication", "/apps/" + e.web.ClientID + "/credentials", "/apps/" + e.web.ClientID + "/delete"} {
		if o := u.PostForm(u.base+path, url.Values{"action": {"add-secret"}, "expires": {"6"}, "confirm": {"Web App"}}); o.Status != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: %d", path, o.Status)
		}
	}

	script := `<script>alert("x")</script>`
	o := u.post(list, "/apps/new", url.Values{"name": {script}, "audience": {"single"}, "platform": {"web"}})
	if o.Status != http.StatusOK || strings.Contains(o.Body, script) || !strings.Contains(o.Body, "&lt;script&gt;") {
		t.Errorf("a name with markup is not escaped on Overview: %d", o.Status)
	}
	if list := u.Get(u.base + "/apps?search=" + url.QueryEscape(script)); strings.Contains(list.Body, script) {
		t.Error("a search with markup is not escaped")
	}
	bad := u.post(list, "/apps/new", url.Values{"name": {"x"}, "audience": {"single"}, "platform": {"web"}, "redirect_uri": {`javascript:alert(1)//"><img src=x>`}})
	if bad.Status != http.StatusBadRequest || strings.Contains(bad.Body, `"><img`) || !strings.Contains(bad.Body, `role="alert"`) {
		t.Errorf("a refused redirect URI: %d, not shown escaped with the reason", bad.Status)
	}
	if h := u.Get(u.base + "/apps").Header; h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		h.Get("Cache-Control") != "no-store" {
		t.Errorf("the portal's headers: %v", h)
	}

	// A user with no directory role.
	if _, _, err := e.admin.CreateUser(t.Context(), e.tenant, admin.UserOptions{Username: "bob@contoso.test", Password: "a long uncommon one"}); err != nil {
		t.Fatal(err)
	}
	_, o = e.signInToPortal("bob@contoso.test", "a long uncommon one")
	if o.Status != http.StatusForbidden || !strings.Contains(o.Body, "directory role") {
		t.Errorf("a user without a directory role: %d\n%s", o.Status, o.Body)
	}

	// Session fixation: a cookie planted before sign-in is replaced.
	b := e.browser()
	portalURL, _ := url.Parse(e.authority() + "/portal/")
	b.Browser.SetCookie(portalURL, &http.Cookie{Name: "tessera_portal", Value: "planted-by-attacker", Path: "/"})
	o = b.Login(b.Get(portalURL.String()), "alice@contoso.test", e.password)
	for _, c := range b.Cookies(portalURL) {
		if c.Name == "tessera_portal" && c.Value == "planted-by-attacker" {
			t.Error("the session id planted before sign-in is the session's")
		}
	}
	if o.Status != http.StatusOK {
		t.Errorf("sign-in after a planted cookie: %d", o.Status)
	}

	// Sign out ends the portal's session and the SSO session: the portal
	// asks to sign in again.
	if out := u.post(list, "/signout", url.Values{}); out.Page != "login" {
		t.Errorf("signing out led to %d %q", out.Status, out.Page)
	}
	if again := u.Get(u.base + "/apps"); again.Page != "login" {
		t.Errorf("after signing out the portal still serves: %d %q", again.Status, again.Page)
	}
}
