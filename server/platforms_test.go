package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// A confidential app with Web, Single-page application and Mobile and
// desktop platforms, as the Entra portal's Authentication page builds it:
// codes sent to its single-page and mobile redirect URIs are redeemed
// without the secret, with PKCE, and so are their refresh tokens; codes
// sent to its Web redirect URI, and their refresh tokens, need the
// secret, and a caller without it can neither redeem nor revoke them.
func TestRedirectPlatformsOfAConfidentialApp(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const spa, mobile = "https://spa.contoso.test/", "http://localhost"
	app, err := e.admin.AddPlatformRedirectURIs(ctx, e.web, admin.PlatformSPA, []string{spa})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = e.admin.AddPlatformRedirectURIs(ctx, app, admin.PlatformMobile, []string{mobile}); err != nil {
		t.Fatal(err)
	}
	id := e.web.ClientID
	scope := "openid offline_access api://" + id + "/access_as_user"
	redeem := func(redirect, code, verifier string, secret bool) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {id}, "code": {code}, "redirect_uri": {redirect}}
		if verifier != "" {
			form.Set("code_verifier", verifier)
		}
		if secret {
			form.Set("client_secret", e.secret)
		}
		status, resp, _ := e.post(e.tokenURL(), form)
		return status, resp
	}
	refresh := func(rt string, secret bool) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {rt}}
		if secret {
			form.Set("client_secret", e.secret)
		}
		status, resp, _ := e.post(e.tokenURL(), form)
		return status, resp
	}

	for _, redirect := range []string{spa, "http://localhost:53123"} {
		verifier, challenge := pkcePair()
		code := codeFor(e, e.browser(), id, redirect, scope, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		status, tokens := redeem(redirect, code, verifier, false)
		if status != http.StatusOK || tokens["refresh_token"] == nil {
			t.Fatalf("%s: the code redeemed without the secret: %d %v", redirect, status, tokens)
		}
		status, tokens = refresh(tokens["refresh_token"].(string), false)
		if status != http.StatusOK || tokens["refresh_token"] == nil {
			t.Fatalf("%s: its refresh token without the secret: %d %v", redirect, status, tokens)
		}
	}

	// A single-page redirect URI without PKCE is refused at the authorize
	// endpoint, back at the redirect URI.
	o := e.browser().signIn(authorizeURL(e, id, spa, scope, nil))
	if o.Params.Get("error") != "invalid_request" {
		t.Errorf("a single-page redirect without PKCE: %v", o.Params)
	}

	// The Web redirect URI's code: the secret is needed, and without it
	// the code is not spent.
	code := codeFor(e, e.browser(), id, webRedirect, scope, nil)
	if status, resp := redeem(webRedirect, code, "", false); status != http.StatusUnauthorized || resp["error"] != "invalid_client" {
		t.Fatalf("the Web code without the secret: %d %v", status, resp)
	}
	status, tokens := redeem(webRedirect, code, "", true)
	if status != http.StatusOK {
		t.Fatalf("the Web code with the secret, after a refused try: %d %v", status, tokens)
	}
	rt := tokens["refresh_token"].(string)
	if status, resp := refresh(rt, false); status != http.StatusUnauthorized || resp["error"] != "invalid_client" {
		t.Fatalf("the Web grant's refresh token without the secret: %d %v", status, resp)
	}
	if status, resp := refresh(rt, true); status != http.StatusOK {
		t.Fatalf("the Web grant's refresh token with the secret, after a refused try: %d %v", status, resp)
	}

	// Other grants still need the secret.
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "scope": {"api://files/.default"}})
	if status != http.StatusUnauthorized || resp["error"] != "invalid_client" {
		t.Errorf("client credentials without the secret: %d %v", status, resp)
	}

	// A redirect URI on one platform only; a public app has no Web one.
	if _, err := e.admin.AddPlatformRedirectURIs(ctx, e.mustApp(id), admin.PlatformWeb, []string{spa}); err == nil {
		t.Error("one redirect URI was registered on two platforms")
	}
	if _, err := e.admin.AddPlatformRedirectURIs(ctx, e.native, admin.PlatformWeb, []string{"https://native.test/cb"}); err == nil {
		t.Error("a public client got a Web redirect URI")
	}
	if got, err := e.admin.RemoveRedirectURIs(ctx, e.mustApp(id), []string{spa, mobile}); err != nil || len(got.SPARedirectURIs)+len(got.NativeRedirectURIs) != 0 {
		t.Errorf("removing the single-page and mobile URIs: %v %v", got, err)
	}
}

func (e *env) mustApp(clientID string) store.App {
	e.t.Helper()
	app, err := e.admin.App(e.t.Context(), e.tenant, clientID)
	if err != nil {
		e.t.Fatal(err)
	}
	return app
}

// Allow public client flows: a confidential app may then use the device
// code flow without its secret, and refresh that grant without it; before
// it allows them, the device authorization without the secret is refused.
func TestAllowPublicClientFlows(t *testing.T) {
	e := newEnv(t)
	id := e.web.ClientID
	scope := "openid offline_access api://" + id + "/access_as_user"
	status, resp, _ := e.post(e.authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {id}, "scope": {scope}})
	if status != http.StatusUnauthorized || resp["error"] != "invalid_client" {
		t.Fatalf("device authorization without the secret, flows not allowed: %d %v", status, resp)
	}
	allow := true
	if _, err := e.admin.PatchApp(t.Context(), e.mustApp(id), admin.AppPatch{AllowPublicClientFlows: &allow}); err != nil {
		t.Fatal(err)
	}
	da := e.deviceAuthorize(id, scope)
	b := e.browser()
	page := b.Get(da["verification_uri"].(string))
	o := b.Login(b.Submit(page, map[string]string{"user_code": da["user_code"].(string)}), "alice@contoso.test", e.password)
	if o = b.Consent(o, "accept"); o.Status != http.StatusOK {
		t.Fatalf("device approval: %d", o.Status)
	}
	status, tokens := e.pollDevice(deviceGrant, id, da["device_code"].(string))
	if status != http.StatusOK || tokens["refresh_token"] == nil {
		t.Fatalf("the device code without the secret: %d %v", status, tokens)
	}
	status, resp, _ = e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {tokens["refresh_token"].(string)}})
	if status != http.StatusOK {
		t.Fatalf("the device grant's refresh token without the secret: %d %v", status, resp)
	}
	// Turned off again, the grant it gave needs the secret from now on:
	// refused without it (and not revoked), refreshed with it.
	rt := resp["refresh_token"].(string)
	allow = false
	if _, err := e.admin.PatchApp(t.Context(), e.mustApp(id), admin.AppPatch{AllowPublicClientFlows: &allow}); err != nil {
		t.Fatal(err)
	}
	if status, resp, _ = e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {rt}}); status != http.StatusUnauthorized {
		t.Fatalf("the device grant without the secret after public client flows were turned off: %d %v", status, resp)
	}
	if status, resp, _ = e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {e.secret}, "refresh_token": {rt}}); status != http.StatusOK {
		t.Fatalf("the device grant with the secret: %d %v", status, resp)
	}
	// A public app's flows are public already: it cannot turn them off.
	no := false
	if _, err := e.admin.PatchApp(t.Context(), e.native, admin.AppPatch{AllowPublicClientFlows: &no}); err == nil {
		t.Error("a public client turned public client flows off")
	}
}
