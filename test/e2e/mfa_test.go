package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tessera-id/tessera/test/harness"
)

// authenticator is the user's phone: it computes TOTP codes from the
// secret read off the enrolment page, and never shows a code for a time
// step the server already accepted, waiting for the next one instead, as
// a person would.
type authenticator struct {
	secret string
	last   int64 // the last time step used
}

func (a *authenticator) code(t *testing.T) string {
	t.Helper()
	for {
		cur := time.Now().Unix() / 30
		// The server accepts one step either side of its own.
		for step := cur - 1; step <= cur+1; step++ {
			if step > a.last {
				a.last = step
				c, err := totp.GenerateCodeCustom(a.secret, time.Unix(step*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
		}
		time.Sleep(time.Until(time.Unix((cur+1)*30, 0)) + 50*time.Millisecond)
	}
}

// idTokenClaims decodes an ID token's payload (its signature is the
// protocol tests' business).
func idTokenClaims(t *testing.T, tokens map[string]any) map[string]any {
	t.Helper()
	raw, _ := tokens["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("no ID token: %v", tokens)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func amrOf(c map[string]any) []string {
	var out []string
	list, _ := c["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// shoot saves the page at desktop and phone width, checks it for
// accessibility problems and sideways scrolling on the phone.
func shoot(t *testing.T, b *harness.Browser, name string) {
	t.Helper()
	requireAccessible(t, b)
	b.Viewport(1280, 900)
	b.Screenshot("mfa-1280-" + name)
	b.Viewport(390, 844)
	b.Screenshot("mfa-390-" + name)
	var overflow bool
	b.Eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`, &overflow)
	if overflow {
		t.Errorf("%s scrolls sideways at 390 px", name)
	}
	b.Viewport(1000, 900)
}

// TestMFA: a user made to enrol at sign-in by the tenant's policy scans
// the secret (read off the page here) and signs in with password and
// code; a recovery code works once; and a session signed in with the
// password alone, asked for acr_values=mfa, is asked for the second
// factor only.
func TestMFA(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E MFA")
	first := harness.NewBrowser(t)  // signs in with the password alone first
	second := harness.NewBrowser(t) // enrols
	phone := &authenticator{}
	var recovery []string
	authorize := func(state string, extra url.Values) string {
		v := url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {state}}
		for k, vs := range extra {
			v[k] = vs
		}
		return authorizeURL(s, v)
	}
	setMFA := func(t *testing.T, policy string) {
		t.Helper()
		if got := s.CLI(t, "tenant", "set", s.Tenant, "--mfa", policy)["mfa"]; got != policy {
			t.Fatalf("tenant set --mfa %s: %v", policy, got)
		}
	}

	t.Run("PasswordSession", func(t *testing.T) {
		b := first.For(t)
		code := requireCode(t, signIn(t, b, s, rp, authorize("pwd", nil)), "pwd")
		c := idTokenClaims(t, redeem(t, s, app, rp.URL("/cb"), code))
		if amr := amrOf(c); !slices.Equal(amr, []string{"pwd"}) || c["acr"] != "pwd" {
			t.Errorf("password alone: amr %v acr %v", amr, c["acr"])
		}
	})

	t.Run("EnrolAtSignIn", func(t *testing.T) {
		setMFA(t, "everyone")
		defer setMFA(t, "optional")
		b := second.For(t)
		b.Navigate(authorize("enrol", nil))
		onPage(t, b, s, "/login", "#password")
		b.Login(s.Demo.Username, s.Demo.Password)
		onPage(t, b, s, "/enrol", "#totp-secret")
		requireTabOrder(t, b, "#code", `button[type="submit"]`)
		var qrLoaded bool
		b.Eval(`(() => { const i = document.querySelector("img.qr"); return !!i && i.complete && i.naturalWidth > 100; })()`, &qrLoaded)
		if !qrLoaded {
			t.Error("the QR code image did not load (Content-Security-Policy?)")
		}
		shoot(t, b, "enrol")
		var secret string
		b.Eval(`document.querySelector("#totp-secret").textContent.replace(/\s/g, "")`, &secret)
		if len(secret) != 32 {
			t.Fatalf("secret on the page: %q", secret)
		}
		phone.secret = secret
		// A wrong code first: the page says so and stays.
		b.Fill("#code", "000000")
		b.Click(`button[type="submit"]`)
		onPage(t, b, s, "/enrol", "#totp-secret")
		if got := alertText(b); !strings.Contains(got, "not correct") {
			t.Errorf("a wrong enrolment code: alert %q", got)
		}
		b.Fill("#code", phone.code(t))
		b.Click(`button[type="submit"]`)
		onPage(t, b, s, "/enrol", ".codes") // the answer to the enrolment's POST
		b.Eval(`[...document.querySelectorAll(".codes code")].map((e) => e.textContent.trim())`, &recovery)
		if len(recovery) != 10 {
			t.Fatalf("%d recovery codes on the page", len(recovery))
		}
		shoot(t, b, "recovery-codes")
		b.Click(`button[type="submit"]`)
		// Alice consented to the app in the other browser: straight on.
		code := requireCode(t, rp.mustTake(t, b, "/cb"), "enrol")
		c := idTokenClaims(t, redeem(t, s, app, rp.URL("/cb"), code))
		if amr := amrOf(c); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) || c["acr"] != "mfa" {
			t.Errorf("enrolled at sign-in: amr %v acr %v", amr, c["acr"])
		}
	})

	t.Run("StepUp", func(t *testing.T) {
		b := first.For(t)
		b.ForgetRequests()
		b.Navigate(authorize("stepup", url.Values{"acr_values": {"mfa"}}))
		onPage(t, b, s, "/second_factor", "#code")
		if b.Has("#password") || requestedPath(b, s, "/login") {
			t.Error("the step-up asked for the password again")
		}
		shoot(t, b, "step-up")
		b.Fill("#code", phone.code(t))
		b.Click(`button[type="submit"]`)
		code := requireCode(t, rp.mustTake(t, b, "/cb"), "stepup")
		c := idTokenClaims(t, redeem(t, s, app, rp.URL("/cb"), code))
		if amr := amrOf(c); !slices.Contains(amr, "mfa") || !slices.Contains(amr, "otp") || c["acr"] != "mfa" {
			t.Errorf("after the step-up: amr %v acr %v", amr, c["acr"])
		}
	})

	// secondFactor signs in again with the password and waits on the
	// second-factor page.
	secondFactor := func(t *testing.T, b *harness.Browser, state string) {
		t.Helper()
		b.Navigate(authorize(state, url.Values{"prompt": {"login"}}))
		onPage(t, b, s, "/login", "#password")
		b.Login(s.Demo.Username, s.Demo.Password)
		onPage(t, b, s, "/second_factor", "#code")
	}

	t.Run("PasswordAndCode", func(t *testing.T) {
		b := second.For(t)
		secondFactor(t, b, "totp")
		shoot(t, b, "second-factor")
		requireTabOrder(t, b, "#code", `button[type="submit"]`)
		b.Fill("#code", "000000")
		b.Click(`button[type="submit"]`)
		onPage(t, b, s, "/second_factor", "#code")
		if got := alertText(b); !strings.Contains(got, "not correct") {
			t.Errorf("a wrong code: alert %q", got)
		}
		shoot(t, b, "second-factor-wrong")
		b.Fill("#code", phone.code(t))
		b.Click(`button[type="submit"]`)
		code := requireCode(t, rp.mustTake(t, b, "/cb"), "totp")
		c := idTokenClaims(t, redeem(t, s, app, rp.URL("/cb"), code))
		if amr := amrOf(c); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
			t.Errorf("password and code: amr %v", amr)
		}
	})

	t.Run("RecoveryCodeOnce", func(t *testing.T) {
		b := second.For(t)
		use := func(state string) {
			t.Helper()
			secondFactor(t, b, state)
			b.ClickLabel("Use a recovery code")
			onPage(t, b, s, "/second_factor", "#code")
			b.Fill("#code", recovery[4])
			b.Click(`button[type="submit"]`)
		}
		use("recovery1")
		requireCode(t, rp.mustTake(t, b, "/cb"), "recovery1")
		use("recovery2")
		onPage(t, b, s, "/second_factor", "#code")
		if got := alertText(b); !strings.Contains(got, "not correct") {
			t.Errorf("a recovery code used twice: alert %q", got)
		}
		shoot(t, b, "recovery-code-used")
		if _, ok := rp.take("/cb", 0); ok {
			t.Error("the client got a response for a spent recovery code")
		}
	})
}
