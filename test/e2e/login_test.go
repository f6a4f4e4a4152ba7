package e2e

import (
	"net/url"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestLogin drives the sign-in page. The subtests share one browser and
// run in order: only the last one signs in, so none of the others sees
// an SSO session.
func TestLogin(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E login")
	const generic = "Incorrect username or password."

	// failedLogin opens a fresh sign-in page, submits the credentials and
	// returns the error the page shows.
	failedLogin := func(t *testing.T, b *harness.Browser, username, password string) string {
		t.Helper()
		b.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"bad"}}))
		onPage(t, b, s, "/login", "#password")
		b.Login(username, password)
		onPage(t, b, s, "/login", "#password")
		if got := b.Value("#password"); got != "" {
			t.Errorf("the password field still holds %q after a failed sign-in", got)
		}
		if got := b.Value("#username"); got != username {
			t.Errorf("the username field holds %q, want the typed %q", got, username)
		}
		if _, ok := rp.take("/cb", 0); ok {
			t.Error("the client got a response after a failed sign-in")
		}
		return alertText(b)
	}

	t.Run("BadPassword", func(t *testing.T) {
		b := browser.For(t)
		if got := failedLogin(t, b, s.Demo.Username, s.Demo.Password+"x"); got != generic {
			t.Errorf("error %q, want %q", got, generic)
		}
	})

	t.Run("UnknownUsernameSameMessage", func(t *testing.T) {
		b := browser.For(t)
		wrongPassword := failedLogin(t, b, s.Demo.Username, "not-the-password")
		unknownUser := failedLogin(t, b, "nobody-"+s.Demo.Username, "not-the-password")
		if unknownUser != wrongPassword {
			t.Errorf("an unknown username shows %q, a wrong password %q: the page tells them apart", unknownUser, wrongPassword)
		} else if unknownUser != generic {
			t.Errorf("error %q, want %q", unknownUser, generic)
		}
	})

	t.Run("LoginHintPrefillsUsername", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "login_hint": {s.Demo.Username}}))
		onPage(t, b, s, "/login", "#password")
		if got := b.Value("#username"); got != s.Demo.Username {
			t.Errorf("username field %q, want the login_hint %q", got, s.Demo.Username)
		}
		if got := b.Value("#password"); got != "" {
			t.Errorf("password field prefilled with %q", got)
		}
	})

	t.Run("GoodPassword", func(t *testing.T) {
		b := browser.For(t)
		b.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"good"}}))
		onPage(t, b, s, "/login", "#password")
		b.Login(s.Demo.Username, s.Demo.Password)
		// A new app: the user is asked for consent next.
		onPage(t, b, s, "/consent", `button[value="accept"]`)
		b.Consent(true)
		code := requireCode(t, rp.mustTake(t, b, "/cb"), "good")
		if tokens := redeem(t, s, app, rp.URL("/cb"), code); tokens["id_token"] == nil {
			t.Errorf("no id_token for scope openid: %v", tokens)
		}
	})
}
