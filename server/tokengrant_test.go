package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
)

// Introspection and userinfo judge an access token by the grant it stands
// on: withdrawn consent, a revoked refresh family or a signed-out session
// make it inactive, as a disabled user already did (issue 13 point 14).

// active introspects an access token as the web app (its own tokens, aud
// and azp both the web app).
func (e *env) active(at string) bool {
	e.t.Helper()
	status, in := e.introspectToken(e.web.ClientID, e.secret, at)
	if status != http.StatusOK {
		e.t.Fatalf("introspection: %d %v", status, in)
	}
	return in["active"] == true
}

// webTokensIn runs the web app's code flow in browser b (so in its
// session) and returns the token response.
func webTokensIn(e *env, b *browser, scope string) map[string]any {
	e.t.Helper()
	code := codeFor(e, b, e.web.ClientID, webRedirect, scope, nil)
	status, resp, _ := e.post(e.tokenURL(), redeemWeb(e, code))
	if status != http.StatusOK {
		e.t.Fatalf("code redemption: %d %v", status, resp)
	}
	return resp
}

func TestIntrospectionAfterConsentWithdrawn(t *testing.T) {
	e := newEnv(t)
	apiSecret, _, err := e.admin.AddSecret(t.Context(), e.api, "resource server", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	byAPI := func(at string) bool {
		t.Helper()
		_, in := e.introspectToken(e.api.ClientID, apiSecret, at)
		return in["active"] == true
	}
	// The native app's token without a refresh token: no family to revoke,
	// so only the consent check can end it.
	native := e.userTokenFor("api://files/Files.Read")
	withFamily := e.userTokenFor("api://files/Files.Read offline_access")
	web := webTokens(e, "openid profile offline_access")["access_token"].(string)
	if !byAPI(native) || !byAPI(withFamily) || !e.active(web) {
		t.Fatal("fresh tokens are inactive")
	}
	if err := e.admin.RevokeConsent(t.Context(), e.native, e.user.ID); err != nil {
		t.Fatal(err)
	}
	if byAPI(native) {
		t.Error("a token whose consent was withdrawn is still active")
	}
	if byAPI(withFamily) {
		t.Error("a token (with a refresh family) whose consent was withdrawn is still active")
	}
	// The user's consent to another app is untouched.
	if !e.active(web) {
		t.Error("withdrawing consent from one app ended another app's token")
	}
	if status, body, _ := e.userinfo(web); status != http.StatusOK {
		t.Errorf("userinfo of the other app's token: %d %v", status, body)
	}

	// An app token: its roles were granted by an admin for everyone.
	_, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	daemon := cc["access_token"].(string)
	if !byAPI(daemon) {
		t.Fatal("fresh app token inactive")
	}
	if err := e.admin.RevokeConsent(t.Context(), e.daemon, ""); err != nil {
		t.Fatal(err)
	}
	if byAPI(daemon) {
		t.Error("an app token whose roles were withdrawn is still active")
	}
}

// Userinfo refuses a token whose consent was withdrawn, as introspection
// calls it inactive.
func TestUserInfoAfterConsentWithdrawn(t *testing.T) {
	e := newEnv(t)
	at := webTokens(e, "openid profile")["access_token"].(string)
	if status, body, _ := e.userinfo(at); status != http.StatusOK {
		t.Fatalf("userinfo: %d %v", status, body)
	}
	if err := e.admin.RevokeConsent(t.Context(), e.web, e.user.ID); err != nil {
		t.Fatal(err)
	}
	status, body, h := e.userinfo(at)
	assertProtocolError(t, status, body, h, http.StatusUnauthorized, "invalid_token")
}

func TestIntrospectionAfterFamilyRevoked(t *testing.T) {
	e := newEnv(t)
	first := webTokens(e, "openid offline_access")
	other := webTokens(e, "openid offline_access")["access_token"].(string)
	status, refreshed := e.refresh(first["refresh_token"].(string), nil)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, refreshed)
	}
	family := []string{first["access_token"].(string), refreshed["access_token"].(string)}
	for i, at := range append(family, other) {
		if !e.active(at) {
			t.Fatalf("token %d inactive before revocation", i)
		}
	}
	// The client revokes its (current) refresh token: the whole family goes,
	// and with it every access token issued with or from it.
	if status, resp := e.revokeToken(e.web.ClientID, e.secret, refreshed["refresh_token"].(string), "refresh_token"); status != http.StatusOK {
		t.Fatalf("revoke: %d %v", status, resp)
	}
	for i, at := range family {
		if e.active(at) {
			t.Errorf("access token %d of the revoked family is still active", i)
		}
		if status, _, _ := e.userinfo(at); status != http.StatusUnauthorized {
			t.Errorf("userinfo accepted access token %d of the revoked family: %d", i, status)
		}
	}
	if !e.active(other) {
		t.Error("an access token of an unrelated family became inactive")
	}
}

func TestIntrospectionAfterLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	withFamily := webTokensIn(e, b, "openid offline_access")
	// A second code in the same session, without offline_access: a token
	// with no family, judged by its session.
	noFamily := webTokensIn(e, b, "openid")["access_token"].(string)
	elsewhere := webTokensIn(e, e.browser(), "openid offline_access")["access_token"].(string)
	for i, at := range []string{withFamily["access_token"].(string), noFamily, elsewhere} {
		if !e.active(at) {
			t.Fatalf("token %d inactive before logout", i)
		}
	}
	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {withFamily["id_token"].(string)}}.Encode())
	if o.Status != http.StatusOK {
		t.Fatalf("logout: %d %s", o.Status, o.Body)
	}
	if e.active(withFamily["access_token"].(string)) {
		t.Error("the session's token with a refresh family is still active after logout")
	}
	if e.active(noFamily) {
		t.Error("the session's token without a refresh family is still active after logout")
	}
	if status, _, _ := e.userinfo(noFamily); status != http.StatusUnauthorized {
		t.Errorf("userinfo accepted a signed-out session's token: %d", status)
	}
	if !e.active(elsewhere) {
		t.Error("logout in one browser ended another session's token")
	}
}

// Guards of what must stay active (they pass before and after the change):
// a family outlives its session's natural end, and an app set to keep its
// refresh tokens over sign-out keeps its tokens' grant.
func TestTokensOutliveSessionByFamily(t *testing.T) {
	e := newEnv(t)
	tokens := webTokens(e, "openid offline_access")
	e.clock.Advance(13 * time.Hour) // past the 12-hour session
	status, refreshed := e.refresh(tokens["refresh_token"].(string), nil)
	if status != http.StatusOK {
		t.Fatalf("refresh after the session expired: %d %v", status, refreshed)
	}
	if !e.active(refreshed["access_token"].(string)) {
		t.Error("a token refreshed after its session expired naturally is inactive")
	}

	keep := true
	var err error
	if e.web, err = e.admin.Set(t.Context(), e.web, admin.AppSettings{LogoutKeepsRefreshTokens: &keep}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	kept := webTokensIn(e, b, "openid offline_access")
	if o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {kept["id_token"].(string)}}.Encode()); !strings.Contains(o.Body, "signed out") {
		t.Fatalf("logout: %d %s", o.Status, o.Body)
	}
	if !e.active(kept["access_token"].(string)) {
		t.Error("logout ended a token of an app that keeps its refresh tokens over sign-out")
	}
}

// A token got on behalf of a user stands on the grant of the token it was
// exchanged for: when that family is revoked, the downstream token is
// inactive too, though the middle tier's own consent still stands.
func TestOnBehalfOfTokenFollowsSubjectFamily(t *testing.T) {
	e := newEnv(t)
	a, secret := e.middleTier(true)
	apiSecret, _, err := e.admin.AddSecret(t.Context(), e.api, "resource server", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	subject := e.userTokenFor("api://middle/user_impersonation offline_access")
	status, resp := obo(e, a, secret, subject, "api://files/Files.Read")
	if status != http.StatusOK || resp["refresh_token"] != nil {
		t.Fatalf("OBO: %d %v", status, resp)
	}
	downstream := resp["access_token"].(string)
	if _, in := e.introspectToken(e.api.ClientID, apiSecret, downstream); in["active"] != true {
		t.Fatalf("fresh OBO token: %v", in)
	}
	// The user withdraws consent from the native app: its refresh family
	// is revoked (RevokeConsent), and what was derived from it ends.
	if err := e.admin.RevokeConsent(t.Context(), e.native, e.user.ID); err != nil {
		t.Fatal(err)
	}
	if _, in := e.introspectToken(e.api.ClientID, apiSecret, downstream); in["active"] != false {
		t.Errorf("an OBO token derived from a revoked family is still active: %v", in)
	}
}
