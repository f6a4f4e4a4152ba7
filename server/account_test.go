package server_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/store"
)

// accountUser is a browser signed in to the account page.
type accountUser struct {
	*browser
	e    *env
	base string
	page testbrowser.Outcome // the last account page shown
}

// signInToAccount opens the account page in b and signs in there.
func (e *env) signInToAccount(b *browser, username, password string) *accountUser {
	e.t.Helper()
	o := b.Get(e.authority() + "/account")
	if o.Page == "login" {
		o = b.Login(o, username, password)
	}
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>My account</h1>") {
		e.t.Fatalf("the account page after sign-in: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	return &accountUser{browser: b, e: e, base: e.authority() + "/account", page: o}
}

// post submits an account form with the last page's CSRF token.
func (u *accountUser) post(path string, form url.Values) testbrowser.Outcome {
	u.e.t.Helper()
	m := csrfInput.FindStringSubmatch(u.page.Body)
	if m == nil {
		u.e.t.Fatalf("no CSRF token on the account page:\n%s", u.page.Body)
	}
	form.Set("csrf", html.UnescapeString(m[1]))
	o := u.PostForm(u.base+path, form)
	if strings.Contains(o.Body, "<h1>My account</h1>") {
		u.page = o
	}
	return o
}

func (u *accountUser) reload() testbrowser.Outcome {
	u.e.t.Helper()
	u.page = u.Get(u.base)
	return u.page
}

// The profile, and a password change: refused when the confirmation
// differs, the current password is wrong or the new one is common; once
// done, only the new password signs in, and the change is audited with
// the user as the actor and no password in it.
func TestAccountPassword(t *testing.T) {
	e := newEnv(t)
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	for _, want := range []string{"alice@contoso.test", "Alice", e.user.ID, e.tenant.ID, "Security info", "This browser"} {
		if !strings.Contains(u.page.Body, want) {
			t.Errorf("the account page lacks %q", want)
		}
	}
	if u.page.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(u.page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		u.page.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", u.page.Header)
	}
	const next = "a new and long passphrase"
	for _, c := range []struct {
		name                   string
		current, next, confirm string
		status                 int
		says                   string
	}{
		{"confirmation differs", e.password, next, next + "x", http.StatusBadRequest, "differ"},
		{"wrong current", "not my password", next, next, http.StatusUnauthorized, "current password is incorrect"},
		{"common", e.password, "password123", "password123", http.StatusBadRequest, "common"},
		{"too short", e.password, "short", "short", http.StatusBadRequest, "8 to"},
		{"the username", e.password, "alice@contoso.test", "alice@contoso.test", http.StatusBadRequest, "username"},
		{"unchanged", e.password, e.password, e.password, http.StatusBadRequest, "one you have"},
	} {
		o := u.post("/password", url.Values{"current_password": {c.current}, "new_password": {c.next}, "confirm_password": {c.confirm}})
		if o.Status != c.status || !strings.Contains(o.Body, `class="error" role="alert"`) || !strings.Contains(strings.ToLower(o.Body), c.says) {
			t.Errorf("%s: %d, want %d saying %q\n%s", c.name, o.Status, c.status, c.says, o.Body)
		}
	}
	o := u.post("/password", url.Values{"current_password": {e.password}, "new_password": {next}, "confirm_password": {next}})
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "Your password was changed") {
		t.Fatalf("password change: %d\n%s", o.Status, o.Body)
	}
	b := e.browser()
	if o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "alice@contoso.test", e.password); o.Page != "login" {
		t.Errorf("the old password still signs in: %d %q", o.Status, o.Page)
	}
	if o := b.SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "alice@contoso.test", next); o.Params.Get("code") == "" {
		t.Errorf("the new password does not sign in: %v", o.Params)
	}
	entries, err := e.admin.AuditLog(t.Context(), e.tenant, store.AuditQuery{Activity: "Change user password"})
	if err != nil || len(entries) != 1 || entries[0].ActorID != e.user.ID || entries[0].TargetID != e.user.ID || entries[0].ActorAddress == "" {
		t.Fatalf("audit of the change: %+v %v", entries, err)
	}
	for _, ch := range entries[0].Changes {
		if strings.Contains(ch.New+ch.Old, next) || strings.Contains(ch.New+ch.Old, "$argon2") {
			t.Errorf("the audit entry holds a password: %+v", ch)
		}
	}
}

