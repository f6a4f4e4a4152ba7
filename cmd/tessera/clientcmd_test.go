package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// tessera runs the binary with env and stdin and returns its standard
// output.
func tessera(t *testing.T, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tesseraBinary(t), args...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("tessera %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func tesseraJSON(t *testing.T, env []string, stdin string, args ...string) map[string]any {
	t.Helper()
	out, err := tessera(t, env, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("tessera %v printed no JSON object: %v\n%s", args, err, out)
	}
	return m
}

// browserLogin runs `tessera login` and signs username in with a fresh
// headless browser, delivering the redirect to the CLI's loopback port.
func browserLogin(t *testing.T, env []string, web *http.Client, username, password string, args ...string) string {
	t.Helper()
	b := testbrowser.New(t, web)
	stderr := runLogin(t, env, args, func(line string) bool {
		m := urlLine.FindStringSubmatch(line)
		if m == nil {
			return false
		}
		o := b.SignIn(m[1], username, password)
		resp, err := http.Get(o.Callback.String())
		if err != nil {
			t.Errorf("deliver the redirect: %v", err)
			return true
		}
		resp.Body.Close()
		return true
	})
	if !strings.Contains(stderr, "Signed in as "+username) {
		t.Fatalf("login output:\n%s", stderr)
	}
	return stderr
}

// cachedRefreshToken reads the one refresh token of a plain cache file.
func cachedRefreshToken(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s is not a plain MSAL cache: %v", path, err)
	}
	if len(doc["RefreshToken"]) != 1 {
		t.Fatalf("%s holds %d refresh tokens, want 1", path, len(doc["RefreshToken"]))
	}
	for _, rt := range doc["RefreshToken"] {
		return rt["secret"].(string)
	}
	return ""
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClientCommands drives the client commands beyond login and token
// against one `tessera serve --dev`: token refresh, token obo, logout of
// one account, silent refresh by `tessera token`, and two processes
// refreshing through one cache file.
func TestClientCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	out := srv.stdout.String()
	ids := banner(out, "Application (client) ID")
	pw := banner(out, "Password")[0]
	webID, nativeID := ids[0], ids[1]
	authority := srv.base + "/demo"
	scope := "api://" + webID + "/access_as_user"
	web := trustingClient(t, dataDir)
	loginArgs := func(extra ...string) []string {
		return append([]string{"--authority", authority, "--client-id", nativeID, "--scopes", scope}, extra...)
	}

	t.Run("token refresh", func(t *testing.T) {
		env, home := clientEnv(t, dataDir)
		plain, other := filepath.Join(home, "login.json"), filepath.Join(home, "migrated.json")
		browserLogin(t, env, web, "demo", pw, loginArgs("--cache", plain, "--cache-plain")...)
		rt := cachedRefreshToken(t, plain)

		// Seed 000: a refresh token from elsewhere, redeemed into a new
		// cache, from a variable.
		migrated := tesseraJSON(t, append(env, "MIGRATED_RT="+rt), "", "token", "refresh", "--authority", authority, "--client-id", nativeID,
			"--scopes", scope, "--refresh-token-env", "MIGRATED_RT", "--cache", other, "--cache-plain", "--json")
		acct, _ := migrated["account"].(map[string]any)
		if migrated["from_cache"] != false || acct["username"] != "demo" || strings.Count(migrated["access_token"].(string), ".") != 2 {
			t.Fatalf("token refresh: %v", migrated)
		}
		if next := cachedRefreshToken(t, other); next == "" || next == rt {
			t.Errorf("the migrated cache holds refresh token %q, want the rotated one", next)
		}
		// `tessera token` on the new cache serves it, with the ID token's
		// claims.
		res := tesseraJSON(t, env, "", "token", "--cache", other, "--cache-plain", "--scopes", scope, "--json")
		claims, _ := res["id_token_claims"].(map[string]any)
		if res["from_cache"] != true || res["access_token"] != migrated["access_token"] || claims["aud"] != nativeID || claims["sub"] == "" {
			t.Fatalf("tessera token on the migrated cache: %v", res)
		}
	})

	t.Run("token obo", func(t *testing.T) {
		// A middle-tier API calling a downstream API as the user.
		mid := cli(t, dataDir, "app", "register", "--tenant", "demo", "--name", "Middle tier")["client_id"].(string)
		cli(t, dataDir, "app", "expose", "--tenant", "demo", "--app", mid, "--app-id-uri", "api://middle", "--scope", "user_impersonation")
		down := cli(t, dataDir, "app", "register", "--tenant", "demo", "--name", "Downstream")["client_id"].(string)
		cli(t, dataDir, "app", "expose", "--tenant", "demo", "--app", down, "--app-id-uri", "api://downstream", "--scope", "Files.Read")
		cli(t, dataDir, "app", "permission", "add", "--tenant", "demo", "--app", mid, "--resource", "api://downstream", "--scope", "Files.Read")
		cli(t, dataDir, "app", "consent", "--tenant", "demo", "--app", mid)
		secret := cli(t, dataDir, "app", "secret", "add", "--tenant", "demo", "--app", mid, "--description", "obo")["secret"].(string)

		env, home := clientEnv(t, dataDir)
		browserLogin(t, env, web, "demo", pw, "--authority", authority, "--client-id", nativeID, "--scopes", "api://middle/user_impersonation")
		assertion, err := tessera(t, env, "", "token", "--scopes", "api://middle/user_impersonation")
		if err != nil {
			t.Fatal(err)
		}
		oboEnv := append(env, "MIDDLE_SECRET="+secret)
		args := []string{"token", "obo", "--authority", authority, "--client-id", mid, "--client-secret-env", "MIDDLE_SECRET",
			"--assertion", "-", "--scopes", "api://downstream/Files.Read", "--cache", filepath.Join(home, "middle.bin"), "--json"}
		first := tesseraJSON(t, oboEnv, assertion+"\n", args...)
		at, _ := first["access_token"].(string)
		if first["from_cache"] != false || at == "" {
			t.Fatalf("token obo: %v", first)
		}
		user, downstream := jwtClaims(t, assertion), jwtClaims(t, at)
		if aud := downstream["aud"]; aud != "api://downstream" && aud != down {
			t.Errorf("on-behalf-of token audience %v, want the downstream API", aud)
		}
		if downstream["oid"] != user["oid"] || !strings.Contains(fmt.Sprint(downstream["scp"]), "Files.Read") {
			t.Errorf("on-behalf-of token claims %v for user %v", downstream, user["oid"])
		}
		again := tesseraJSON(t, oboEnv, assertion+"\n", args...)
		if again["from_cache"] != true || again["access_token"] != at {
			t.Errorf("second token obo not from the cache: %v", again)
		}
	})

	t.Run("logout one account", func(t *testing.T) {
		bobPassword := cli(t, dataDir, "user", "create", "--tenant", "demo", "--username", "bob")["password"].(string)
		env, _ := clientEnv(t, dataDir)
		browserLogin(t, env, web, "demo", pw, loginArgs()...)
		browserLogin(t, env, web, "bob", bobPassword, loginArgs()...)
		if _, err := tessera(t, env, "", "token", "--scopes", scope); err == nil || !strings.Contains(err.Error(), "several accounts") {
			t.Errorf("tessera token with two accounts and no --account: %v", err)
		}
		bobToken := tesseraJSON(t, env, "", "token", "--scopes", scope, "--account", "bob", "--json")
		if acct, _ := bobToken["account"].(map[string]any); acct["username"] != "bob" {
			t.Fatalf("token --account bob: %v", bobToken)
		}
		logout := exec.Command(tesseraBinary(t), "logout", "--account", "bob")
		logout.Env = env
		if b, err := logout.CombinedOutput(); err != nil || !strings.Contains(string(b), "Signed out bob") {
			t.Fatalf("tessera logout --account bob: %v %s", err, b)
		}
		accounts, err := tessera(t, env, "", "accounts", "--output", "json")
		if err != nil || !strings.Contains(accounts, `"username": "demo"`) || strings.Contains(accounts, `"bob"`) {
			t.Errorf("accounts after logging bob out: %v %s", err, accounts)
		}
		if _, err := tessera(t, env, "", "token", "--scopes", scope, "--account", "bob"); err == nil {
			t.Error("tessera token --account bob worked after bob logged out")
		}
		// demo is now the only account: no --account needed.
		if tok, err := tessera(t, env, "", "token", "--scopes", scope); err != nil || strings.Count(tok, ".") != 2 {
			t.Errorf("tessera token for the remaining account: %v %q", err, tok)
		}
	})

	// From here on the CLI's access tokens live five minutes, inside the
	// five-minute refresh-ahead window: every `tessera token` refreshes.
	cli(t, dataDir, "app", "set", "--tenant", "demo", "--app", nativeID, "--access-token-lifetime", "5m")

	t.Run("token refreshes silently", func(t *testing.T) {
		env, _ := clientEnv(t, dataDir)
		browserLogin(t, env, web, "demo", pw, loginArgs()...)
		first := tesseraJSON(t, env, "", "token", "--scopes", scope, "--json")
		second := tesseraJSON(t, env, "", "token", "--scopes", scope, "--json")
		for _, r := range []map[string]any{first, second} {
			if r["from_cache"] != false || r["access_token"] == "" {
				t.Fatalf("tessera token within the refresh-ahead window: %v", r)
			}
			if claims, _ := r["id_token_claims"].(map[string]any); claims["aud"] != nativeID {
				t.Errorf("refreshed result lacks the ID token's claims: %v", r)
			}
		}
		if first["access_token"] == second["access_token"] {
			t.Error("two silent refreshes returned the same access token")
		}
		exp, err := time.Parse(time.RFC3339, second["expires_on"].(string))
		if err != nil || time.Until(exp) > 5*time.Minute+time.Minute {
			t.Errorf("refreshed token expires on %v (%v), want in about 5 minutes", second["expires_on"], err)
		}
	})

	t.Run("two processes refresh through one cache file", func(t *testing.T) {
		env, home := clientEnv(t, dataDir)
		shared := filepath.Join(home, "shared.json")
		browserLogin(t, env, web, "demo", pw, loginArgs("--cache", shared, "--cache-plain")...)
		for round := range 4 {
			var wg sync.WaitGroup
			tokens := make([]string, 2)
			for i := range tokens {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok, err := tessera(t, env, "", "token", "--scopes", scope)
					if err != nil {
						t.Errorf("round %d, process %d: %v", round, i, err)
						return
					}
					tokens[i] = tok
				}()
			}
			wg.Wait()
			for i, tok := range tokens {
				if strings.Count(tok, ".") != 2 {
					t.Fatalf("round %d, process %d printed %q", round, i, tok)
				}
			}
		}
		// No refresh token was lost or left behind: the cached one still
		// redeems.
		rt := cachedRefreshToken(t, shared)
		status, body := postForm(t, web, authority+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
			"client_id": {nativeID}, "refresh_token": {rt}, "scope": {scope + " offline_access"}}.Encode())
		if status != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("the cached refresh token after concurrent refreshes: %d %v", status, body)
		}
	})
}
