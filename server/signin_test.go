package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// Sign-in normalises the typed username as user creation does (PRECIS
// UsernameCaseMapped): full-width and upper-case forms reach the same
// account, and a name PRECIS refuses answers like a wrong password.
func TestSignInNormalisesUsername(t *testing.T) {
	e := newEnv(t)
	for _, typed := range []string{"ＡＬＩＣＥ@contoso.test", "Alice@Contoso.Test", "ａｌｉｃｅ＠ｃｏｎｔｏｓｏ．ｔｅｓｔ"} {
		b := e.browser()
		o := b.SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid profile", nil), typed, e.password)
		code := o.Params.Get("code")
		if code == "" {
			t.Errorf("signing in as %q: page %q, params %v", typed, o.Page, o.Params)
			continue
		}
		status, tokens, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID},
			"client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}})
		if status != http.StatusOK {
			t.Fatalf("redemption: %d %v", status, tokens)
		}
		_, claims := e.verifyJWT(tokens["id_token"].(string), "JWT", e.web.ClientID)
		if claims["sub"] != e.user.ID || claims["preferred_username"] != "alice@contoso.test" {
			t.Errorf("signing in as %q reached sub %v (%v), want alice %s", typed, claims["sub"], claims["preferred_username"], e.user.ID)
		}
	}
	// Names PRECIS refuses (a zero-width space, a bidi control, a symbol)
	// are not an error of their own: the answer is a wrong password's.
	for _, typed := range []string{"alice\u200b@contoso.test", "\u202ealice@contoso.test", "alice\u2603@contoso.test"} {
		b := e.browser()
		o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
		o = b.Login(o, typed, e.password)
		if o.Page != "login" || o.Callback != nil {
			t.Fatalf("%q: page %q", typed, o.Page)
		}
		if m := extract(o.Body, `<p class="error" role="alert">`, `</p>`); m != "Incorrect username or password." {
			t.Errorf("%q: message %q", typed, m)
		}
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
