package e2e

import (
	"net/url"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestAccessibility audits each page a user sees (see auditPage) and the
// keyboard order of the sign-in and code forms. The subtests share one
// browser and run in order: the user signs in at the consent step.
func TestAccessibility(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E accessibility")
	authorize := authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"a11y"}})

	t.Run("Login", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorize)
		onPage(t, b, s, "/login", "#password")
		requireAccessible(t, b)
		requireTabOrder(t, b, "#username", "#password", "button[type=submit]")
	})

	t.Run("LoginError", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorize)
		b.Login(s.Demo.Username, "wrong password")
		onPage(t, b, s, "/login", `[role="alert"]`)
		requireAccessible(t, b)
		requireTabOrder(t, b, "#username", "#password", "button[type=submit]")
	})

	t.Run("Consent", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorize)
		b.Login(s.Demo.Username, s.Demo.Password)
		onPage(t, b, s, "/consent", `button[value="accept"]`)
		requireAccessible(t, b)
		requireTabOrder(t, b, `button[value="accept"]`, `button[value="cancel"]`)
	})

	t.Run("Device", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(s.Authority() + "/device")
		onPage(t, b, s, "/device", "#user_code")
		requireAccessible(t, b)
		requireTabOrder(t, b, "#user_code", "button[type=submit]")
	})

	t.Run("DeviceError", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(s.Authority() + "/device")
		b.Fill("#user_code", "not a code")
		b.Click(`button[type="submit"]`)
		onPage(t, b, s, "/device", `[role="alert"]`)
		requireAccessible(t, b)
	})

	t.Run("Error", func(t *testing.T) {
		b := browser.For(t)
		// A sign-in page whose request does not exist cannot go back to
		// any client: the error is shown to the user.
		b.Navigate(s.Authority() + "/login?request=does-not-exist")
		onPage(t, b, s, "/login", `[role="alert"]`)
		if b.Has("#password") {
			t.Fatal("a sign-in form for a request that does not exist")
		}
		requireAccessible(t, b)

		// An authorization request from an unknown app cannot be answered
		// at a redirect URI either.
		b.Navigate(authorizeURL(s, url.Values{"client_id": {"00000000-0000-0000-0000-000000000000"}, "redirect_uri": {rp.URL("/cb")}}))
		onPage(t, b, s, "/oauth2/v2.0/authorize", `[role="alert"]`)
		requireAccessible(t, b)
	})

	t.Run("SignedOut", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout")
		onPage(t, b, s, "/oauth2/v2.0/logout", "h1")
		requireAccessible(t, b)
	})
}
