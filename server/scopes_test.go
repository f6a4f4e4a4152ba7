package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// wantNotListed checks Entra's AADSTS650057 answer: the resource is not
// among the client's configured permissions, and no token comes out.
func wantNotListed(t *testing.T, what string, status int, resp map[string]any, h http.Header) {
	t.Helper()
	t.Run(what, func(t *testing.T) {
		assertProtocolError(t, status, resp, h, http.StatusBadRequest, "invalid_scope")
		if codes, _ := resp["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(650057) {
			t.Errorf("error_codes = %v, want [650057]", resp["error_codes"])
		}
	})
}

// TestDefaultOfUnlistedResourceIsRefused: "{resource}/.default" of an app
// the client has no permission configured on is invalid_scope in every
// grant, instead of a token with that audience and no scp or roles. The
// web app needs nothing on the files API; the daemon exposes no scope at
// all, so nobody can be configured to need one of it.
func TestDefaultOfUnlistedResourceIsRefused(t *testing.T) {
	e := newEnv(t)

	// Authorize: an error sent back to the client.
	o := e.browser().Get(authorizeURL(e, e.web.ClientID, webRedirect, "api://files/.default openid", nil))
	if o.Callback == nil || o.Params.Get("error") != "invalid_scope" || o.Params.Get("code") != "" {
		t.Errorf("authorize: %d %q %v", o.Status, o.Page, o.Params)
	}

	// Device authorization: the native app needs Files.Read, nothing of
	// the web app's API.
	status, resp, h := e.post(e.authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {e.native.ClientID}, "scope": {e.web.ClientID + "/.default"}})
	wantNotListed(t, "device authorization", status, resp, h)

	// Refresh, to a resource with scopes and to one without.
	rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
	for _, scope := range []string{"api://files/.default", e.daemon.ClientID + "/.default offline_access"} {
		status, resp, h := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
			"client_secret": {e.secret}, "refresh_token": {rt}, "scope": {scope}})
		wantNotListed(t, "refresh "+scope, status, resp, h)
	}

	// On-behalf-of and token exchange by a middle tier configured for the
	// files API only, towards the daemon, which exposes nothing.
	a, secret := e.middleTier(true)
	tokenA := e.userTokenFor("api://middle/user_impersonation openid")
	status, resp, h = e.post(e.tokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"client_id": {a.ClientID}, "client_secret": {secret}, "assertion": {tokenA}, "scope": {e.daemon.ClientID + "/.default"},
		"requested_token_use": {"on_behalf_of"}})
	wantNotListed(t, "on-behalf-of", status, resp, h)
	status, resp, h = e.post(e.tokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id": {a.ClientID}, "client_secret": {secret}, "subject_token": {tokenA},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {e.daemon.ClientID}})
	wantNotListed(t, "token exchange", status, resp, h)

	// Client credentials: the web app has no app role permission on files.
	status, resp, h = e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "scope": {"api://files/.default"}})
	wantNotListed(t, "client credentials", status, resp, h)

	// The client's own API needs no setup, in every grant (seed 002's
	// {AppReg ID}/.default, and MSAL's client credentials against it).
	status, resp, _ = e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "scope": {e.web.ClientID + "/.default"}})
	if status != http.StatusOK {
		t.Fatalf("client credentials for the app's own id: %d %v", status, resp)
	}
	e.verifyJWT(resp["access_token"].(string), "at+jwt", e.web.ClientID)
	status, resp, _ = e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {e.daemon.ClientID + "/.default"}})
	if status != http.StatusOK {
		t.Fatalf("client credentials for an app exposing nothing, as itself: %d %v", status, resp)
	}
	status, resp = e.refresh(rt, url.Values{"scope": {e.web.ClientID + "/.default offline_access"}})
	if status != http.StatusOK {
		t.Fatalf("refresh for the app's own id: %d %v", status, resp)
	}
	// And a scope asked by name is dynamic consent: the user is asked,
	// and the token carries it.
	o = e.browser().signIn(authorizeURL(e, e.web.ClientID, webRedirect, "api://files/Files.Read", nil))
	status, resp, _ = e.post(e.tokenURL(), redeemWeb(e, o.Params.Get("code")))
	if status != http.StatusOK {
		t.Fatalf("named scope: %d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["scp"] != "Files.Read" {
		t.Errorf("named scope: scp = %v", claims["scp"])
	}
}

// TestReservedScopeNames: an app cannot expose the OpenID Connect scope
// names, in any case, as scopes or app roles.
func TestReservedScopeNames(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"openid", "profile", "email", "offline_access", "OpenID", "Offline_Access"} {
		if _, err := e.admin.Expose(t.Context(), e.api, "", []string{name}, nil); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("expose scope %q: %v, want refused as reserved", name, err)
		}
		if _, err := e.admin.Expose(t.Context(), e.api, "", nil, []string{name}); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("expose role %q: %v, want refused as reserved", name, err)
		}
	}
	if _, err := e.admin.Expose(t.Context(), e.api, "", []string{"openid.read"}, nil); err != nil {
		t.Errorf("a scope that only starts like a reserved name: %v", err)
	}
}
