package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

// The rest of an app's pages: Token configuration, API permissions (add,
// grant admin consent, remove) and Expose an API, each change in the
// registration and refused input shown on the page.
func TestPortalAppConfiguration(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	ctx := t.Context()
	app := func() store.App {
		a, err := e.store.GetApp(ctx, e.tenant.ID, e.web.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	path := "/apps/" + e.web.ClientID

	page := u.Get(u.base + path + "/tokens")
	o := u.post(page, path+"/tokens", url.Values{"access": {"30m"}, "refresh": {"60d"}, "idle": {""}})
	if !strings.Contains(o.Body, "Saved.") || app().AccessTokenLifetime != 30*time.Minute || !strings.Contains(o.Body, `value="60d"`) {
		t.Errorf("Token configuration: %d, access %s", o.Status, app().AccessTokenLifetime)
	}
	if o := u.post(page, path+"/tokens", url.Values{"access": {"1 fortnight"}}); o.Status != http.StatusBadRequest || !strings.Contains(o.Body, `role="alert"`) {
		t.Errorf("a lifetime that is not one: %d", o.Status)
	}

	page = u.Get(u.base + path + "/permissions?add=1")
	if !strings.Contains(page.Body, "Files API") || !strings.Contains(page.Body, admin.AdminAPIName) {
		t.Fatalf("Request API permissions lists no APIs:\n%s", page.Body)
	}
	choose := u.Get(u.base + path + "/permissions?add=1&api=" + e.api.ClientID)
	o = u.post(choose, path+"/permissions", url.Values{"action": {"add"}, "api": {e.api.ClientID}, "permission": {"scope:Files.Read", "role:Files.ReadAll"}})
	if !strings.Contains(o.Body, "Not granted for contoso") || len(app().Permissions) != 2 {
		t.Fatalf("Add permissions: %d, %d permissions\n%s", o.Status, len(app().Permissions), o.Body)
	}
	o = u.post(o, path+"/permissions", url.Values{"action": {"consent"}})
	if !strings.Contains(o.Body, "Granted for contoso") || strings.Contains(o.Body, "Not granted for contoso") {
		t.Errorf("Grant admin consent:\n%s", o.Body)
	}
	o = u.post(o, path+"/permissions", url.Values{"action": {"remove"}, "api": {e.api.ClientID}, "permission": {"role:Files.ReadAll"}})
	if len(app().Permissions) != 1 {
		t.Errorf("Remove permission left %v", app().Permissions)
	}

	page = u.Get(u.base + path + "/expose")
	o = u.post(page, path+"/expose", url.Values{"action": {"uri"}, "uri": {"api://web-app"}})
	o = u.post(o, path+"/expose", url.Values{"action": {"add-scope"}, "scope": {"Notes.Read"}})
	o = u.post(o, path+"/expose", url.Values{"action": {"add-role"}, "role": {"Notes.ReadAll"}})
	if a := app(); a.IdentifierURI != "api://web-app" || !slices.Contains(a.Scopes, "Notes.Read") || !slices.Contains(a.Roles, "Notes.ReadAll") {
		t.Errorf("Expose an API: %s %v %v", a.IdentifierURI, a.Scopes, a.Roles)
	}
	if o := u.post(o, path+"/expose", url.Values{"action": {"add-scope"}, "scope": {"openid"}}); o.Status != http.StatusBadRequest || !strings.Contains(o.Body, "reserved") {
		t.Errorf("a reserved scope name: %d", o.Status)
	}
}

// Expose an API's "Add a scope" takes Entra's fields, under their labels:
// who can consent and the admin and user consent texts, which the scope
// table then shows (escaped) and the scope's Edit form changes.
func TestPortalScopeDetails(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	ctx := t.Context()
	path := "/apps/" + e.web.ClientID
	details := func(value string) store.ScopeDetail {
		a, err := e.store.GetApp(ctx, e.tenant.ID, e.web.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(a.Scopes, value) {
			t.Fatalf("the app does not expose %s: %v", value, a.Scopes)
		}
		return a.ScopeDetails[value]
	}

	form := u.Get(u.base + path + "/expose?add=scope")
	for _, label := range []string{`<label for="scope">Scope name</label>`, `<legend>Who can consent?</legend>`,
		`value="User" checked> Admins and users</label>`, `value="Admin"> Admins only</label>`,
		`<label for="admin_name">Admin consent display name</label>`, `<label for="admin_description">Admin consent description</label>`,
		`<label for="user_name">User consent display name</label>`, `<label for="user_description">User consent description</label>`} {
		if !strings.Contains(form.Body, label) {
			t.Errorf("the Add a scope form has no %s", label)
		}
	}
	if forms, tokens := strings.Count(form.Body, "<form "), len(csrfInput.FindAllString(form.Body, -1)); forms != tokens {
		t.Errorf("%d forms, %d CSRF tokens", forms, tokens)
	}

	o := u.post(form, path+"/expose", url.Values{"action": {"add-scope"}, "scope": {"Notes.Write"}, "consent": {"Admin"},
		"admin_name": {"Write all notes"}, "admin_description": {"Lets the app write\r\nevery note."},
		"user_name": {"Write your <notes>"}, "user_description": {"Lets the app change the notes you own."}})
	want := store.ScopeDetail{Type: store.ConsentByAdmin, AdminConsentDisplayName: "Write all notes",
		AdminConsentDescription: "Lets the app write every note.", UserConsentDisplayName: "Write your <notes>",
		UserConsentDescription: "Lets the app change the notes you own."}
	if got := details("Notes.Write"); got != want {
		t.Errorf("stored %+v, want %+v", got, want)
	}
	if !strings.Contains(o.Body, "Saved.") || !strings.Contains(o.Body, "<td>Admins only</td>") || !strings.Contains(o.Body, "<td>Write all notes</td>") ||
		!strings.Contains(o.Body, "Write your &lt;notes&gt;") || strings.Contains(o.Body, "<notes>") {
		t.Errorf("the scope table:\n%s", o.Body)
	}

	if o := u.post(o, path+"/expose", url.Values{"action": {"add-scope"}, "scope": {"Notes.Write"}}); o.Status != http.StatusBadRequest || !strings.Contains(o.Body, "edit it instead") {
		t.Errorf("adding a scope twice: %d", o.Status)
	}
	refused := u.post(o, path+"/expose", url.Values{"action": {"add-scope"}, "scope": {"Notes.Read"}, "user_name": {"Read \u202eseton"}, "admin_name": {"Kept"}})
	if refused.Status != http.StatusBadRequest || !strings.Contains(refused.Body, "bidirectional") || !strings.Contains(refused.Body, `value="Kept"`) {
		t.Errorf("an invisible character in a display name: %d\n%s", refused.Status, refused.Body)
	}

	edit := u.Get(u.base + path + "/expose?scope=Notes.Write")
	if !strings.Contains(edit.Body, "Edit a scope") || !strings.Contains(edit.Body, `value="Write all notes"`) || !strings.Contains(edit.Body, `value="Admin" checked`) {
		t.Errorf("the Edit form:\n%s", edit.Body)
	}
	// Request API permissions says which scopes need an admin's consent.
	choose := u.Get(u.base + path + "/permissions?add=1&api=" + e.web.ClientID)
	if !strings.Contains(choose.Body, "Notes.Write · Write all notes <span class=\"tag\">Admin consent required</span>") {
		t.Errorf("Request API permissions does not say Notes.Write needs an admin:\n%s", choose.Body)
	}

	u.post(edit, path+"/expose", url.Values{"action": {"edit-scope"}, "scope": {"Notes.Write"}, "consent": {"User"}, "user_name": {"Write your notes"}})
	if got := details("Notes.Write"); got != (store.ScopeDetail{Type: store.ConsentByUser, UserConsentDisplayName: "Write your notes"}) {
		t.Errorf("after Edit: %+v", got)
	}
}

// Users in the portal: new user with a password shown once, disable,
// reset password, directory roles, delete; and the logs show what
// happened.
func TestPortalUsersAndLogs(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	ctx := t.Context()

	form := u.Get(u.base + "/users/new")
	o := u.post(form, "/users/new", url.Values{"username": {"Bob@Contoso.test"}, "name": {"Bob"}, "email": {""}})
	pw := regexp.MustCompile(`<dt>Password</dt><dd><span class="copyable"><code class="value">([^<]+)</code>`).FindStringSubmatch(o.Body)
	if pw == nil || !strings.Contains(o.Body, "bob@contoso.test") {
		t.Fatalf("New user shows no password:\n%s", o.Body)
	}
	bob, err := e.admin.User(ctx, e.tenant, "bob@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	path := "/users/" + bob.ID
	if got := e.browser().SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "bob@contoso.test", html.UnescapeString(pw[1])); got.Params.Get("code") == "" {
		t.Error("the password the portal showed does not sign bob in")
	}
	o = u.post(o, path, url.Values{"action": {"disable"}})
	if !strings.Contains(o.Body, "<dd>Disabled</dd>") {
		t.Errorf("Disable account:\n%s", o.Body)
	}
	o = u.post(o, path, url.Values{"action": {"reset-password"}})
	if again := regexp.MustCompile(`<code class="value">([^<]+)</code>`).FindAllStringSubmatch(o.Body, -1); len(again) < 2 || again[0][1] == pw[1] {
		t.Errorf("Reset password shows no new password")
	}
	o = u.post(o, path, url.Values{"action": {"add-role"}, "role": {admin.RoleReportsReader}})
	if roles, _ := e.admin.RoleAssignments(ctx, e.tenant, bob.ID); len(roles) != 1 || !strings.Contains(o.Body, admin.RoleReportsReader) {
		t.Errorf("Add assignment: %v", roles)
	}
	if o := u.post(o, path, url.Values{"action": {"delete"}, "confirm": {"bob"}}); o.Status != http.StatusBadRequest {
		t.Errorf("delete confirmed with the wrong name: %d", o.Status)
	}
	o = u.post(o, path, url.Values{"action": {"delete"}, "confirm": {"bob@contoso.test"}})
	if _, err := e.admin.User(ctx, e.tenant, bob.ID); err == nil || !strings.Contains(o.Body, "<h1>Users</h1>") {
		t.Errorf("Delete: the user is still there (%v)", err)
	}

	audit := u.Get(u.base + "/audit")
	for _, activity := range []string{"Add user", "Disable account", "Reset user password", "Add member to role", "Delete user"} {
		if !strings.Contains(audit.Body, activity) {
			t.Errorf("the audit log page lacks %q", activity)
		}
	}
	if failures := u.Get(u.base + "/audit?result=failure"); strings.Contains(failures.Body, "Add user") {
		t.Error("the result filter lets successes through")
	}
	if signins := u.Get(u.base + "/signins"); !strings.Contains(signins.Body, "alice@contoso.test") || !strings.Contains(signins.Body, "Tessera Portal") {
		t.Errorf("the sign-in log page lacks alice's sign-in to the portal:\n%s", signins.Body)
	}
}

// The Consents page lists every user's grants and the admin's, and
// revoking a user's ends the app's refresh tokens for them.
func TestPortalConsents(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	tokens := webTokens(e, "openid offline_access")
	if _, err := e.admin.GrantAdminConsent(t.Context(), e.web); err != nil {
		t.Fatal(err)
	}
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	path := "/apps/" + e.web.ClientID + "/consents"
	page := u.Get(u.base + path)
	if !strings.Contains(page.Body, "All users (admin consent)") || !strings.Contains(page.Body, "<h2>alice@contoso.test</h2>") {
		t.Fatalf("Consents:\n%s", page.Body)
	}
	o := u.post(page, path, url.Values{"action": {"revoke"}, "principal": {e.user.ID}})
	if strings.Contains(o.Body, "<h2>alice@contoso.test</h2>") || !strings.Contains(o.Body, "All users (admin consent)") {
		t.Errorf("after revoking alice's consent:\n%s", o.Body)
	}
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {tokens["refresh_token"].(string)}})
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" {
		t.Errorf("alice's refresh token after her consent was revoked: %d %v", status, resp)
	}
}

