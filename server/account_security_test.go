package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/tessera-id/tessera/store"
)

var (
	totpSecretOnPage = regexp.MustCompile(`<code class="secret" id="totp-secret">([^<]+)</code>`)
	pendingInput     = regexp.MustCompile(`<input type="hidden" name="pending" value="([^"]+)">`)
	codeOnPage       = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
	removeFactor     = regexp.MustCompile(`<input type="hidden" name="factor" value="([^"]+)">`)
)

// Security info on the account page: an authenticator app added with its
// first code (a wrong one shows the same key again), the first factor's
// recovery codes shown once, which sign in once each; new codes replace
// the old; a factor removed signs in no more; another user's factor and
// a form without the CSRF token change nothing.
func TestAccountSecurityInfo(t *testing.T) {
	e := newEnv(t)
	u := e.signInToAccount(e.browser(), "alice@contoso.test", e.password)
	if !strings.Contains(u.page.Body, "Add an authenticator app") {
		t.Fatalf("Security info offers no authenticator app:\n%s", u.page.Body)
	}

	// The enrolment page, a wrong code, then the right one.
	o := u.Get(u.base + "/security/totp")
	m, p := totpSecretOnPage.FindStringSubmatch(o.Body), pendingInput.FindStringSubmatch(o.Body)
	if o.Status != http.StatusOK || m == nil || p == nil {
		t.Fatalf("the enrolment page: %d\n%s", o.Status, o.Body)
	}
	if csp := o.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:") {
		t.Errorf("the enrolment page's QR code is blocked by %q", csp)
	}
	secret := strings.ReplaceAll(html.UnescapeString(m[1]), " ", "")
	pending := html.UnescapeString(p[1])
	o = u.post("/security/totp", url.Values{"pending": {pending}, "code": {"000000"}, "name": {"Phone"}})
	if o.Status != http.StatusBadRequest || !strings.Contains(o.Body, html.EscapeString(m[1])) {
		t.Errorf("a wrong first code: %d, same key shown again: %v", o.Status, strings.Contains(o.Body, m[1]))
	}
	code, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	o = u.post("/security/totp", url.Values{"pending": {pending}, "code": {code}, "name": {"Phone"}})
	codes := codeOnPage.FindAllStringSubmatch(o.Body, -1)
	if o.Status != http.StatusOK || len(codes) != 10 || !strings.Contains(o.Body, "Authenticator app added") {
		t.Fatalf("after the first code: %d, %d recovery codes\n%s", o.Status, len(codes), o.Body)
	}
	fs, err := e.store.ListFactors(t.Context(), e.tenant.ID, e.user.ID)
	if err != nil || len(fs) != 1 || fs[0].Kind != store.FactorTOTP || fs[0].Name != "Phone" {
		t.Fatalf("factors after enrolment: %+v %v", fs, err)
	}
	page := u.reload()
	if !strings.Contains(page.Body, "Authenticator app") || !strings.Contains(page.Body, "10 unused") {
		t.Errorf("Security info does not list the app and 10 codes:\n%s", page.Body)
	}

	// A recovery code signs in once, as the second factor.
	e.clock.Advance(time.Minute)
	signInWithRecovery := func(code string) bool {
		b := e.browser()
		o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "alice@contoso.test", e.password)
		if o.Page != "second_factor" {
			t.Fatalf("after the password: page %q", o.Page)
		}
		o = b.Get(o.URL.String() + "&method=recovery")
		o = b.Submit(o, map[string]string{"code": code})
		if o.Page == "consent" {
			o = b.Consent(o, "accept")
		}
		return o.Params.Get("code") != ""
	}
	first := codes[0][1]
	if !signInWithRecovery(first) {
		t.Fatal("a recovery code from the account page does not sign in")
	}
	if signInWithRecovery(first) {
		t.Error("a recovery code signed in twice")
	}

	// New codes replace the old ones.
	o = u.post("/security/recovery", url.Values{})
	fresh := codeOnPage.FindAllStringSubmatch(o.Body, -1)
	if len(fresh) != 10 {
		t.Fatalf("new recovery codes: %d\n%s", len(fresh), o.Body)
	}
	if signInWithRecovery(codes[1][1]) {
		t.Error("an old recovery code still signs in after new ones were made")
	}
	if !signInWithRecovery(fresh[0][1]) {
		t.Error("a new recovery code does not sign in")
	}

	// Another user's factor cannot be removed from here; without the CSRF
	// token nothing is.
	bob, _, err := e.admin.CreateUser(t.Context(), e.tenant, adminUser("bob@contoso.test", "another correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddFactor(t.Context(), store.Factor{ID: "bobs-key", TenantID: e.tenant.ID, UserID: bob.ID, Kind: store.FactorTOTP, Name: "Bob's", CreatedAt: e.clock.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	u.reload()
	if o := u.post("/security/remove", url.Values{"factor": {"bobs-key"}}); o.Status != http.StatusNotFound {
		t.Errorf("removing another user's factor: %d", o.Status)
	}
	if fs, _ := e.store.ListFactors(t.Context(), e.tenant.ID, bob.ID); len(fs) != 1 {
		t.Errorf("bob's factor is gone")
	}
	id := removeFactor.FindStringSubmatch(u.reload().Body)
	if id == nil {
		t.Fatalf("no Remove form:\n%s", u.page.Body)
	}
	if o := u.PostForm(u.base+"/security/remove", url.Values{"factor": {id[1]}}); o.Status != http.StatusForbidden {
		t.Errorf("a remove without the CSRF token: %d", o.Status)
	}
	if o := u.post("/security/remove", url.Values{"factor": {id[1]}}); o.Status != http.StatusOK || !strings.Contains(o.Body, "was removed") {
		t.Errorf("removing the app: %d\n%s", o.Status, o.Body)
	}
	if fs, _ := e.store.ListFactors(t.Context(), e.tenant.ID, e.user.ID); len(fs) != 0 {
		t.Errorf("factors left after removing the only one: %+v", fs)
	}
	// With no factor left the password alone signs in again, and the
	// recovery codes went with it.
	b := e.browser()
	if o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "alice@contoso.test", e.password); o.Page == "second_factor" {
		t.Error("a second factor is still asked for after the last was removed")
	}

	// Security info's changes need a recent sign-in.
	e.clock.Advance(time.Hour)
	page = u.reload()
	if !strings.Contains(page.Body, "Sign in again to change sign-in methods") || strings.Contains(page.Body, "Add an authenticator app") {
		t.Errorf("an old sign-in may still change sign-in methods:\n%s", page.Body)
	}
	if o := u.post("/security/recovery", url.Values{}); o.Status != http.StatusForbidden {
		t.Errorf("new recovery codes on an old sign-in: %d", o.Status)
	}
}
