package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func (e *env) revokeToken(clientID, secret, tok, hint string) (int, map[string]any) {
	e.t.Helper()
	v := url.Values{"client_id": {clientID}, "token": {tok}}
	if secret != "" {
		v.Set("client_secret", secret)
	}
	if hint != "" {
		v.Set("token_type_hint", hint)
	}
	req, _ := http.NewRequest(http.MethodPost, e.authority()+"/oauth2/v2.0/revoke", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		return 200, nil
	}
	return resp.StatusCode, decodeJSON(e.t, resp.Body)
}

func (e *env) introspectToken(clientID, secret, tok string) (int, map[string]any) {
	e.t.Helper()
	status, resp, _ := e.post(e.authority()+"/oauth2/v2.0/introspect", url.Values{"client_id": {clientID}, "client_secret": {secret}, "token": {tok}})
	return status, resp
}

func TestRevocationAndIntrospection(t *testing.T) {
	e := newEnv(t)
	apiSecret, _, err := e.admin.AddSecret(t.Context(), e.api, "resource server", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	// The web app's own tokens, for the refresh token part.
	tokens := webTokens(e, "openid offline_access")
	// The web app has no permission on files: use the native app instead.
	at := e.userTokenFor("api://files/Files.Read openid offline_access")

	status, in := e.introspectToken(e.api.ClientID, apiSecret, at)
	if status != 200 || in["active"] != true || in["sub"] != e.user.ID || in["aud"] != e.api.ClientID || in["scope"] != "Files.Read" || in["client_id"] != e.native.ClientID {
		t.Fatalf("introspection by the audience: %d %v", status, in)
	}
	// A token nobody acted for has no act member, not "act": null.
	if _, present := in["act"]; present {
		t.Errorf("introspection of a token without an actor has act: %v", in["act"])
	}
	// A client that is neither audience nor holder learns nothing.
	if status, in := e.introspectToken(e.daemon.ClientID, e.daemonPW, at); status != 200 || in["active"] != false || len(in) != 1 {
		t.Errorf("introspection by a stranger: %d %v", status, in)
	}
	// Public clients may not introspect.
	status, in, h := e.post(e.authority()+"/oauth2/v2.0/introspect", url.Values{"client_id": {e.native.ClientID}, "token": {at}})
	assertProtocolError(t, status, in, h, 401, "invalid_client")

	// Revoking the access token: introspection says inactive afterwards.
	if status, resp := e.revokeToken(e.native.ClientID, "", at, "access_token"); status != 200 {
		t.Fatalf("revoke access token: %d %v", status, resp)
	}
	if status, in := e.introspectToken(e.api.ClientID, apiSecret, at); status != 200 || in["active"] != false {
		t.Errorf("revoked access token: %d %v", status, in)
	}

	// Refresh tokens: introspection by the owner, revocation of the family.
	rt := tokens["refresh_token"].(string)
	if status, in := e.introspectToken(e.web.ClientID, e.secret, rt); status != 200 || in["active"] != true || in["client_id"] != e.web.ClientID {
		t.Errorf("refresh introspection: %d %v", status, in)
	}
	_, r1 := e.refresh(rt, nil)
	rt1 := r1["refresh_token"].(string)
	if _, in := e.introspectToken(e.web.ClientID, e.secret, rt); in["active"] != false {
		t.Error("a rotated refresh token is still active")
	}
	if status, resp := e.revokeToken(e.daemon.ClientID, e.daemonPW, rt1, ""); status != 400 || resp["error"] != "unauthorized_client" {
		t.Errorf("revoking another client's token: %d %v", status, resp)
	}
	if status, _ := e.revokeToken(e.web.ClientID, e.secret, rt1, "refresh_token"); status != 200 {
		t.Fatal("revoke refresh token")
	}
	status, resp := e.refresh(rt1, nil)
	wantDead(t, status, resp)
	// Unknown tokens are not an error.
	if status, _ := e.revokeToken(e.web.ClientID, e.secret, "no-such-token", ""); status != 200 {
		t.Errorf("unknown token: %d", status)
	}
	// Revocation authenticates the client.
	if status, resp := e.revokeToken(e.web.ClientID, "wrong", rt1, ""); status != 401 || resp["error"] != "invalid_client" {
		t.Errorf("revoke with a wrong secret: %d %v", status, resp)
	}
}
