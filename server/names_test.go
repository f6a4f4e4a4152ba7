package server_test

import (
	"net/http"
	"net/url"
	"testing"
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
