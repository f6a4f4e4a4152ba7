package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A code issued in a sign-in session is worthless once the user signed out
// of it: redeemed after the sign-out it would start a refresh family that
// outlives the session the user meant to end.
func TestCodeOfEndedSessionIsRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	first := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
	_, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, first))
	// Signed in already: the next code comes from the same session.
	pending := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)

	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)}}.Encode())
	if !strings.Contains(o.Body, "signed out") {
		t.Fatalf("logout: %d %s", o.Status, o.Body)
	}
	status, resp, _ := e.post(e.tokenURL(), redeemWeb(e, pending))
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || resp["suberror"] != "bad_token" || resp["refresh_token"] != nil {
		t.Fatalf("code of an ended session: %d %v", status, resp)
	}
	if codes, _ := resp["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(50133) {
		t.Errorf("error_codes = %v", resp["error_codes"])
	}

	// The same holds for a session that expired on its own: a code issued
	// a minute before the session's 12 hours are up, redeemed two minutes
	// later (while the code itself is still good).
	b2 := e.browser()
	codeFor(e, b2, e.web.ClientID, webRedirect, "openid", nil)
	e.clock.Advance(12*time.Hour - time.Minute)
	code := codeFor(e, b2, e.web.ClientID, webRedirect, "openid", nil)
	e.clock.Advance(2 * time.Minute)
	status, resp, _ = e.post(e.tokenURL(), redeemWeb(e, code))
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" {
		t.Fatalf("code redeemed after its session expired: %d %v", status, resp)
	}
	if codes, _ := resp["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(50133) {
		t.Errorf("code of an expired session: error_codes = %v, want the ended session's 50133 (not an expired code's)", resp["error_codes"])
	}
}

// A device approved in a browser session that was then signed out gets no
// tokens: signing out of the session ends what it approved.
func TestDeviceCodeOfEndedSessionIsRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	first := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
	_, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, first))

	da := e.deviceAuthorize(e.native.ClientID, "openid offline_access")
	o := b.Get(da["verification_uri_complete"].(string))
	o = b.Submit(o, nil)
	o = b.Consent(o, "accept")
	if !strings.Contains(o.Body, "signed in") {
		t.Fatalf("device approval: %d %s", o.Status, o.Body)
	}
	b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)}}.Encode())

	e.clock.Advance(5 * time.Second)
	status, resp := e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || resp["access_token"] != nil {
		t.Fatalf("device code of an ended session: %d %v", status, resp)
	}
}
