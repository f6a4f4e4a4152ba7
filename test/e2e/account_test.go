package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestAccountPage walks the user's own account page in Chromium: reached
// from the consent page's link; the profile; two sessions (two browsers,
// each its own profile) and signing the other out, which must then sign
// in again; apps with access and withdrawing one, whose refresh token then
// fails and which must ask for consent again; the password change with
// its refusals, and the new password at the next sign-in. Each page is
// audited for accessibility and saved at desktop and phone width; the
// browser runs no scripts.
func TestAccountPage(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	photos := webApp(t, s, rp, "E2E Photos")
	notes := webApp(t, s, rp, "E2E Notes")
	b := harness.NewBrowser(t)
	// The page is plain forms and redirects: it must work with scripts off
	// (the test's own DevTools calls still run).
	b.DisableScripts()
	other := harness.NewBrowser(t)
	check := func(name string) {
		t.Helper()
		requireAccessible(t, b)
		b.Viewport(1280, 900)
		b.Screenshot("account-1280-" + name)
		b.Viewport(390, 844)
		b.Screenshot("account-390-" + name)
		var overflow bool
		b.Eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`, &overflow)
		if overflow {
			t.Errorf("%s scrolls sideways at 390 px", name)
		}
		b.Viewport(1000, 900)
	}

	// This browser signs in to Photos with a refresh token; the other
	// browser signs in to it too: two sessions of one user.
	code := requireCode(t, signIn(t, b, s, rp, authorizeURL(s, url.Values{"client_id": {photos.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"one"}})), "one")
	tokens := redeem(t, s, photos, rp.URL("/cb"), code)
	refresh, _ := tokens["refresh_token"].(string)
	if refresh == "" {
		t.Fatalf("no refresh token: %v", tokens)
	}
	requireCode(t, signIn(t, other, s, rp, authorizeURL(s, url.Values{"client_id": {photos.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"two"}})), "two")

	// The consent page of another app says where permissions are
	// withdrawn, and its link leads there, signed in by the SSO session.
	b.Navigate(authorizeURL(s, url.Values{"client_id": {notes.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"three"}}))
	onPage(t, b, s, "/consent", `button[value="accept"]`)
	if text := b.InnerText(); !strings.Contains(text, "withdraw them") || !strings.Contains(text, "your account page") {
		t.Errorf("the consent page does not say where to withdraw:\n%s", text)
	}
	b.Screenshot("account-consent-link")
	b.ClickLabel("your account page")
	b.WaitTitle("My account")
	text := b.InnerText()
	for _, want := range []string{"Profile", s.Demo.Username, "Object ID", "Security info", "Change password", "This browser", "Another browser or device", "Apps with access", "E2E Photos"} {
		if !strings.Contains(text, want) {
			t.Errorf("the account page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "E2E Notes") {
		t.Error("an app the user did not consent to is listed")
	}
	check("overview")
	requireTabOrder(t, b, "#current_password", "#new_password", "#confirm_password", `#change-password button[type="submit"]`)

	// Sign the other browser out: its session ends, so it must sign in
	// again.
	b.ClickLabel("End session")
	b.WaitTitle("My account")
	if text := b.InnerText(); !strings.Contains(text, "The session was signed out") || strings.Contains(text, "Another browser or device") {
		t.Errorf("after signing the other session out:\n%s", text)
	}
	check("session-signed-out")
	other.Navigate(authorizeURL(s, url.Values{"client_id": {photos.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"four"}}))
	if !other.Has("#password") {
		t.Errorf("the other browser was not asked to sign in again: at %s", other.Location())
	}

	// Withdraw Photos' permissions: its refresh token fails, and it asks
	// for consent again.
	b.ClickLabel("Withdraw permissions of E2E Photos")
	b.WaitTitle("My account")
	if text := b.InnerText(); !strings.Contains(text, "permissions were withdrawn") || strings.Contains(text, "E2E Photos") {
		t.Errorf("after withdrawing:\n%s", text)
	}
	check("consent-withdrawn")
	status, body := postForm(t, s, "/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {photos.ClientID},
		"client_secret": {photos.Secret}, "refresh_token": {refresh}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("Photos' refresh token after withdrawal: %d %v", status, body)
	}
	b.Navigate(authorizeURL(s, url.Values{"client_id": {photos.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"five"}}))
	onPage(t, b, s, "/consent", `button[value="accept"]`)

	// The password: a wrong current one and a common new one are refused,
	// then the change takes.
	b.Navigate(s.Authority() + "/account")
	b.WaitTitle("My account")
	const next = "a fresh passphrase for e2e"
	changePassword := func(current, newPW string) {
		t.Helper()
		b.FillLabel("Current password", current)
		b.FillLabel("New password", newPW)
		b.FillLabel("Confirm new password", newPW)
		b.ClickLabel("Change password")
		b.WaitTitle("My account")
	}
	changePassword("not the password", next)
	if alert := alertText(b); !strings.Contains(alert, "current password is incorrect") {
		t.Errorf("a wrong current password: alert %q", alert)
	}
	check("password-wrong")
	changePassword(s.Demo.Password, "password123")
	if alert := alertText(b); !strings.Contains(alert, "common") {
		t.Errorf("a common new password: alert %q", alert)
	}
	changePassword(s.Demo.Password, next)
	if text := b.InnerText(); !strings.Contains(text, "Your password was changed") {
		t.Fatalf("after the change:\n%s", text)
	}
	check("password-changed")

	// Sign out here ends the SSO session; the next sign-in takes the new
	// password only.
	b.ClickLabel("Sign out")
	b.WaitTitle("You're signed out")
	check("signed-out")
	b.Navigate(authorizeURL(s, url.Values{"client_id": {notes.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"six"}}))
	b.Login(s.Demo.Username, s.Demo.Password)
	if !b.Has("#password") || !strings.Contains(alertText(b), "Incorrect") {
		t.Errorf("the old password signed in: at %s", b.Location())
	}
	b.Login(s.Demo.Username, next)
	onPage(t, b, s, "/consent", `button[value="accept"]`)
}
