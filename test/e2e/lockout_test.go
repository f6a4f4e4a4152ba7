package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestSignInLockout walks the sign-in page into its limits in Chromium: a
// wrong password keeps the form with the generic message; the fifth failure
// on one sign-in stops it (no form any more); ten failures lock the account,
// and then even the right password shows the lockout message and sends the
// application nothing.
func TestSignInLockout(t *testing.T) {
	t.Parallel()
	b := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E lockout")
	authorize := authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"lock"}})

	b.Navigate(authorize)
	onPage(t, b, s, "/login", "#password")
	b.Login(s.Demo.Username, "wrong password 1")
	onPage(t, b, s, "/login", `[role="alert"]`)
	if text := b.InnerText(); !strings.Contains(text, "Incorrect username or password.") {
		t.Fatalf("after a wrong password:\n%s", text)
	}
	requireAccessible(t, b)
	b.Screenshot("lockout-wrong-password")
	for i := 2; i <= 5; i++ {
		b.Login(s.Demo.Username, fmt.Sprintf("wrong password %d", i))
	}
	if text := b.InnerText(); !strings.Contains(text, "The sign-in was stopped after too many attempts") || b.Has("#password") {
		t.Fatalf("after five failures on one sign-in:\n%s", text)
	}
	requireAccessible(t, b)
	b.Screenshot("lockout-request-stopped")

	// A new sign-in: five more failures make ten for the account.
	b.Navigate(authorize)
	for i := 6; i <= 10; i++ {
		onPage(t, b, s, "/login", "#password")
		b.Login(s.Demo.Username, fmt.Sprintf("wrong password %d", i))
	}
	b.Navigate(authorize)
	onPage(t, b, s, "/login", "#password")
	b.Login(s.Demo.Username, s.Demo.Password)
	if text := b.InnerText(); !strings.Contains(text, "Your account is temporarily locked") {
		t.Fatalf("the right password during a lockout:\n%s", text)
	}
	if _, ok := rp.take("/cb", 0); ok {
		t.Fatal("the application got a response during a lockout")
	}
	requireAccessible(t, b)
	b.Screenshot("lockout-account-locked")
}