// Wrong current passwords count as sign-in failures do: past the lockout
// threshold the account is locked, on the sign-in page too, and the right
// password gives nothing meanwhile.
func TestAccountPasswordThrottled(t *testing.T) {
	e := newEnv(t)
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	var o testbrowser.Outcome
	for range 10 {
		o = u.post("/password", url.Values{"current_password": {"wrong guess"}, "new_password": {"another long passphrase"}, "confirm_password": {"another long passphrase"}})
	}
	if o.Status != http.StatusTooManyRequests || !strings.Contains(o.Body, "locked") {
		t.Fatalf("the 10th wrong guess: %d\n%s", o.Status, o.Body)
	}
	o = u.post("/password", url.Values{"current_password": {e.password}, "new_password": {"another long passphrase"}, "confirm_password": {"another long passphrase"}})
	if o.Status != http.StatusTooManyRequests {
		t.Errorf("the right password during the lockout: %d", o.Status)
	}
	b := e.browser()
	if o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "alice@contoso.test", e.password); o.Callback != nil || !strings.Contains(o.Body, "locked") {
		t.Errorf("sign-in during the lockout the account page caused: %d %q", o.Status, o.Page)
	}
	// The sign-in log has each counted failure, the last one saying it
	// locked the account; the refusal during the lockout wrote nothing.
	entries, err := e.admin.AuditLog(t.Context(), e.tenant, store.AuditQuery{Kind: store.AuditSignIn, Activity: "Current password check (account page)"})
	if err != nil || len(entries) != 10 || entries[0].ActorID != e.user.ID || !strings.Contains(entries[0].Reason, "locked the account") {
		t.Errorf("the sign-in log: %d entries, %v", len(entries), err)
	}
}

// Two sessions: the page marks this browser's, and signing out the other
// ends it with what it issued; another user's session id is refused.
func TestAccountSessions(t *testing.T) {
	e := newEnv(t)
	other := e.browser()
	tokens := refreshFor(e, other)
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	if n := strings.Count(u.page.Body, `name="session"`); n != 1 || !strings.Contains(u.page.Body, "Another browser or device") {
		t.Fatalf("the account page offers %d sessions to sign out:\n%s", n, u.page.Body)
	}
	// Bob's session, which alice must not be able to end.
	bob, _, err := e.admin.CreateUser(t.Context(), e.tenant, admin.UserOptions{Username: "bob@contoso.test", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}
	bobB := e.browser()
	bobB.SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "bob@contoso.test", "bob's long password")
	bobSessions, err := e.store.ListUserSessions(t.Context(), e.tenant.ID, bob.ID, e.clock.Now())
	if err != nil || len(bobSessions) != 1 {
		t.Fatalf("bob's sessions: %v %v", bobSessions, err)
	}
	o := u.post("/sessions/signout", url.Values{"session": {bobSessions[0].ID}})
	if o.Status != http.StatusNotFound || !strings.Contains(o.Body, `role="alert"`) {
		t.Errorf("signing out bob's session: %d\n%s", o.Status, o.Body)
	}
	if got, _ := e.store.ListUserSessions(t.Context(), e.tenant.ID, bob.ID, e.clock.Now()); len(got) != 1 {
		t.Error("bob's session ended")
	}

	m := regexp.MustCompile(`name="session" value="([^"]+)"`).FindStringSubmatch(u.page.Body)
	o = u.post("/sessions/signout", url.Values{"session": {m[1]}})
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "The session was signed out") || strings.Contains(o.Body, "Another browser or device") {
		t.Fatalf("sign out the other session: %d\n%s", o.Status, o.Body)
	}
	if status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {tokens}}); status != http.StatusBadRequest || resp["error"] != "invalid_grant" {
		t.Errorf("the ended session's refresh token: %d %v", status, resp)
	}
	if o := other.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Page != "login" {
		t.Errorf("the other browser is still signed in: %d %q", o.Status, o.Page)
	}
	// This browser stays signed in.
	if o := u.reload(); o.Status != http.StatusOK || !strings.Contains(o.Body, "This browser") {
		t.Errorf("this browser after signing the other out: %d", o.Status)
	}
	entries, err := e.admin.AuditLog(t.Context(), e.tenant, store.AuditQuery{Activity: "Sign out of other sessions"})
	if err != nil || len(entries) != 1 || entries[0].ActorID != e.user.ID || !strings.Contains(entries[0].Changes[0].Old, m[1]) {
		t.Errorf("audit: %+v %v", entries, err)
	}

	// All others at once.
	refreshFor(e, e.browser())
	refreshFor(e, e.browser())
	u.reload()
	o = u.post("/sessions/signout", url.Values{})
	if got, _ := e.store.ListUserSessions(t.Context(), e.tenant.ID, e.user.ID, e.clock.Now()); o.Status != http.StatusOK || len(got) != 1 {
		t.Errorf("sign out all others: %d, %d sessions left", o.Status, len(got))
	}
}

// refreshFor signs alice in to the web app in b with offline_access and
// returns the refresh token.
func refreshFor(e *env, b *browser) string {
	e.t.Helper()
	code := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}})
	rt, _ := resp["refresh_token"].(string)
	if status != http.StatusOK || rt == "" {
		e.t.Fatalf("code redemption: %d %v", status, resp)
	}
	return rt
}

