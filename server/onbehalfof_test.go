package server_test

import (
	"net/url"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// middleTier registers web API A: it exposes user_impersonation, needs
// Files.Read on the files API, and has a secret. The native app needs A.
func (e *env) middleTier(adminConsent bool) (store.App, string) {
	e.t.Helper()
	ctx := e.t.Context()
	a, err := e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: "Middle API"})
	if err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.admin.Expose(ctx, a, "api://middle", []string{"user_impersonation"}, nil); err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.admin.AddPermission(ctx, a, "api://files", []string{"Files.Read"}, nil); err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.admin.AddSecret(ctx, a, "obo", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	if adminConsent {
		if _, err := e.admin.GrantAdminConsent(ctx, a); err != nil {
			e.t.Fatal(err)
		}
	}
	if e.native, err = e.admin.AddPermission(ctx, e.native, "api://middle", []string{"user_impersonation"}, nil); err != nil {
		e.t.Fatal(err)
	}
	return a, secret
}

// userTokenFor signs alice in to the native app for scope and returns the
// access token.
func (e *env) userTokenFor(scope string) string {
	e.t.Helper()
	verifier, challenge := pkcePair()
	code := codeFor(e, e.browser(), e.native.ClientID, "http://localhost:4444", scope, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID},
		"code": {code}, "redirect_uri": {"http://localhost:4444"}, "code_verifier": {verifier}})
	if status != 200 {
		e.t.Fatalf("%d %v", status, resp)
	}
	return resp["access_token"].(string)
}

func obo(e *env, a store.App, secret, assertion, scope string) (int, map[string]any) {
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"client_id": {a.ClientID}, "client_secret": {secret}, "assertion": {assertion}, "scope": {scope},
		"requested_token_use": {"on_behalf_of"}})
	return status, resp
}

func TestOnBehalfOfChain(t *testing.T) {
	e := newEnv(t)
	a, secret := e.middleTier(false)
	tokenA := e.userTokenFor("api://middle/user_impersonation openid profile offline_access")
	_, claimsA := e.verifyJWT(tokenA, "at+jwt", a.ClientID)

	// Nobody consented to A using the files API yet.
	status, resp := obo(e, a, secret, tokenA, "api://files/Files.Read openid profile offline_access")
	if status != 400 || resp["error"] != "invalid_grant" || resp["suberror"] != "consent_required" {
		t.Fatalf("OBO without consent: %d %v", status, resp)
	}
	if _, err := e.admin.GrantAdminConsent(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	status, resp = obo(e, a, secret, tokenA, "api://files/Files.Read openid profile offline_access")
	if status != 200 {
		t.Fatalf("OBO: %d %v", status, resp)
	}
	_, claimsB := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
	if claimsB["oid"] != claimsA["oid"] || claimsB["oid"] != e.user.ID || claimsB["azp"] != a.ClientID || claimsB["scp"] != "Files.Read" {
		t.Errorf("downstream token: %v", claimsB)
	}
	if resp["refresh_token"] == nil {
		t.Error("OBO with offline_access granted returned no refresh token")
	}
	// The OBO refresh token works for A.
	status, r2, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {a.ClientID}, "client_secret": {secret},
		"refresh_token": {resp["refresh_token"].(string)}, "scope": {"api://files/Files.Read offline_access"}})
	if status != 200 {
		t.Fatalf("refresh of an OBO token: %d %v", status, r2)
	}

	// A scope of the downstream API nobody consented to.
	status, resp = obo(e, a, secret, tokenA, "api://files/Files.Write")
	if status != 400 || resp["suberror"] != "consent_required" {
		t.Errorf("unconsented downstream scope: %d %v", status, resp)
	}
	// Another confidential app cannot use A's token.
	status, resp = obo(e, e.daemon, e.daemonPW, tokenA, "api://files/Files.Read")
	if status != 400 || resp["error"] != "invalid_grant" {
		t.Errorf("assertion for another audience: %d %v", status, resp)
	}
}
