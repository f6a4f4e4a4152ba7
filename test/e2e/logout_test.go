package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestLogout covers RP-initiated logout. Each subtest signs in first, so
// they share a browser.
func TestLogout(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E logout")
	s.CLI(t, "app", "set", "--tenant", s.Tenant, "--app", app.ClientID, "--post-logout-redirect-uri", rp.URL("/signed-out"))
	authorize := func(state string) string {
		return authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {state}})
	}
	// requireSignedOut checks that the SSO session is gone: the next
	// authorize asks for the password.
	requireSignedOut := func(t *testing.T, b *harness.Browser) {
		t.Helper()
		b.Navigate(authorize("after-logout"))
		onPage(t, b, s, "/login", "#password")
		if _, ok := rp.take("/cb", 0); ok {
			t.Error("the client got a response without a sign-in after logout")
		}
	}

	t.Run("SignedOutPage", func(t *testing.T) {
		b := browser.For(t)
		requireCode(t, signIn(t, b, s, rp, authorize("in")), "in")
		b.Navigate(authorize("still-in"))
		requireCode(t, rp.mustTake(t, b, "/cb"), "still-in") // SSO works before logout

		// Without an id_token_hint the user is asked first; staying
		// signed in keeps the session.
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout")
		onPage(t, b, s, "/oauth2/v2.0/logout", `button[value="confirm"]`)
		if title, text := b.Title(), b.InnerText(); !strings.Contains(title, "Sign out") || !strings.Contains(text, "Do you want to sign out of "+s.Tenant) || !strings.Contains(text, s.Demo.Username) {
			t.Fatalf("the logout confirmation is %q:\n%s", title, text)
		}
		requireAccessible(t, b)
		requireTabOrder(t, b, `button[value="confirm"]`, `button[value="cancel"]`)
		b.Screenshot("logout-confirm")
		b.Click(`button[value="cancel"]`)
		b.WaitTitle("still signed in")
		if text := b.InnerText(); !strings.Contains(text, "You stayed signed in") {
			t.Fatalf("after staying signed in:\n%s", text)
		}
		b.Navigate(authorize("still-in-2"))
		requireCode(t, rp.mustTake(t, b, "/cb"), "still-in-2")

		b.Navigate(s.Authority() + "/oauth2/v2.0/logout")
		b.Click(`button[value="confirm"]`)
		if title, text := b.WaitTitle("You signed out"), b.InnerText(); !strings.Contains(title, "You signed out") || !strings.Contains(text, "You have signed out of "+s.Tenant) {
			t.Fatalf("the logout page is %q:\n%s", title, text)
		}
		b.Screenshot("logout-done")
		requireSignedOut(t, b)
	})

	t.Run("ConfirmNamesTheApp", func(t *testing.T) {
		b := browser.For(t)
		requireCode(t, signIn(t, b, s, rp, authorize("in")), "in")
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout?" + url.Values{
			"client_id": {app.ClientID}, "post_logout_redirect_uri": {rp.URL("/signed-out")}, "state": {"asked"},
		}.Encode())
		onPage(t, b, s, "/oauth2/v2.0/logout", `button[value="confirm"]`)
		if text := b.InnerText(); !strings.Contains(text, "E2E logout asks to sign you out of "+s.Tenant) {
			t.Fatalf("the confirmation does not name the app:\n%s", text)
		}
		b.Screenshot("logout-confirm-app")
		b.Click(`button[value="confirm"]`)
		c := rp.mustTake(t, b, "/signed-out")
		if c.Params.Get("state") != "asked" {
			t.Fatalf("the confirmed logout brought %v, want the state", c.Params)
		}
		requireSignedOut(t, b)
	})

	t.Run("PostLogoutRedirect", func(t *testing.T) {
		b := browser.For(t)
		code := requireCode(t, signIn(t, b, s, rp, authorize("in")), "in")
		idToken, _ := redeem(t, s, app, rp.URL("/cb"), code)["id_token"].(string)
		if idToken == "" {
			t.Fatal("no id_token to use as id_token_hint")
		}
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout?" + url.Values{
			"id_token_hint": {idToken}, "post_logout_redirect_uri": {rp.URL("/signed-out")}, "state": {"bye-state"},
		}.Encode())
		c := rp.mustTake(t, b, "/signed-out")
		if c.Method != "GET" || c.Params.Get("state") != "bye-state" {
			t.Fatalf("the post-logout redirect brought %s %v, want the state", c.Method, c.Params)
		}
		requireSignedOut(t, b)
	})

	t.Run("UnregisteredPostLogoutRedirect", func(t *testing.T) {
		b := browser.For(t)
		code := requireCode(t, signIn(t, b, s, rp, authorize("in")), "in")
		idToken, _ := redeem(t, s, app, rp.URL("/cb"), code)["id_token"].(string)
		b.Navigate(s.Authority() + "/oauth2/v2.0/logout?" + url.Values{
			"id_token_hint": {idToken}, "post_logout_redirect_uri": {rp.URL("/elsewhere")}, "state": {"bye-state"},
		}.Encode())
		if _, ok := rp.take("/elsewhere", 0); ok {
			t.Fatal("logout redirected to an unregistered post_logout_redirect_uri")
		}
		if title, text := b.Title(), b.InnerText(); !strings.Contains(text, "is not registered") || !strings.Contains(text, "We couldn't sign you out") || !strings.Contains(title, "Sign-out error") {
			t.Errorf("the error page (%q) does not say the URI is not registered, or is not headed as a sign-out:\n%s", title, text)
		}
		b.Screenshot("logout-error")
	})
}
