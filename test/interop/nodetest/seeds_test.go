package nodetest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestSeed003ExpressAxios runs seed 003's Express + axios app against the
// default tenant's Authgear-style aliases: the browser opens the app's
// /login, the app's callback redeems the code with axios as the seed does
// (scope 'openid+offline_access' form-encoded, so the '+' arrives as %2B),
// then refreshes the token pair.
func TestSeed003ExpressAxios(t *testing.T) {
	t.Parallel()
	requireNode(t)
	srv := startServer(t)
	port := freePort(t)
	redirect := "http://localhost:" + port + "/callback"
	app := srv.RegisterApp(t, "Express app", false, redirect)
	rs, check := mustRun(t, srv, script{name: "express-authgear.mjs", env: map[string]string{
		"PORT": port, "CLIENT_ID": app.ClientID, "CLIENT_SECRET": app.Secret, "REDIRECT_URL": redirect, "TOKEN_HOST": srv.Base,
	}})
	defer check()

	tokens := func(t *testing.T, r result) {
		t.Helper()
		for _, k := range []string{"access_token", "id_token", "refresh_token", "scope", "token_type", "expires_in"} {
			if !slices.Contains(r.strs("keys"), k) {
				t.Errorf("token response lacks %s: %v", k, r.strs("keys"))
			}
		}
		if r.str("scope") != "openid offline_access" {
			t.Errorf("scope %q", r.str("scope"))
		}
		if id := r.obj("idToken"); id.str("aud") != app.ClientID || id.str("iss") != srv.Authority()+"/v2.0" || id.str("sub") == "" {
			t.Errorf("ID token %v", id)
		}
		if a := r.obj("access"); a.str("azp") != app.ClientID || a.str("preferred_username") != srv.Demo.Username {
			t.Errorf("access token %v", a)
		}
	}
	t.Run("LoginCallback", func(t *testing.T) {
		r := rs.step(t, "login + callback (authorization_code)")
		tokens(t, r)
		if r.str("tokenType") != "Bearer" {
			t.Errorf("token_type %q", r.str("tokenType"))
		}
		for _, path := range []string{"path=/oauth2/authorize ", "path=/oauth2/token "} {
			if !strings.Contains(srv.Log(), "method=GET "+path) && !strings.Contains(srv.Log(), "method=POST "+path) {
				t.Errorf("the app did not use the alias %s", strings.TrimSpace(path))
			}
		}
	})
	t.Run("Refresh", func(t *testing.T) {
		r := rs.step(t, "refresh")
		tokens(t, r)
		if !r.boolean("rotated") {
			t.Error("refresh token not rotated")
		}
		if r.obj("idToken").str("sub") != rs.step(t, "login + callback (authorization_code)").obj("idToken").str("sub") {
			t.Error("the refreshed ID token names another subject")
		}
	})
}

// TestSeed002Curl follows seed 002: the browser opens the seed's authorize
// URL (scope {client id}%2f.default, redirect http://localhost:8080), and
// curl redeems the code with the seed's -d body exactly as printed, line
// breaks and indentation included.
func TestSeed002Curl(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		harness.SkipOrFail(t, "curl is not installed")
	}
	srv := startServer(t)
	b := harness.NewBrowser(t)
	id, secret := srv.Demo.WebClientID, srv.Demo.WebSecret
	base := srv.Base + "/" + srv.Demo.TenantID

	authorize := base + "/oauth2/v2.0/authorize?client_id=" + id +
		"&response_type=code&redirect_uri=http%3a%2f%2flocalhost%3a8080&response_mode=query&scope=" + id + "%2f.default&state=12345&sso_reload=true"
	callback, err := url.Parse(b.SignIn(authorize, srv.Demo.Username, srv.Demo.Password, "http://localhost:8080"))
	if err != nil {
		t.Fatal(err)
	}
	code := callback.Query().Get("code")
	if code == "" || callback.Query().Get("state") != "12345" {
		t.Fatalf("callback %s", callback)
	}

	body := "client_id=" + id + `
  &scope=` + id + `%2f.default openid profile offline_access
  &code=` + code + `
  &redirect_uri=http%3A%2F%2Flocalhost%3a8080
  &grant_type=authorization_code
  &client_secret=` + secret
	cmd := exec.Command(curl, "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded", "-d", body,
		base+"/oauth2/v2.0/token", "--cacert", srv.CAFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, stderr.String())
	}
	var resp map[string]any
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("curl printed no JSON: %v\n%s", err, out)
	}
	if resp["error"] != nil {
		t.Fatalf("token endpoint: %v", resp)
	}
	for _, k := range []string{"token_type", "scope", "expires_in", "access_token", "refresh_token", "id_token"} {
		if _, ok := resp[k]; !ok {
			t.Errorf("the response lacks %s: %v", k, resp)
		}
	}
	if resp["token_type"] != "Bearer" || resp["scope"] != id+"/access_as_user openid profile offline_access" {
		t.Errorf("token_type %v scope %v", resp["token_type"], resp["scope"])
	}
	noServerErrors(t, srv)
	at, _ := resp["access_token"].(string)
	if c := jwtClaims(t, at); c.str("aud") != id || c.str("scp") != "access_as_user" || c.str("tid") != srv.Demo.TenantID {
		t.Errorf("access token claims %v", c)
	}
}