// Authentication shows each platform's redirect URIs apart; a confidential
// app gets a Single-page application platform beside Web, a public app no
// Web platform, and one URI is on one platform only.
func TestPortalPlatforms(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	path := "/apps/" + e.web.ClientID + "/authentication"
	auth := u.Get(u.base + path + "?platform=spa")
	o := u.post(auth, path, url.Values{"action": {"add-redirect"}, "platform": {"spa"}, "redirect_uri": {"https://spa.contoso.test/"}})
	if !strings.Contains(o.Body, "Saved.") || !strings.Contains(o.Body, `<h3 id="platform-spa">Single-page application</h3>`) ||
		!strings.Contains(o.Body, "<code>https://spa.contoso.test/</code>") || !strings.Contains(o.Body, `<h3 id="platform-web">Web</h3>`) {
		t.Fatalf("Add a platform, Single-page application, Save: %d\n%s", o.Status, o.Body)
	}
	o = u.post(auth, path, url.Values{"action": {"add-redirect"}, "platform": {"spa"}, "redirect_uri": {webRedirect}})
	if o.Status != http.StatusBadRequest || !strings.Contains(o.Body, "another platform") {
		t.Errorf("one URI on two platforms: %d", o.Status)
	}
	native := "/apps/" + e.native.ClientID + "/authentication"
	o = u.post(u.Get(u.base+native+"?platform=web"), native, url.Values{"action": {"add-redirect"}, "platform": {"web"}, "redirect_uri": {"https://native.test/cb"}})
	if o.Status != http.StatusBadRequest || !strings.Contains(o.Body, "no Web platform") {
		t.Errorf("a Web redirect URI on a public client: %d", o.Status)
	}
	o = u.post(u.Get(u.base+path), path, url.Values{"action": {"public-flows"}, "allow_public_client_flows": {"yes"}})
	if !strings.Contains(o.Body, "Saved.") || !strings.Contains(o.Body, `value="yes" aria-describedby="public-flows-hint" checked`) {
		t.Errorf("Allow public client flows, Yes, Save: %d\n%s", o.Status, o.Body)
	}
	if app := e.mustApp(e.web.ClientID); len(app.SPARedirectURIs) != 1 || len(app.RedirectURIs) != 1 || !app.AllowPublicClientFlows {
		t.Errorf("the app after the portal's changes: web %v spa %v public flows %v", app.RedirectURIs, app.SPARedirectURIs, app.AllowPublicClientFlows)
	}
}
