package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestCodeReplayRevokesAccessToken(t *testing.T) {
	e := newEnv(t)
	apiSecret, _, _ := e.admin.AddSecret(t.Context(), e.api, "rs", e.clock.Now().AddDate(0, 1, 0))
	verifier, challenge := pkcePair()
	code := codeFor(e, e.browser(), e.native.ClientID, "http://localhost:4444", "api://files/Files.Read", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID}, "code": {code}, "redirect_uri": {"http://localhost:4444"}, "code_verifier": {verifier}}
	_, first, _ := e.post(e.tokenURL(), form)
	at := first["access_token"].(string)
	if _, in := e.introspectToken(e.api.ClientID, apiSecret, at); in["active"] != true {
		t.Fatal("fresh token inactive")
	}
	if status, _, _ := e.post(e.tokenURL(), form); status != 400 {
		t.Fatal("replay accepted")
	}
	if _, in := e.introspectToken(e.api.ClientID, apiSecret, at); in["active"] != false {
		t.Error("the access token issued from a replayed code is still active")
	}
}

func TestCodeReplayRevokesIssuedTokens(t *testing.T) {
	e := newEnv(t)
	code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid offline_access", nil)
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}}
	status, first, _ := e.post(e.tokenURL(), form)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, first)
	}
	status, again, _ := e.post(e.tokenURL(), form)
	if status != http.StatusBadRequest || again["error"] != "invalid_grant" || again["access_token"] != nil {
		t.Fatalf("replay: %d %v", status, again)
	}
	status, resp := e.refresh(first["refresh_token"].(string), nil)
	wantDead(t, status, resp)
}

func TestCodeExpires(t *testing.T) {
	e := newEnv(t)
	code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid", nil)
	e.clock.Advance(10*time.Minute + time.Second)
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}})
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" {
		t.Fatalf("%d %v", status, resp)
	}
}

func TestPerAppAccessTokenLifetime(t *testing.T) {
	e := newEnv(t)
	d := 15 * time.Minute
	if _, err := e.admin.Set(t.Context(), e.web, adminAccessLifetime(d)); err != nil {
		t.Fatal(err)
	}
	resp := webTokens(e, "openid")
	if resp["expires_in"] != float64(900) {
		t.Errorf("expires_in = %v", resp["expires_in"])
	}
}
