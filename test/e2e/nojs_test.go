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
// redirects, and the form_post page is submitted with its Continue button.
func TestWithoutJavaScript(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	browser.DisableScripts()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E no script")

	t.Run("LoginConsentRedirect", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"noscript"}}))
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