// Apps with access: the app alice consented to, with its permissions;
// withdrawing ends its refresh token and it must ask again. Another app's
// id, or one alice gave nothing, is refused.
func TestAccountWithdrawConsent(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	rt := refreshFor(e, b)
	u := e.signInToAccount(b, "alice@contoso.test", e.password)
	for _, want := range []string{"Apps with access", "Web App", "offline_access", "Maintain access to data you have given it access to", "Withdraw permissions of Web App"} {
		if !strings.Contains(u.page.Body, want) {
			t.Errorf("the account page lacks %q", want)
		}
	}
	if strings.Contains(u.page.Body, "My Account</h3>") {
		t.Error("the account app itself is listed as an app with access")
	}
	o := u.post("/apps/withdraw", url.Values{"client_id": {e.daemon.ClientID}})
	if o.Status != http.StatusNotFound || !strings.Contains(o.Body, `role="alert"`) {
		t.Errorf("withdrawing from an app alice gave nothing: %d\n%s", o.Status, o.Body)
	}
	o = u.post("/apps/withdraw", url.Values{"client_id": {"no such app"}})
	if o.Status != http.StatusNotFound {
		t.Errorf("withdrawing from no app: %d", o.Status)
	}
	o = u.post("/apps/withdraw", url.Values{"client_id": {e.web.ClientID}})
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "permissions were withdrawn") || strings.Contains(o.Body, "Withdraw permissions of Web App") {
		t.Fatalf("withdraw: %d\n%s", o.Status, o.Body)
	}
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {rt}})
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" {
		t.Errorf("the app's refresh token after withdrawal: %d %v", status, resp)
	}
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid offline_access", nil)); o.Page != "consent" {
		t.Errorf("the app's next sign-in does not ask for consent: %d %q", o.Status, o.Page)
	}
	entries, err := e.admin.AuditLog(t.Context(), e.tenant, store.AuditQuery{Activity: "Remove delegated permission grant", TargetID: e.web.ClientID})
	if err != nil || len(entries) != 1 || entries[0].ActorID != e.user.ID || entries[0].ActorType != admin.ActorUser {
		t.Errorf("audit: %+v %v", entries, err)
	}
}

// A sign-in older than admin.RecentSignIn shows no password form nor
// session sign-out, refuses their posts, and offers a new sign-in that
// asks for the password again (prompt=login).
func TestAccountRecentSignIn(t *testing.T) {
	e := newEnv(t)
	refreshFor(e, e.browser())
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	e.clock.Advance(admin.RecentSignIn + time.Minute)
	page := u.reload()
	if strings.Contains(page.Body, `name="new_password"`) || strings.Contains(page.Body, `name="session"`) ||
		!strings.Contains(page.Body, "Sign in again to change your password") {
		t.Fatalf("an old sign-in's page:\n%s", page.Body)
	}
	o := u.post("/password", url.Values{"current_password": {e.password}, "new_password": {"a new and long passphrase"}, "confirm_password": {"a new and long passphrase"}})
	if o.Status != http.StatusForbidden || !strings.Contains(o.Body, "sign in again") {
		t.Errorf("password change after 11 minutes: %d\n%s", o.Status, o.Body)
	}
	o = u.post("/sessions/signout", url.Values{})
	if o.Status != http.StatusForbidden {
		t.Errorf("sign out others after 11 minutes: %d", o.Status)
	}
	o = u.Get(u.base + "/reauth?to=password")
	if o.Page != "login" {
		t.Fatalf("sign in again does not ask for the password: %d %q", o.Status, o.Page)
	}
	o = u.Login(o, "alice@contoso.test", e.password)
	if o.Status != http.StatusOK || !strings.Contains(o.Body, `name="new_password"`) {
		t.Fatalf("after signing in again: %d\n%s", o.Status, o.Body)
	}
}

