package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// settle waits out the running server's directory cache: serve checks
// the SQLite directory version at most every 10 ms (readcache), so an
// admin change is seen by the first request after that, not necessarily
// by one sent the same millisecond.
func settle() { time.Sleep(25 * time.Millisecond) }

// runList runs a listing command in JSON and decodes its array.
func runList(t *testing.T, dataDir string, args ...string) []map[string]any {
	t.Helper()
	out, err := run(t, dataDir, "", append(args, "--output", "json")...)
	if err != nil {
		t.Fatalf("tessera %v: %v", args, err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("tessera %v printed no JSON array: %v\n%s", args, err, out)
	}
	return list
}

// TestAdminCommandsReachRunningServer: the listing and removing commands
// succeed, and a server running on the same data directory acts on what
// the admin commands change at once: a disabled user, a removed secret, a
// revoked consent, and an app allowed plain PKCE.
func TestAdminCommandsReachRunningServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	ids := banner(srv.stdout.String(), "Application (client) ID")
	secrets := banner(srv.stdout.String(), "Client secret")
	passwords := banner(srv.stdout.String(), "Password")
	if len(ids) != 2 || len(secrets) != 1 || len(passwords) != 1 {
		t.Fatalf("banner lacks the demo credentials:\n%s", srv.stdout)
	}
	webID, webSecret, demoPW, nativeID := ids[0], secrets[0], passwords[0], ids[1]
	c := trustingClient(t, dataDir)
	tokenURL := srv.base + "/demo/oauth2/v2.0/token"
	authorize := func(clientID, redirect, scope string, extra url.Values) string {
		v := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {scope}}
		for k, vs := range extra {
			v[k] = vs
		}
		return srv.base + "/demo/oauth2/v2.0/authorize?" + v.Encode()
	}
	// webTokens signs username in to the web app and redeems the code.
	webTokens := func(username, password string) map[string]any {
		t.Helper()
		o := testbrowser.New(t, c).SignIn(authorize(webID, "http://localhost:8080", "openid offline_access", nil), username, password)
		status, tokens := postForm(t, c, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {webID},
			"client_secret": {webSecret}, "code": {o.Params.Get("code")}, "redirect_uri": {"http://localhost:8080"}}.Encode())
		if status != http.StatusOK {
			t.Fatalf("%s's code redemption: %d %v", username, status, tokens)
		}
		return tokens
	}
	refresh := func(rt string) (int, map[string]any) {
		return postForm(t, c, tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {webID},
			"client_secret": {webSecret}, "refresh_token": {rt}}.Encode())
	}
	wantRefused := func(what string, status int, resp map[string]any, code string) {
		t.Helper()
		if status == http.StatusOK || resp["error"] != code || resp["access_token"] != nil {
			t.Errorf("%s: %d %v, want %s", what, status, resp, code)
		}
	}

	// tenant list and user list.
	tenants := runList(t, dataDir, "tenant", "list")
	if len(tenants) != 1 || tenants[0]["name"] != "demo" || tenants[0]["id"] == "" {
		t.Errorf("tenant list: %v", tenants)
	}
	runJSON(t, dataDir, "correct horse battery staple\n", "user", "create", "--tenant", "demo", "--username", "carol", "--password-stdin")
	settle()
	users := runList(t, dataDir, "user", "list", "--tenant", "demo")
	var names []string
	for _, u := range users {
		names = append(names, u["username"].(string))
	}
	// The demo tenant comes with its user and its administrator.
	slices.Sort(names)
	if strings.Join(names, " ") != "admin carol demo" {
		t.Errorf("user list: %v", users)
	}

	// A disabled user's refresh token stops at once, and so does signing in.
	carol := webTokens("carol", "correct horse battery staple")
	if status, resp := refresh(carol["refresh_token"].(string)); status != http.StatusOK {
		t.Fatalf("carol's refresh: %d %v", status, resp)
	}
	runJSON(t, dataDir, "", "user", "disable", "--tenant", "demo", "carol")
	settle()
	status, resp := refresh(carol["refresh_token"].(string))
	wantRefused("refresh after user disable", status, resp, "invalid_grant")
	b := testbrowser.New(t, c)
	if o := b.Login(b.Get(authorize(webID, "http://localhost:8080", "openid", nil)), "carol", "correct horse battery staple"); o.Page != "login" || o.Callback != nil {
		t.Errorf("a disabled user signed in: %+v", o)
	}

	// A removed secret stops working at once.
	added := runJSON(t, dataDir, "", "app", "secret", "add", "--app", webID, "--description", "rotation")
	settle()
	cc := func(secret string) (int, map[string]any) {
		return postForm(t, c, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {webID},
			"client_secret": {secret}, "scope": {webID + "/.default"}}.Encode())
	}
	if status, resp := cc(added["secret"].(string)); status != http.StatusOK {
		t.Fatalf("the added secret: %d %v", status, resp)
	}
	listed := runList(t, dataDir, "app", "secret", "list", "--tenant", "demo", "--app", webID)
	if len(listed) != 2 {
		t.Fatalf("secret list: %v", listed)
	}
	removed := runJSON(t, dataDir, "", "app", "secret", "remove", "--tenant", "demo", "--app", webID, "--id", added["id"].(string))
	settle()
	if removed["status"] != "removed" || removed["id"] != added["id"] {
		t.Errorf("secret remove: %v", removed)
	}
	status, resp = cc(added["secret"].(string))
	wantRefused("client credentials with a removed secret", status, resp, "invalid_client")
	if status, resp := cc(webSecret); status != http.StatusOK {
		t.Errorf("the other secret stopped working: %d %v", status, resp)
	}
	if left := runList(t, dataDir, "app", "secret", "list", "--app", webID); len(left) != 1 || left[0]["id"] == added["id"] {
		t.Errorf("secret list after remove: %v", left)
	}

	// A revoked consent ends the refresh token at once, and the next
	// sign-in asks again.
	demo := webTokens("demo", demoPW)
	runJSON(t, dataDir, "", "app", "consent", "--tenant", "demo", "--app", webID, "--revoke", "--user", "demo")
	settle()
	status, resp = refresh(demo["refresh_token"].(string))
	wantRefused("refresh after consent revoke", status, resp, "invalid_grant")
	b = testbrowser.New(t, c)
	if o := b.Login(b.Get(authorize(webID, "http://localhost:8080", "openid offline_access", nil)), "demo", demoPW); o.Page != "consent" {
		t.Errorf("after consent revoke, sign-in went to %q %v, want the consent page", o.Page, o.Callback)
	}

	// Plain PKCE: refused until `app set --allow-plain-pkce`, then a code
	// redeems with the challenge itself as verifier.
	verifier := strings.Repeat("plain-verifier-", 4)
	plain := url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}}
	b = testbrowser.New(t, c)
	if o := b.Get(authorize(nativeID, "http://localhost:53100", "openid", plain)); o.Params.Get("error") != "invalid_request" {
		t.Fatalf("plain PKCE before it was allowed: %+v", o)
	}
	if set := runJSON(t, dataDir, "", "app", "set", "--app", nativeID, "--allow-plain-pkce"); set["allow_plain_pkce"] != true {
		t.Fatalf("app set --allow-plain-pkce: %v", set)
	}
	settle()
	o := b.SignIn(authorize(nativeID, "http://localhost:53100", "openid", plain), "demo", demoPW)
	redeem := url.Values{"grant_type": {"authorization_code"}, "client_id": {nativeID}, "code": {o.Params.Get("code")},
		"redirect_uri": {"http://localhost:53100"}, "code_verifier": {verifier}}
	if status, resp := postForm(t, c, tokenURL, redeem.Encode()); status != http.StatusOK || resp["id_token"] == nil {
		t.Fatalf("redeeming a plain PKCE code: %d %v", status, resp)
	}
	// The verifier must still match, and S256 keeps working for the app.
	o = b.SignIn(authorize(nativeID, "http://localhost:53100", "openid", plain), "demo", demoPW)
	redeem.Set("code", o.Params.Get("code"))
	redeem.Set("code_verifier", strings.Repeat("other-verifier-", 4))
	status, resp = postForm(t, c, tokenURL, redeem.Encode())
	wantRefused("plain PKCE with a wrong verifier", status, resp, "invalid_grant")
	sum := sha256.Sum256([]byte(verifier))
	o = b.SignIn(authorize(nativeID, "http://localhost:53100", "openid", url.Values{"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}), "demo", demoPW)
	redeem.Set("code", o.Params.Get("code"))
	redeem.Set("code_verifier", verifier)
	if status, resp := postForm(t, c, tokenURL, redeem.Encode()); status != http.StatusOK {
		t.Errorf("S256 for an app allowed plain: %d %v", status, resp)
	}
}
