package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/client"
	"github.com/tessera-id/tessera/client/cache"
	"github.com/tessera-id/tessera/test/harness"
)

// TestMSALNodeReadsTesseraCache is the other half of the shared-cache
// check in TestMSALNodePublicClient (TesseraClientReadsMSALCache): Tessera
// signs the user in and writes a plain cache file, and MSAL Node, with seed
// 001's file cachePlugin on the same file, finds the account, gets the same
// access token from the cache, and refreshes with the refresh token
// Tessera stored; Tessera's client then serves MSAL's new token from the
// file. The file is written by the library (client.NewPublic with
// cache.NewFile and no key, auth code + PKCE) in both of MSAL's protocol
// modes, and by `tessera login --cache F --cache-plain` for the default AAD
// mode.
func TestMSALNodeReadsTesseraCache(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, protocolMode string
		cli                bool
	}{{"OIDC/Library", "OIDC", false}, {"AAD/Library", "", false}, {"AAD/CLILogin", "", true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireNode(t)
			srv := startServer(t)
			scope := "api://" + srv.Demo.WebClientID + "/access_as_user"
			cachePath := filepath.Join(t.TempDir(), "msal_cache.json")
			ctx := t.Context()
			browser := harness.NewBrowser(t)

			var signedIn client.Result
			if c.cli {
				signedIn = cliLogin(t, srv, browser, cachePath, scope)
			} else {
				signedIn = libraryLogin(t, srv, browser, cachePath, scope)
			}
			if _, err := os.Stat(cachePath); err != nil {
				t.Fatalf("no cache file was written: %v", err)
			}

			rs, check := mustRun(t, srv, script{name: "msal-read-cache.mjs", env: merge(msalEnv(srv, c.protocolMode), map[string]string{
				"CLIENT_ID": srv.Demo.NativeClientID, "SCOPE": scope, "CACHE_PATH": cachePath,
			})})
			defer check()

			t.Run("GetAllAccounts", func(t *testing.T) {
				r := rs.step(t, "getAllAccounts")
				if r.num("accounts") != 1 || r.str("username") != srv.Demo.Username || r.str("homeAccountId") != signedIn.Account.HomeAccountID {
					t.Errorf("MSAL's accounts: %v; Tessera signed in %s (%s)", r, srv.Demo.Username, signedIn.Account.HomeAccountID)
				}
			})
			t.Run("SilentFromCache", func(t *testing.T) {
				r := rs.step(t, "acquireTokenSilent from Tessera's cache")
				if !r.boolean("fromCache") || r.str("accessToken") != signedIn.AccessToken {
					t.Errorf("fromCache %v, the token Tessera cached %v", r["fromCache"], r.str("accessToken") == signedIn.AccessToken)
				}
				if !slices.Contains(r.strs("scopes"), scope) || r.str("aud") != srv.Demo.WebClientID {
					t.Errorf("scopes %v aud %q", r.strs("scopes"), r.str("aud"))
				}
			})
			t.Run("OneEntryPerCredential", func(t *testing.T) {
				keys := rs.step(t, "cache file after MSAL wrote it").obj("keys")
				for _, section := range []string{"Account", "AccessToken", "IdToken", "RefreshToken", "AppMetadata"} {
					if got := keys.strs(section); len(got) != 1 {
						t.Errorf("%s entries after MSAL wrote the file: %q, want one", section, got)
					}
				}
			})
			t.Run("RefreshWithTesseraRefreshToken", func(t *testing.T) {
				r := rs.step(t, "acquireTokenSilent forceRefresh with Tessera's refresh token")
				if r.boolean("fromCache") || !r.boolean("rotated") {
					t.Errorf("fromCache %v rotated %v", r["fromCache"], r["rotated"])
				}
				// And back: Tessera's client serves the token MSAL stored.
				app := publicApp(t, srv, cachePath)
				accounts, err := app.Accounts(ctx)
				if err != nil || len(accounts) != 1 || accounts[0].HomeAccountID != signedIn.Account.HomeAccountID {
					t.Fatalf("Tessera's client after MSAL wrote the file: accounts %+v (%v)", accounts, err)
				}
				res, err := app.AcquireTokenSilent(ctx, accounts[0], []string{scope})
				if err != nil {
					t.Fatalf("AcquireTokenSilent: %v", err)
				}
				if !res.FromCache || res.AccessToken != r.str("accessToken") {
					t.Errorf("Tessera's client after MSAL refreshed: fromCache %v, MSAL's token %v", res.FromCache, res.AccessToken == r.str("accessToken"))
				}
			})
		})
	}
}

