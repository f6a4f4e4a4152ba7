package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

// TestWithoutJavaScript runs the pages in a browser whose scripting is
// turned off: sign-in, consent and the redirect are plain forms and
// redirects, the form_post page is submitted with its Continue button, the
// device page takes a code, and logout ends the session with a plain page
// or redirect.
func TestWithoutJavaScript(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	browser.DisableScripts()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E no script")
	s.CLI(t, "app", "set", "--tenant", s.Tenant, "--app", app.ClientID, "--post-logout-redirect-uri", rp.URL("/signed-out"))
	authorize := func(state string) string {
		return authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {state}})
	}

	t.Run("LoginConsentRedirect", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorize("noscript"))
		onPage(t, b, s, "/login", "#password")
		b.Login(s.Demo.Username, s.Demo.Password)
		onPage(t, b, s, "/consent", `button[value="accept"]`)
		b.Consent(true)
		redeem(t, s, app, rp.URL("/cb"), requireCode(t, rp.mustTake(t, b, "/cb"), "noscript"))
	})

	t.Run("FormPostContinue", func(t *testing.T) {
		b := browser.For(t)
		// Signed in and consented by the previous subtest, or not: either
		// way the flow ends on the form_post page.
		b.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"form-post"}, "response_mode": {"form_post"}}))
		for step := 0; step < 2; step++ {
			switch {
			case b.Has("#password"):
				b.Login(s.Demo.Username, s.Demo.Password)
			case b.Has(`button[value="accept"]`):
				b.Consent(true)
			}
		}
		// The page's auto-submit script must not have run...
		if c, ok := rp.take("/cb", 500*time.Millisecond); ok {
			t.Fatalf("the form was submitted with scripts disabled (%s %v): scripts are not off", c.Method, c.Params)
		}
		// ...so the user sees why, and a button.
		if text := b.InnerText(); !strings.Contains(text, "press Continue") {
			t.Errorf("the form_post page does not explain itself without scripts:\n%s", text)
		}
		var button struct {
			Label   string
			Visible bool
		}
		b.Eval(`(() => {
			const btn = document.querySelector('form button[type="submit"]');
			return btn ? {label: btn.textContent.trim(), visible: btn.checkVisibility()} : {label: "", visible: false};
		})()`, &button)
		if button.Label != "Continue" || !button.Visible {
			t.Fatalf("the form_post page has no visible Continue button (found %+v)", button)
		}
		b.Click(`form button[type="submit"]`)
		c := rp.mustTake(t, b, "/cb")
		if c.Method != http.MethodPost {
			t.Errorf("form_post arrived as %s", c.Method)
		}
		redeem(t, s, app, rp.URL("/cb"), requireCode(t, c, "form-post"))
	})

	// FormPostContinue proved that scripts are off in this tab; the
	// subtests below run in the same tab.

	t.Run("DeviceCode", func(t *testing.T) {
		b := browser.For(t)
		// A wrong code: the page itself says so (rendered by the server)
		// and keeps what was typed.
		b.Navigate(s.Authority() + "/device")
		onPage(t, b, s, "/device", "#user_code")
		b.Fill("#user_code", "BCDF-GHJK")
		b.Click(`button[type="submit"]`)
		onPage(t, b, s, "/device", "#user_code")
		if got := alertText(b); got != invalidUserCode {
			t.Errorf("wrong code: error %q, want %q", got, invalidUserCode)
		}
		if got := b.Value("#user_code"); got != "BCDF-GHJK" {
			t.Errorf("wrong code: the field holds %q", got)
		}

		// The right code: consent (a device always asks), after sign-in if
		// the tab has no session, then the signed-in page; the device gets
		// its tokens.
		deviceCode, userCode, verificationURI := startDevice(t, s)
		b.Navigate(verificationURI)
		onPage(t, b, s, "/device", "#user_code")
		b.Fill("#user_code", userCode)
		b.Click(`button[type="submit"]`)
		if b.Has("#password") {
			onPage(t, b, s, "/login", "#password")
			b.Login(s.Demo.Username, s.Demo.Password)
		}
		onPage(t, b, s, "/consent", `button[value="accept"]`)
		b.Consent(true)
		if title, text := b.Title(), b.InnerText(); !strings.Contains(title, "signed in") || !strings.Contains(text, "You have signed in to the application on your device") {
			t.Fatalf("after consent the page is %q:\n%s", title, text)
		}
		status, body := pollDevice(t, s, deviceCode)
		if status != http.StatusOK || body["access_token"] == nil || body["refresh_token"] == nil {
			t.Fatalf("the device's token request: %d %v", status, body)
		}
	})

	// requireSignedOut checks that the SSO session is over: the next
	// authorize shows the sign-in page and sends the client nothing.
	requireSignedOut := func(t *testing.T, b *harness.Browser) {
		t.Helper()
		b.Navigate(authorize("after-logout"))
		onPage(t, b, s, "/login", "#password")
		if _, ok := rp.take("/cb", 0); ok {
			t.Error("the client got a response without a sign-in after logout")
		}
	}

	t.Run("LogoutSignedOutPage", func(t *testing.T) {
		b := browser.For(t)
		requireCode(t, signIn(t, b, s, rp, authorize("in")), "in")
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout")
		onPage(t, b, s, "/oauth2/v2.0/logout", `button[value="confirm"]`)
		b.Click(`button[value="confirm"]`)
		if title, text := b.WaitTitle("You signed out"), b.InnerText(); !strings.Contains(title, "You signed out") || !strings.Contains(text, "You have signed out of "+s.Tenant) {
			t.Fatalf("the logout page is %q:\n%s", title, text)
		}
		requireSignedOut(t, b)
	})

	t.Run("LogoutPostLogoutRedirect", func(t *testing.T) {
		b := browser.For(t)
		code := requireCode(t, signIn(t, b, s, rp, authorize("in")), "in")
		idToken, _ := redeem(t, s, app, rp.URL("/cb"), code)["id_token"].(string)
		if idToken == "" {
			t.Fatal("no id_token to use as id_token_hint")
		}
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout?" + url.Values{
			"id_token_hint": {idToken}, "post_logout_redirect_uri": {rp.URL("/signed-out")}, "state": {"bye"},
		}.Encode())
		c := rp.mustTake(t, b, "/signed-out")
		if c.Method != http.MethodGet || c.Params.Get("state") != "bye" {
			t.Fatalf("the post-logout redirect brought %s %v, want the state", c.Method, c.Params)
		}
		requireSignedOut(t, b)
	})
}

// TestFormPostSubmitsItself checks the other half of form_post: with
// scripts on, the page posts the response without a click.
func TestFormPostSubmitsItself(t *testing.T) {
	t.Parallel()
	b := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E form post")
	c := signIn(t, b, s, rp, authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"auto"}, "response_mode": {"form_post"}}))
	if c.Method != http.MethodPost {
		t.Errorf("form_post arrived as %s", c.Method)
	}
	redeem(t, s, app, rp.URL("/cb"), requireCode(t, c, "auto"))
}
