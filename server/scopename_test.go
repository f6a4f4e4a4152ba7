package server_test

import (
	"context"
	"net/http"
	"testing"
)

// The scope string of a code response and of the refreshes that follow
// name the resource the same way, however the authorization request named
// it: a client's token cache is keyed on those strings.
func TestScopeNamedAlikeAcrossRefresh(t *testing.T) {
	e := newEnv(t)
	var err error
	e.web, err = e.admin.AddPermission(context.Background(), e.web, e.api.ClientID, []string{"Files.Read"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, scope string }{
		{"identifier URI", "api://files/Files.Read openid offline_access"},
		{"client id", e.api.ClientID + "/Files.Read openid offline_access"},
		{".default by client id", e.api.ClientID + "/.default openid offline_access"},
		{".default by identifier URI", "api://files/.default openid offline_access"},
		{"own scope", "api://" + e.web.ClientID + "/access_as_user openid offline_access"},
		{"own scope by bare client id", e.web.ClientID + "/access_as_user openid offline_access"},
		{"OIDC only", "openid profile offline_access"},
	} {
		code := webTokens(e, tc.scope)
		status, refreshed := e.refresh(code["refresh_token"].(string), nil)
		if status != http.StatusOK {
			t.Fatalf("%s: refresh %d %v", tc.name, status, refreshed)
		}
		status, again := e.refresh(refreshed["refresh_token"].(string), map[string][]string{"scope": {tc.scope}})
		if status != http.StatusOK {
			t.Fatalf("%s: refresh with scope %d %v", tc.name, status, again)
		}
		t.Logf("%s: code %q refresh %q again %q", tc.name, code["scope"], refreshed["scope"], again["scope"])
		if code["scope"] != refreshed["scope"] || code["scope"] != again["scope"] {
			t.Errorf("%s: code response scope %q, refresh %q, refresh naming the scope %q", tc.name, code["scope"], refreshed["scope"], again["scope"])
		}
	}
}
