package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestConsent answers the consent page both ways. Cancel runs first and
// signs in; Accept then reuses that session and is asked again, since
// cancelling granted nothing.
func TestConsent(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E consent")

	// consentPage opens an authorize URL and signs in if asked, and
	// checks the consent page names the app and what it asks for.
	consentPage := func(t *testing.T, b *harness.Browser, state string) {
		t.Helper()
		b.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {state}}))
		if b.Has("#password") {
			b.Login(s.Demo.Username, s.Demo.Password)
		}
		onPage(t, b, s, "/consent", `button[value="accept"]`)
		text := b.InnerText()
		for _, want := range []string{"E2E consent", "openid", "profile", "offline_access", s.Demo.Username} {
			if !strings.Contains(text, want) {
				t.Errorf("the consent page does not mention %q:\n%s", want, text)
			}
		}
	}

	t.Run("Cancel", func(t *testing.T) {
		b := browser.For(t)
		consentPage(t, b, "cancel-state")
		b.Consent(false)
		c := rp.mustTake(t, b, "/cb")
		if c.Params.Get("error") != "access_denied" || c.Params.Get("state") != "cancel-state" || c.Params.Get("code") != "" {
			t.Fatalf("after cancel the client got %s %v, want error=access_denied and the state", c.Method, c.Params)
		}
	})

	t.Run("Accept", func(t *testing.T) {
		b := browser.For(t)
		consentPage(t, b, "accept-state")
		b.Consent(true)
		code := requireCode(t, rp.mustTake(t, b, "/cb"), "accept-state")
		redeem(t, s, app, rp.URL("/cb"), code)
	})
}

// TestSSOReuse signs in once and authorizes again in the same browser:
// the same app gets its code without any page, a new app with new
// permissions shows only the consent page.
func TestSSOReuse(t *testing.T) {
	t.Parallel()
	b := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	first := webApp(t, s, rp, "E2E first app")
	second := webApp(t, s, rp, "E2E second app")

	requireCode(t, signIn(t, b, s, rp, authorizeURL(s, url.Values{"client_id": {first.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"one"}})), "one")

	b.ForgetRequests()
	b.Navigate(authorizeURL(s, url.Values{"client_id": {first.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"two"}}))
	code := requireCode(t, rp.mustTake(t, b, "/cb"), "two")
	if requestedPath(b, s, "/login") || requestedPath(b, s, "/consent") {
		t.Errorf("the second authorize showed a page: %v", b.Requests())
	}
	redeem(t, s, first, rp.URL("/cb"), code)

	b.ForgetRequests()
	b.Navigate(authorizeURL(s, url.Values{"client_id": {second.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"three"}}))
	onPage(t, b, s, "/consent", `button[value="accept"]`)
	if requestedPath(b, s, "/login") {
		t.Errorf("an app with new permissions asked for the password again: %v", b.Requests())
	}
	b.Consent(true)
	requireCode(t, rp.mustTake(t, b, "/cb"), "three")
}
