package server_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
)

// TestTokenExchangeActorMustBeCaller: an actor_token is accepted only when
// it represents the calling client (RFC 8693 §2.1, §4.1); any other token
// of the tenant, a user's token issued to another client, an ID token or
// garbage, is refused with invalid_request and issues nothing.
func TestTokenExchangeActorMustBeCaller(t *testing.T) {
	e := newEnv(t)
	a, secret := e.middleTier(true)
	subject := e.userTokenFor("api://middle/user_impersonation openid")
	exchange := func(actor string) (int, map[string]any) {
		status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"client_id": {a.ClientID}, "client_secret": {secret}, "audience": {"api://files"},
			"subject_token": {subject}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
			"actor_token": {actor}, "actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}})
		return status, resp
	}
	_, daemon, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	otherUsersToken := e.userTokenFor("api://files/Files.Read")
	idToken := webTokens(e, "openid")["id_token"].(string)
	for name, actor := range map[string]string{
		"another app's token":               daemon["access_token"].(string),
		"a user's token of another client":  otherUsersToken,
		"the subject token itself":          subject,
		"an ID token":                       idToken,
		"a token with its signature broken": subject[:len(subject)-4] + "AAAA",
	} {
		status, resp := exchange(actor)
		if status != 400 || resp["error"] != "invalid_request" || resp["access_token"] != nil {
			t.Errorf("%s as actor: %d %v, want 400 invalid_request", name, status, resp)
		}
	}
	// The caller's own token is the actor it may name.
	_, own, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID},
		"client_secret": {secret}, "scope": {a.ClientID + "/.default"}})
	if status, resp := exchange(own["access_token"].(string)); status != 200 {
		t.Errorf("own token as actor: %d %v", status, resp)
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

// TestUserInfoAudience: userinfo accepts only tokens for the userinfo
// resource (what a grant of only OpenID Connect scopes returns), not a
// resource's token whose scp happens to say openid: here an API that
// exposed a scope named openid before such names were refused.
func TestUserInfoAudience(t *testing.T) {
	e := newEnv(t)
	api, err := e.admin.RegisterApp(t.Context(), e.tenant, admin.RegisterOptions{Name: "Legacy API"})
	if err != nil {
		t.Fatal(err)
	}
	api.IdentifierURI = "api://legacy"
	api.Scopes = []string{"openid", "read"}
	if err := e.store.UpdateApp(t.Context(), api); err != nil {
		t.Fatal(err)
	}
	resourceToken := e.userTokenFor("api://legacy/openid api://legacy/read")
	_, claims := e.verifyJWT(resourceToken, "at+jwt", api.ClientID)
	if !strings.Contains(claims["scp"].(string), "openid") {
		t.Fatalf("the resource token's scp %q lacks openid; the test needs it", claims["scp"])
	}
	status, body, h := e.userinfo(resourceToken)
	assertProtocolError(t, status, body, h, 401, "invalid_token")
	if body["sub"] != nil {
		t.Errorf("userinfo answered claims for a resource token: %v", body)
	}
	// The token of a grant of only OpenID Connect scopes still works.
	if status, body, _ := e.userinfo(webTokens(e, "openid profile")["access_token"].(string)); status != 200 || body["sub"] != e.user.ID {
		t.Errorf("userinfo token: %d %v", status, body)
	}
}