// publicApp is Tessera's client for the native app with a plain cache file.
func publicApp(t *testing.T, srv *harness.Tessera, cachePath string) *client.PublicApp {
	t.Helper()
	app, err := client.NewPublic(srv.Demo.NativeClientID, srv.Authority(), client.WithHTTPClient(srv.HTTP),
		client.WithCache(cache.New(cache.WithPersistence(cache.NewFile(cachePath)))))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// libraryLogin signs in with Tessera's client library (auth code + PKCE,
// the browser signing in), which writes the cache file.
func libraryLogin(t *testing.T, srv *harness.Tessera, b *harness.Browser, cachePath, scope string) client.Result {
	t.Helper()
	ctx := t.Context()
	app := publicApp(t, srv, cachePath)
	const redirect = "http://localhost:3000/redirect"
	req, err := app.AuthCodeURL(ctx, []string{scope}, redirect)
	if err != nil {
		t.Fatal(err)
	}
	callback, err := url.Parse(b.SignIn(req.URL, srv.Demo.Username, srv.Demo.Password, redirect))
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.AcquireTokenByCode(ctx, req, callback.Query().Get("code"), callback.Query().Get("state"))
	if err != nil {
		t.Fatalf("AcquireTokenByCode: %v", err)
	}
	return res
}

// cliLogin runs `tessera login --cache F --cache-plain` as a user would on
// a machine without a desktop: xdg-open fails (a stub on PATH), so the
// command prints the URL, which the browser opens; the browser then
// reaches the command's loopback server itself. HOME and the XDG
// directories are the test's, so the user's profile is untouched.
func cliLogin(t *testing.T, srv *harness.Tessera, b *harness.Browser, cachePath, scope string) client.Result {
	t.Helper()
	home := t.TempDir()
	bin := filepath.Join(home, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\nexit 3\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), "login", "--authority", srv.Authority(), "--client-id", srv.Demo.NativeClientID,
		"--scopes", scope, "--ca-file", srv.CAFile, "--cache", cachePath, "--cache-plain", "--output", "json")
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "PATH=" + bin}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The line after "... visit:" is the authorize URL; the rest of the
	// output is kept for the log.
	urls := make(chan string, 1)
	var log lockedBuffer
	go func() {
		sc := bufio.NewScanner(stderr)
		next := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = io.WriteString(&log, line+"\n")
			if next && strings.HasPrefix(line, "https://") {
				urls <- line
			}
			next = strings.HasSuffix(line, "visit:")
		}
		close(urls)
	}()
	authorize, ok := <-urls
	if !ok {
		_ = cmd.Wait()
		t.Fatalf("tessera login printed no URL:\n%s", log.String())
	}
	b.SignIn(authorize, srv.Demo.Username, srv.Demo.Password, "http://localhost:")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tessera login: %v\n%s", err, log.String())
	}
	t.Logf("tessera login:\n%s", log.String())
	var out struct {
		AccessToken string `json:"access_token"`
		Account     struct {
			HomeAccountID string `json:"home_account_id"`
			Username      string `json:"username"`
		} `json:"account"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("tessera login --output json printed %q (%v)", stdout.String(), err)
	}
	return client.Result{AccessToken: out.AccessToken, Account: client.Account{HomeAccountID: out.Account.HomeAccountID, Username: out.Account.Username}}
}
