package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
)

func (e *env) userinfo(bearer string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.authority()+"/oidc/userinfo", nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, decodeJSON(e.t, resp.Body), resp.Header
}

func TestUserInfo(t *testing.T) {
	e := newEnv(t)
	at := webTokens(e, "openid profile email")["access_token"].(string)
	status, claims, _ := e.userinfo(at)
	if status != 200 || claims["sub"] != e.user.ID || claims["name"] != "Alice" || claims["preferred_username"] != "alice@contoso.test" || claims["email"] != "alice@contoso.test" {
		t.Fatalf("userinfo: %d %v", status, claims)
	}
	// Without the email scope there is no email.
	at = webTokens(e, "openid profile")["access_token"].(string)
	if _, claims, _ := e.userinfo(at); claims["email"] != nil || claims["name"] != "Alice" {
		t.Errorf("userinfo by scope: %v", claims)
	}
	// A resource token was not granted openid.
	resourceToken := e.userTokenFor("api://files/Files.Read")
	status, body, h := e.userinfo(resourceToken)
	if status != 403 || body["error"] != "insufficient_scope" || !strings.Contains(h.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("resource token: %d %v %q", status, body, h.Get("WWW-Authenticate"))
	}
	assertProtocolError(t, status, body, h, 403, "insufficient_scope")
	for name, bearer := range map[string]string{"missing": "", "garbage": "abc.def.ghi", "id token": webTokens(e, "openid")["id_token"].(string)} {
		status, body, h := e.userinfo(bearer)
		if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %v %q", name, status, body, h.Get("WWW-Authenticate"))
		}
		code := "invalid_token"
		if bearer == "" {
			code = "invalid_request"
		}
		assertProtocolError(t, status, body, h, 401, code)
	}
	// An app token has no user.
	_, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	if status, _, _ := e.userinfo(cc["access_token"].(string)); status != 401 {
		t.Errorf("app token: %d", status)
	}
	// Expired tokens are refused.
	e.clock.Advance(2 * time.Hour)
	if status, body, _ := e.userinfo(at); status != 401 || body["error"] != "invalid_token" {
		t.Errorf("expired token: %d %v", status, body)
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
