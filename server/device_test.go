package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (e *env) deviceAuthorize(clientID, scope string) map[string]any {
	e.t.Helper()
	status, resp, hdr := e.post(e.authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
	if status != http.StatusOK {
		e.t.Fatalf("devicecode: %d %v", status, resp)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		e.t.Errorf("devicecode Cache-Control = %q", hdr.Get("Cache-Control"))
	}
	return resp
}

func (e *env) pollDevice(grantType, clientID, deviceCode string) (int, map[string]any) {
	e.t.Helper()
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {grantType}, "client_id": {clientID}, "device_code": {deviceCode}, "client_info": {"1"}})
	return status, resp
}

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

func TestDeviceCodeFlow(t *testing.T) {
	e := newEnv(t)
	da := e.deviceAuthorize(e.native.ClientID, "api://files/Files.Read openid profile offline_access")
	for _, k := range []string{"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval", "message"} {
		if da[k] == nil || da[k] == "" {
			t.Errorf("device authorization lacks %s: %v", k, da)
		}
	}
	userCode := da["user_code"].(string)
	verify := da["verification_uri"].(string)
	if da["message"] != "To sign in, use a web browser to open the page "+verify+" and enter the code "+userCode+" to authenticate." {
		t.Errorf("message = %q", da["message"])
	}
	if verify != e.authority()+"/device" || da["expires_in"] != float64(900) || da["interval"] != float64(5) {
		t.Errorf("verification_uri %v expires_in %v interval %v", verify, da["expires_in"], da["interval"])
	}
	for _, r := range strings.ReplaceAll(userCode, "-", "") {
		if strings.ContainsRune("AEIOU01", r) {
			t.Errorf("user code %q contains %q", userCode, r)
		}
	}
	dc := da["device_code"].(string)

	status, resp := e.pollDevice(deviceGrant, e.native.ClientID, dc)
	assertPollError(t, status, resp, "authorization_pending")
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, dc)
	assertPollError(t, status, resp, "slow_down")
	e.clock.Advance(5 * time.Second)
	status, resp = e.pollDevice("device_code", e.native.ClientID, dc)
	assertPollError(t, status, resp, "authorization_pending")

	// The user types the code in any case, without the dash.
	b := e.browser()
	page := b.Get(verify)
	if !strings.Contains(page.Body, `name="user_code"`) {
		t.Fatalf("no user code form:\n%s", page.Body)
	}
	o := b.Submit(page, map[string]string{"user_code": strings.ToLower(strings.ReplaceAll(userCode, "-", ""))})
	o = b.Login(o, "alice@contoso.test", e.password)
	if !strings.Contains(o.Body, "Native App") {
		t.Errorf("consent page does not name the device's app:\n%s", o.Body)
	}
	o = b.Consent(o, "accept")
	if o.Status != 200 || !strings.Contains(o.Body, "signed in") {
		t.Fatalf("device result page: %d\n%s", o.Status, o.Body)
	}

	e.clock.Advance(5 * time.Second)
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, dc)
	if status != 200 {
		t.Fatalf("device token: %d %v", status, resp)
	}
	for _, k := range []string{"access_token", "id_token", "refresh_token", "client_info"} {
		if resp[k] == nil {
			t.Errorf("device token response lacks %s", k)
		}
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["scp"] != "Files.Read" || claims["oid"] != e.user.ID {
		t.Errorf("device access token claims: %v", claims)
	}
	// The ID token, verified against the served JWKS like the access token.
	id := e.verifyIDToken(resp["id_token"].(string), e.native.ClientID, "")
	if id["sub"] != e.user.ID || id["tid"] != e.tenant.ID || id["preferred_username"] != "alice@contoso.test" || id["auth_time"] == nil {
		t.Errorf("device ID token claims: %v", id)
	}
	// A device code redeems once.
	e.clock.Advance(5 * time.Second)
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, dc)
	assertPollError(t, status, resp, "invalid_grant")

	// A second device, with the same browser: the SSO session is reused
	// but the user still confirms which app gets in.
	da2 := e.deviceAuthorize(e.native.ClientID, "openid")
	o = b.Get(da2["verification_uri_complete"].(string))
	if !strings.Contains(o.Body, da2["user_code"].(string)) {
		t.Errorf("verification_uri_complete does not prefill the code")
	}
	o = b.Submit(o, nil)
	if o.Page != "consent" {
		t.Fatalf("a known user must still confirm: page %q", o.Page)
	}
}

func assertPollError(t *testing.T, status int, resp map[string]any, code string) {
	t.Helper()
	if status != http.StatusBadRequest || resp["error"] != code || resp["access_token"] != nil {
		t.Fatalf("want 400 %s, got %d %v", code, status, resp)
	}
}

func TestDeviceCodeDeniedAndExpired(t *testing.T) {
	e := newEnv(t)
	da := e.deviceAuthorize(e.native.ClientID, "openid")
	b := e.browser()
	o := b.Submit(b.Get(da["verification_uri_complete"].(string)), nil)
	o = b.Login(o, "alice@contoso.test", e.password)
	o = b.Consent(o, "cancel")
	if !strings.Contains(o.Body, "cancelled") {
		t.Errorf("denial page:\n%s", o.Body)
	}
	status, resp := e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
	assertPollError(t, status, resp, "access_denied")

	da = e.deviceAuthorize(e.native.ClientID, "openid")
	e.clock.Advance(16 * time.Minute)
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
	assertPollError(t, status, resp, "expired_token")
	// An expired code cannot be entered either.
	o = b.Submit(b.Get(da["verification_uri_complete"].(string)), nil)
	if o.Page != "" || !strings.Contains(o.Body, "not valid or has expired") {
		t.Errorf("expired code accepted on the page: %q\n%s", o.Page, o.Body)
	}
}
