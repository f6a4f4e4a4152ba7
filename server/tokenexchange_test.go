package server_test

import (
	"net/url"
	"testing"
)

func TestTokenExchange(t *testing.T) {
	e := newEnv(t)
	a, secret := e.middleTier(true)
	tokenA := e.userTokenFor("api://middle/user_impersonation openid")
	exchange := func(extra url.Values) (int, map[string]any) {
		v := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {a.ClientID}, "client_secret": {secret},
			"subject_token": {tokenA}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
		for k, vs := range extra {
			v[k] = vs
		}
		status, resp, _ := e.post(e.tokenURL(), v)
		return status, resp
	}
	status, resp := exchange(url.Values{"audience": {"api://files"}, "scope": {"Files.Read"}})
	if status != 200 || resp["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || resp["token_type"] != "Bearer" {
		t.Fatalf("exchange: %d %v", status, resp)
	}
	if resp["refresh_token"] != nil || resp["id_token"] != nil {
		t.Error("token exchange returned more than an access token")
	}
	_, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
	act, _ := claims["act"].(map[string]any)
	if claims["oid"] != e.user.ID || claims["scp"] != "Files.Read" || act["client_id"] != a.ClientID || act["sub"] != a.ServicePrincipalID {
		t.Errorf("exchanged token claims: %v", claims)
	}

	// resource instead of audience, no scope: everything consented.
	status, resp = exchange(url.Values{"resource": {"api://files"}})
	if status != 200 {
		t.Fatalf("exchange by resource: %d %v", status, resp)
	}

	// An actor token names the actor; it must be the caller's own (RFC
	// 8693 §2.1): here the middle tier's token for itself.
	status, own, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID},
		"client_secret": {secret}, "scope": {a.ClientID + "/.default"}})
	if status != 200 {
		t.Fatalf("%d %v", status, own)
	}
	status, resp = exchange(url.Values{"audience": {"api://files"}, "actor_token": {own["access_token"].(string)},
		"actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}})
	if status != 200 {
		t.Fatalf("exchange with actor: %d %v", status, resp)
	}
	_, claims = e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
	act, _ = claims["act"].(map[string]any)
	if act["sub"] != a.ServicePrincipalID || act["client_id"] != a.ClientID {
		t.Errorf("act with actor token: %v", claims["act"])
	}
	// Another app's token is not the caller's to present as actor.
	status, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	if status != 200 {
		t.Fatalf("%d %v", status, cc)
	}

	for name, tc := range map[string]struct {
		extra url.Values
		code  string
	}{
		"unknown audience":       {url.Values{"audience": {"api://nowhere"}}, "invalid_target"},
		"no target":              {url.Values{}, "invalid_request"},
		"refresh token asked":    {url.Values{"audience": {"api://files"}, "requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"}}, "invalid_request"},
		"unexposed scope":        {url.Values{"audience": {"api://files"}, "scope": {"Files.Delete"}}, "invalid_scope"},
		"unconsented scope":      {url.Values{"audience": {"api://files"}, "scope": {"Files.Write"}}, "invalid_grant"},
		"bad subject token type": {url.Values{"audience": {"api://files"}, "subject_token_type": {"urn:ietf:params:oauth:token-type:saml2"}}, "invalid_request"},
		"actor without type":     {url.Values{"audience": {"api://files"}, "actor_token": {own["access_token"].(string)}}, "invalid_request"},
		"another app as actor":   {url.Values{"audience": {"api://files"}, "actor_token": {cc["access_token"].(string)}, "actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "invalid_request"},
		"forged actor":           {url.Values{"audience": {"api://files"}, "actor_token": {"e30.e30.e30"}, "actor_token_type": {"urn:ietf:params:oauth:token-type:jwt"}}, "invalid_request"},
	} {
		status, resp := exchange(tc.extra)
		if status != 400 || resp["error"] != tc.code {
			t.Errorf("%s: %d %v, want %s", name, status, resp, tc.code)
		}
	}
}

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