// Hostile posts: no CSRF token, another site's Origin, an oversized form,
// the wrong method, an unknown page, no session: each a page with a 4xx,
// none a 500, and nothing changed.
func TestAccountHostile(t *testing.T) {
	e := newEnv(t)
	rt := refreshFor(e, e.browser())
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	withdraw := url.Values{"client_id": {e.web.ClientID}}
	if o := u.PostForm(u.base+"/apps/withdraw", withdraw); o.Status != http.StatusForbidden || !strings.Contains(o.Body, "security token") {
		t.Errorf("no CSRF token: %d\n%s", o.Status, o.Body)
	}
	m := csrfInput.FindStringSubmatch(u.page.Body)
	csrf := html.UnescapeString(m[1])
	req := func(method, path, contentType, body string, header http.Header) (int, string) {
		r, _ := http.NewRequest(method, u.base+path, strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			r.Header[k] = v
		}
		r.Header.Set("Accept", "text/html")
		for _, c := range u.Cookies(r.URL) {
			r.AddCookie(c)
		}
		resp, err := e.srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp.StatusCode, b.String()
	}
	form := url.Values{"csrf": {csrf}, "client_id": {e.web.ClientID}}.Encode()
	for _, c := range []struct {
		name                   string
		method, path, ct, body string
		header                 http.Header
		status                 int
	}{
		{"another site's origin", "POST", "/apps/withdraw", "application/x-www-form-urlencoded", form, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"oversized", "POST", "/apps/withdraw", "application/x-www-form-urlencoded", form + "&pad=" + strings.Repeat("a", 1<<20), nil, http.StatusRequestEntityTooLarge},
		{"not a form", "POST", "/apps/withdraw", "application/json", `{"client_id":"x"}`, nil, http.StatusUnsupportedMediaType},
		{"GET of a post", "GET", "/apps/withdraw", "", "", nil, http.StatusMethodNotAllowed},
		{"POST of the page", "POST", "", "application/x-www-form-urlencoded", form, nil, http.StatusMethodNotAllowed},
		{"unknown page", "GET", "/nothing", "", "", nil, http.StatusNotFound},
		{"a forged callback", "GET", "/callback?code=x&state=y", "", "", nil, http.StatusBadRequest},
		{"sign-out without token", "POST", "/signout", "application/x-www-form-urlencoded", "", nil, http.StatusForbidden},
	} {
		status, body := req(c.method, c.path, c.ct, c.body, c.header)
		if status != c.status || !strings.Contains(body, "<h1>") {
			t.Errorf("%s: %d, want %d\n%.300s", c.name, status, c.status, body)
		}
	}
	// None of it withdrew anything.
	if status, _, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {rt}}); status != http.StatusOK {
		t.Errorf("the refresh token after the hostile posts: %d", status)
	}
	// A post with no account session goes to sign in, changing nothing.
	o := e.browser().PostForm(u.base+"/apps/withdraw", url.Values{"csrf": {csrf}, "client_id": {e.web.ClientID}})
	if o.Page != "login" {
		t.Errorf("a post without a session: %d %q", o.Status, o.Page)
	}
	// Another tenant's page or a cookie of this one sealed for another
	// purpose does not open (the sealer's own test covers the rest).
}

// Sign-out ends the SSO session: the account page and the apps of that
// browser must sign in again.
func TestAccountSignOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u := e.signInToAccount(b, "alice@contoso.test", e.password)
	o := u.post("/signout", url.Values{})
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "signed out") {
		t.Fatalf("sign-out: %d\n%s", o.Status, o.Body)
	}
	if got, _ := e.store.ListUserSessions(t.Context(), e.tenant.ID, e.user.ID, e.clock.Now()); len(got) != 0 {
		t.Errorf("%d sessions left after sign-out", len(got))
	}
	if o := b.Get(u.base); o.Page != "login" {
		t.Errorf("the account page after sign-out: %d %q", o.Status, o.Page)
	}
}

// /account is the default tenant's account page.
func TestAccountAlias(t *testing.T) {
	e := newEnv(t)
	if o := e.browser().Get(e.url("/account")); o.Page != "login" || !strings.Contains(o.URL.String(), "/contoso/login") {
		t.Errorf("/account: %d %q at %v", o.Status, o.Page, o.URL)
	}
}

// The consent page says where consent is withdrawn.
func TestConsentLinksToAccount(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "alice@contoso.test", e.password)
	if o.Page != "consent" || !strings.Contains(o.Body, `href="/contoso/account#apps"`) {
		t.Errorf("the consent page does not link to the account page:\n%s", o.Body)
	}
}

// An account signed in many times gets a page of bounded size, and "all
// other sessions" still reaches the sessions it does not list.
func TestAccountManySessions(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	for i := range 60 {
		id := "many-" + strconv.Itoa(i)
		if err := e.store.CreateSession(t.Context(), store.Session{ID: id, Hash: []byte(id), TenantID: e.tenant.ID, UserID: e.user.ID,
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	if n := strings.Count(u.page.Body, `name="session"`); n != 49 || !strings.Contains(u.page.Body, "And 11 more") || !strings.Contains(u.page.Body, "This browser") {
		t.Fatalf("the page lists %d sessions to end:\n%s", n, u.page.Body)
	}
	if o := u.post("/sessions/signout", url.Values{}); o.Status != http.StatusOK {
		t.Fatalf("sign out all others: %d", o.Status)
	}
	if left, _ := e.store.ListUserSessions(t.Context(), e.tenant.ID, e.user.ID, e.clock.Now()); len(left) != 1 {
		t.Errorf("%d sessions left", len(left))
	}
}
