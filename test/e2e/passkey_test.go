package e2e

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

// passkeyShoot saves the page at desktop and phone width, checks it for
// accessibility problems and sideways scrolling on the phone.
func passkeyShoot(t *testing.T, b *harness.Browser, name string) {
	t.Helper()
	requireAccessible(t, b)
	b.Viewport(1280, 900)
	b.Screenshot("passkey-1280-" + name)
	b.Viewport(390, 844)
	b.Screenshot("passkey-390-" + name)
	var overflow bool
	b.Eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`, &overflow)
	if overflow {
		t.Errorf("%s scrolls sideways at 390 px", name)
	}
	b.Viewport(1000, 900)
}

// waitFor waits until the page's text contains want.
func waitFor(t *testing.T, b *harness.Browser, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(b.InnerText(), want) {
			return
		}
	}
	t.Fatalf("the page at %s never said %q:\n%s", b.Location(), want, b.InnerText())
}

// TestPasskeys, in Chromium with DevTools' virtual authenticator (a
// platform authenticator that verifies the user): a passkey added on the
// account page, which shows the first factor's recovery codes; a
// passwordless sign-in with it from the sign-in page; and the passkey as
// the second factor after the password, asked again with prompt=login.
// Then the account page's other Security info actions: new recovery
// codes, an authenticator app added with a code computed from the key on
// the page, the passkey removed. The tokens say how each sign-in went.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E Passkeys")
	b := harness.NewBrowser(t)
	auth := b.AddPasskeyAuthenticator(true)
	account := s.Base + "/" + s.Tenant + "/account"

	// The account page, signed in with the password: add a passkey.
	b.Navigate(account)
	if b.Has("#password") {
		b.Login(s.Demo.Username, s.Demo.Password)
	}
	onPage(t, b, s, "/account", "#security-info")
	passkeyShoot(t, b, "account")
	b.Fill("#passkey_name", "This laptop")
	b.Click(`form[data-passkey="create"] button[type="submit"]`)
	waitFor(t, b, "Passkey added")
	if codes := strings.Count(b.InnerText(), "-"); codes < 10 {
		t.Errorf("the first factor's recovery codes are not shown:\n%s", b.InnerText())
	}
	passkeyShoot(t, b, "recovery-codes")
	creds := b.PasskeyCredentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential for localhost", creds)
	}
	b.Navigate(account + "#security-info")
	if text := b.InnerText(); !strings.Contains(text, "Passkey") || !strings.Contains(text, "This laptop") || !strings.Contains(text, "10 unused") {
		t.Errorf("Security info does not list the passkey and 10 recovery codes:\n%s", text)
	}
	passkeyShoot(t, b, "account-with-passkey")

	// Signed out, the sign-in page offers the passkey, which signs in alone.
	b.Click(`form.signout button[type="submit"]`)
	waitFor(t, b, "signed out")
	authorize := func(state string, extra url.Values) string {
		v := url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {state}}
		for k, vs := range extra {
			v[k] = vs
		}
		return authorizeURL(s, v)
	}
	// The sign-in page as a browser without a passkey sees it.
	bare := harness.NewBrowser(t)
	bare.Navigate(authorize("look", nil))
	onPage(t, bare, s, "/login", `form[data-passkey="get"]`)
	passkeyShoot(t, bare, "sign-in")

	// In the browser with the passkey, the username field's autofill
	// (conditional mediation) offers it, and the virtual authenticator
	// takes it at once, as a user choosing it there would: the page signs
	// in with no password typed.
	b.Navigate(authorize("passwordless", nil))
	signedIn := false
	for step := 0; step < 20 && !signedIn; step++ {
		if c, ok := rp.take("/cb", 500*time.Millisecond); ok {
			claims := idTokenClaims(t, redeem(t, s, app, rp.URL("/cb"), requireCode(t, c, "passwordless")))
			if amr := amrOf(claims); !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") || slices.Contains(amr, "pwd") || claims["acr"] != "mfa" {
				t.Errorf("passwordless: amr %v acr %v, want hwk and mfa without pwd, acr mfa", amr, claims["acr"])
			}
			signedIn = true
			break
		}
		if b.Has(`button[value="accept"]`) {
			b.Consent(true)
		}
	}
	if !signedIn {
		t.Fatalf("the passkey did not sign in; the browser is at %s:\n%s", b.Location(), b.InnerText())
	}

	// With prompt=login the password is asked again, and then the passkey
	// as the second factor.
	// The user passes over the autofill's passkey (no touch) and types
	// the password; then touches the key on the second-factor page.
	b.SetPasskeyPresence(auth, false)
	b.Navigate(authorize("second", url.Values{"prompt": {"login"}}))
	onPage(t, b, s, "/login", "#password")
	b.Login(s.Demo.Username, s.Demo.Password)
	onPage(t, b, s, "/second_factor", `form[data-passkey="get"]`)
	passkeyShoot(t, b, "second-factor")
	b.SetPasskeyPresence(auth, true)
	b.Click(`form[data-passkey="get"] button[type="submit"]`)
	c := rp.mustTake(t, b, "/cb")
	claims := idTokenClaims(t, redeem(t, s, app, rp.URL("/cb"), requireCode(t, c, "second")))
	if amr := amrOf(claims); !slices.Contains(amr, "pwd") || !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") || claims["acr"] != "mfa" {
		t.Errorf("password and passkey: amr %v acr %v", amr, claims["acr"])
	}
	if n := len(b.PasskeyCredentials(auth)); n != 1 {
		t.Errorf("the authenticator holds %d credentials after signing in", n)
	}

	// Back on the account page (signed in by the fresh session): new
	// recovery codes, an authenticator app beside the passkey, and the
	// passkey removed.
	b.Navigate(account)
	onPage(t, b, s, "/account", "#security-info")
	b.Click(`form[action$="/security/recovery#security-info"] button`)
	waitFor(t, b, "New recovery codes")
	passkeyShoot(t, b, "new-recovery-codes")
	b.Navigate(account)
	b.Click(`form[action$="/security/totp"] button`)
	// Text only the enrolment page has: the account page's button says
	// "Add an authenticator app" too.
	waitFor(t, b, "Can't scan it?")
	passkeyShoot(t, b, "add-authenticator-app")
	phone := &authenticator{secret: strings.ReplaceAll(b.Value("#totp-secret"), " ", "")}
	if phone.secret == "" {
		var text string
		b.Eval(`document.getElementById("totp-secret").textContent`, &text)
		phone.secret = strings.ReplaceAll(text, " ", "")
	}
	b.Fill("#code", phone.code(t))
	b.Fill("#totp_name", "Phone")
	b.Click(`form[action$="/security/totp"] button[type="submit"]`)
	waitFor(t, b, "Your authenticator app was added.")
	if text := b.InnerText(); !strings.Contains(text, "Authenticator app") || !strings.Contains(text, "Phone") {
		t.Errorf("Security info does not list the new app:\n%s", text)
	}
	b.Click(`button[aria-label="Remove Passkey This laptop"]`)
	waitFor(t, b, "The sign-in method was removed.")
	if text := b.InnerText(); strings.Contains(text, "This laptop") {
		t.Errorf("the removed passkey is still listed:\n%s", text)
	}
	passkeyShoot(t, b, "account-after-changes")
}
