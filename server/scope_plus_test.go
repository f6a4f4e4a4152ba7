package server_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestScopeWithLiteralPlus: seed 003's Express app configures its scope as
// 'openid+offline_access' and posts it through axios, whose form encoder
// sends the '+' as %2B. A list that is only valid with '+' read as a space
// is read that way; anything else with a '+' is still invalid_scope.
func TestScopeWithLiteralPlus(t *testing.T) {
	e := newEnv(t)
	o := e.browser().signIn(e.url("/oauth2/authorize?client_id=" + e.web.ClientID + "&response_type=code&redirect_uri=" +
		url.QueryEscape(webRedirect) + "&scope=openid+offline_access&state=s"))
	code := o.Params.Get("code")
	if code == "" {
		t.Fatalf("no code: %+v", o)
	}
	form := "client_id=" + e.web.ClientID + "&client_secret=" + url.QueryEscape(e.secret) + "&code=" + url.QueryEscape(code) +
		"&grant_type=authorization_code&response_type=code&redirect_uri=" + url.QueryEscape(webRedirect) + "&scope=openid%2Boffline_access"
	status, resp, _ := e.postRaw(e.url("/oauth2/token"), "application/x-www-form-urlencoded", form, nil)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, resp)
	}
	if resp["scope"] != "openid offline_access" || resp["refresh_token"] == nil || resp["id_token"] == nil {
		t.Errorf("token response: %v", resp)
	}
	status, resp, _ = e.post(e.url("/oauth2/token"), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {resp["refresh_token"].(string)}, "scope": {"openid+offline_access"}})
	if status != http.StatusOK || resp["scope"] != "openid offline_access" {
		t.Fatalf("refresh: %d %v", status, resp)
	}
	status, resp, _ = e.post(e.url("/oauth2/token"), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {resp["refresh_token"].(string)}, "scope": {"openid+bogus"}})
	if status != http.StatusBadRequest || resp["error"] != "invalid_scope" {
		t.Errorf("openid+bogus: %d %v", status, resp)
	}
}
