package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

const invalidUserCode = "That code is not valid or has expired. Check the code shown on your device."

// TestDeviceCode drives the verification page /demo/device. The wrong and
// expired codes run first in the shared browser; only the last subtest
// signs in.
func TestDeviceCode(t *testing.T) {
	t.Parallel()
	browser := harness.NewBrowser(t)
	s := harness.Start(t)

	// enterCode types a code on the verification page and submits it.
	enterCode := func(t *testing.T, b *harness.Browser, verificationURI, typed string) {
		t.Helper()
		b.Navigate(verificationURI)
		onPage(t, b, s, "/device", "#user_code")
		b.Fill("#user_code", typed)
		b.Click(`button[type="submit"]`)
	}
	rejected := func(t *testing.T, b *harness.Browser, typed string) {
		t.Helper()
		onPage(t, b, s, "/device", "#user_code")
		if got := alertText(b); got != invalidUserCode {
			t.Errorf("error %q, want %q", got, invalidUserCode)
		}
		if got := b.Value("#user_code"); got != typed {
			t.Errorf("the code field holds %q, want the typed %q back", got, typed)
		}
	}

	t.Run("WrongCode", func(t *testing.T) {
		b := browser.For(t)
		enterCode(t, b, s.Authority()+"/device", "BCDF-GHJK")
		rejected(t, b, "BCDF-GHJK")
	})

	t.Run("ExpiredCode", func(t *testing.T) {
		b := browser.For(t)
		deviceCode, userCode, verificationURI := startDevice(t, s)
		expireDeviceCode(t, s, userCode)
		enterCode(t, b, verificationURI, userCode)
		rejected(t, b, userCode)
		if status, body := pollDevice(t, s, deviceCode); status != http.StatusBadRequest || body["error"] != "expired_token" {
			t.Errorf("polling an expired device code: %d %v, want expired_token", status, body)
		}
	})

	t.Run("Success", func(t *testing.T) {
		b := browser.For(t)
		deviceCode, userCode, verificationURI := startDevice(t, s)
		if status, body := pollDevice(t, s, deviceCode); status != http.StatusBadRequest || body["error"] != "authorization_pending" {
			t.Fatalf("polling before sign-in: %d %v, want authorization_pending", status, body)
		}
		polledAt := time.Now()

		// As a person might type it: lower case, no dash.
		enterCode(t, b, verificationURI, strings.ToLower(strings.ReplaceAll(userCode, "-", "")))
		onPage(t, b, s, "/login", "#password")
		b.Login(s.Demo.Username, s.Demo.Password)
		onPage(t, b, s, "/consent", `button[value="accept"]`)
		// Consent is always asked for a device, naming the app it lets in.
		if text := b.InnerText(); !strings.Contains(text, "Demo Native App") {
			t.Errorf("the consent page does not name the device's app:\n%s", text)
		}
		b.Consent(true)
		if title, text := b.Title(), b.InnerText(); !strings.Contains(title, "signed in") || !strings.Contains(text, "You have signed in to the application on your device") {
			t.Fatalf("after consent the page is %q:\n%s", title, text)
		}
		requireAccessible(t, b)

		// The device polls no faster than it was told to (5 s, or 1/4 of it
		// before slow_down); sign-in usually took long enough.
		if wait := 1500*time.Millisecond - time.Since(polledAt); wait > 0 {
			time.Sleep(wait)
		}
		status, body := pollDevice(t, s, deviceCode)
		if status != http.StatusOK || body["access_token"] == nil || body["id_token"] == nil || body["refresh_token"] == nil {
			t.Fatalf("the device's token request: %d %v", status, body)
		}
		if status, body := pollDevice(t, s, deviceCode); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("a second redemption of the device code: %d %v, want invalid_grant", status, body)
		}
	})
}
