package nodetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestPortalSeedWalk walks seeds 000 and 002 in Chromium by the portal's
// visible labels, as their readers would in the Azure portal: sign in to
// the portal as serve --dev's administrator, App registrations, New
// registration, Register, read the two IDs on Overview, Authentication,
// Add a platform, Web, http://localhost:8080, Save, Certificates &
// secrets, New client secret, "app secret", 6 months, Add, read the
// value. Then seed 002's authorize URL and token request, and seed 000's
// MSAL Node sample, use exactly those values. Each page is saved as a
// screenshot (go test -artifacts; the copies in docs/portal/ come from
// here).
func TestPortalSeedWalk(t *testing.T) {
	requireNode(t)
	srv := harness.Start(t)
	b := harness.NewBrowser(t)
	shot := func(name string) { b.Screenshot("portal-" + name) }

	b.Navigate(srv.Demo.PortalURL)
	if !b.Has("#password") {
		t.Fatalf("the portal did not ask to sign in; it is at %s:\n%s", b.Location(), b.Text())
	}
	b.Login(srv.Demo.AdminUsername, srv.Demo.AdminPassword)
	if title := b.WaitTitle("App registrations"); !strings.Contains(title, "App registrations") {
		t.Fatalf("after sign-in the portal shows %q:\n%s", title, b.Text())
	}
	shot("1-app-registrations")

	b.ClickLabel("New registration")
	b.FillLabel("Name", "msal-node-app")
	b.CheckLabel("Accounts in this organizational directory only (demo only - Single tenant)")
	shot("2-register-an-application")
	b.ClickLabel("Register")
	b.WaitTitle("msal-node-app")
	clientID, tenantID := b.Field("Application (client) ID"), b.Field("Directory (tenant) ID")
	if clientID == "" || tenantID != srv.Demo.TenantID {
		t.Fatalf("Overview: client ID %q, tenant ID %q (want %q)", clientID, tenantID, srv.Demo.TenantID)
	}
	shot("3-overview")

	b.ClickLabel("Authentication")
	b.ClickLabel("Add a platform")
	shot("4-add-a-platform")
	b.ClickLabel("Web")
	b.FillLabel("Redirect URI", "http://localhost:8080")
	b.ClickLabel("Save")
	if text := b.Text(); !strings.Contains(text, "Saved.") || !strings.Contains(text, "http://localhost:8080") {
		t.Fatalf("after Save:\n%s", text)
	}
	shot("5-authentication")
	// A second platform on the same app: a single-page front end, whose
	// codes are redeemed without the secret.
	b.ClickLabel("Add a platform")
	b.ClickLabel("Single-page application")
	b.FillLabel("Redirect URI", "http://localhost:3000/")
	b.ClickLabel("Save")
	if text := b.Text(); !strings.Contains(text, "Single-page application") || !strings.Contains(text, "http://localhost:3000/") {
		t.Fatalf("after adding a Single-page application platform:\n%s", text)
	}
	shot("5b-platforms")

	b.ClickLabel("Certificates & secrets")
	b.ClickLabel("New client secret")
	b.FillLabel("Description", "app secret")
	b.SelectLabel("Expires", "6 months")
	shot("6-new-client-secret")
	b.ClickLabel("Add")
	secret := b.Field("Value")
	if len(secret) < 32 || !strings.Contains(b.Text(), "won't be shown again") {
		t.Fatalf("after Add the page shows no secret value:\n%s", b.Text())
	}
	shot("7-client-secret-value")

	// Seed 002: the authorize request in a browser, signed in as the demo
	// user, then the token request with the secret, as its curl does.
	authority := srv.Base + "/" + tenantID
	authorize := authority + "/oauth2/v2.0/authorize?" + url.Values{"client_id": {clientID}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:8080"}, "response_mode": {"query"}, "scope": {clientID + "/.default openid offline_access"},
		"state": {"12345"}}.Encode()
	user := harness.NewBrowser(t)
	landed := user.SignIn(authorize, srv.Demo.Username, srv.Demo.Password, "http://localhost:8080")
	u, err := url.Parse(landed)
	if err != nil || u.Query().Get("code") == "" || u.Query().Get("state") != "12345" {
		t.Fatalf("seed 002's authorize request landed on %s", landed)
	}
	resp, err := srv.HTTP.PostForm(authority+"/oauth2/v2.0/token", url.Values{"client_id": {clientID},
		"scope": {clientID + "/.default openid offline_access"}, "code": {u.Query().Get("code")},
		"redirect_uri": {"http://localhost:8080"}, "grant_type": {"authorization_code"}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.RefreshToken == "" {
		t.Fatalf("seed 002's token request: %d %v", resp.StatusCode, err)
	}

	// Seed 000: MSAL Node's acquireTokenByRefreshToken, configured with the
	// portal's values.
	rs, check := mustRun(t, srv, script{name: "msal-portal.mjs", env: map[string]string{
		"CLIENT_ID": clientID, "CLIENT_SECRET": secret, "AUTHORITY": authority, "KNOWN_AUTHORITY": "localhost:" + srv.Port,
		"REFRESH_TOKEN": tok.RefreshToken, "SCOPE": clientID + "/.default",
	}})
	defer check()
	r := rs.step(t, "acquireTokenByRefreshToken with the portal's values (seed 000)")
	if c := r.obj("claims"); c.str("aud") != clientID || c.str("tid") != tenantID {
		t.Errorf("MSAL's access token: aud %q tid %q", c.str("aud"), c.str("tid"))
	}
}
