package nodetest

import (
	"encoding/json"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/client"
	"github.com/tessera-id/tessera/client/cache"
	"github.com/tessera-id/tessera/test/harness"
)

// msalEnv is the configuration a user gives MSAL Node for Tessera: the
// authority, the authority host as a known authority (so MSAL does no
// instance discovery at login.microsoftonline.com) and the protocol mode
// ("OIDC", or "" for MSAL's default AAD mode).
func msalEnv(srv *harness.Tessera, protocolMode string) map[string]string {
	return map[string]string{
		"AUTHORITY":       srv.Authority(),
		"KNOWN_AUTHORITY": "localhost:" + srv.Port,
		"PROTOCOL_MODE":   protocolMode,
	}
}

// requireDiscovery checks that MSAL fetched its protocol mode's discovery
// document, and only it: OIDC mode {authority}/.well-known/..., AAD mode
// {authority}/v2.0/.well-known/....
func requireDiscovery(t *testing.T, srv *harness.Tessera, protocolMode string) {
	t.Helper()
	oidc, aad := "path=/"+srv.Tenant+"/.well-known/openid-configuration ", "path=/"+srv.Tenant+"/v2.0/.well-known/openid-configuration "
	want, not := aad, oidc
	if protocolMode == "OIDC" {
		want, not = oidc, aad
	}
	if log := srv.Log(); !strings.Contains(log, want) || strings.Contains(log, not) {
		t.Errorf("MSAL did not fetch %s (and only it)", strings.TrimSpace(strings.TrimPrefix(want, "path=")))
	}
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestMSALNodePublicClient runs MSAL Node's public client flows, once in
// OIDC protocol mode and once in MSAL's default AAD mode (discovery at
// /{tenant}/v2.0/.well-known/openid-configuration, client_info=1).
func TestMSALNodePublicClient(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct{ name, protocolMode string }{{"OIDC", "OIDC"}, {"AAD", ""}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			requireNode(t)
			srv := startServer(t)
			scope := "api://" + srv.Demo.WebClientID + "/access_as_user"
			cachePath := filepath.Join(t.TempDir(), "msal_cache.json")
			rs, check := mustRun(t, srv, script{name: "msal-public.mjs", env: merge(msalEnv(srv, mode.protocolMode), map[string]string{
				"CLIENT_ID": srv.Demo.NativeClientID, "SCOPE": scope, "CACHE_PATH": cachePath, "TENANT": srv.Tenant,
			})})
			defer check()

			userToken := func(t *testing.T, r result) {
				t.Helper()
				if r.str("aud") != srv.Demo.WebClientID || r.str("scp") != "access_as_user" {
					t.Errorf("access token aud %q scp %q, want %s access_as_user", r.str("aud"), r.str("scp"), srv.Demo.WebClientID)
				}
				if r.str("username") != srv.Demo.Username {
					t.Errorf("account username %q, want %q", r.str("username"), srv.Demo.Username)
				}
				if !slices.Contains(r.strs("scopes"), scope) {
					t.Errorf("result scopes %v lack %s", r.strs("scopes"), scope)
				}
				if r.str("idTokenAud") != srv.Demo.NativeClientID {
					t.Errorf("ID token aud %q", r.str("idTokenAud"))
				}
				if mode.protocolMode == "" && r.str("homeAccountId") != r.str("oid")+"."+srv.Demo.TenantID {
					t.Errorf("AAD mode: homeAccountId %q, want uid.utid from client_info (%s.%s)", r.str("homeAccountId"), r.str("oid"), srv.Demo.TenantID)
				}
			}
			t.Run("Discovery", func(t *testing.T) { requireDiscovery(t, srv, mode.protocolMode) })
			t.Run("AcquireTokenInteractive", func(t *testing.T) {
				r := rs.step(t, "acquireTokenInteractive")
				userToken(t, r)
				if r.boolean("fromCache") {
					t.Error("fromCache")
				}
			})
			t.Run("AuthCodePKCE", func(t *testing.T) {
				r := rs.step(t, "getAuthCodeUrl+acquireTokenByCode")
				userToken(t, r)
				u, err := url.Parse(r.str("authorizeURL"))
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
					t.Errorf("authorize URL without PKCE: %s", u)
				}
				if !strings.HasPrefix(r.str("authorizeURL"), srv.Authority()+"/oauth2/v2.0/authorize?") {
					t.Errorf("authorize URL %s", u)
				}
			})
			t.Run("DeviceCode", func(t *testing.T) {
				r := rs.step(t, "acquireTokenByDeviceCode")
				userToken(t, r)
				if !strings.Contains(r.str("message"), srv.Authority()+"/device") {
					t.Errorf("message %q", r.str("message"))
				}
			})
			t.Run("RefreshToken", func(t *testing.T) {
				userToken(t, rs.step(t, "acquireTokenByRefreshToken"))
			})
			t.Run("SilentFromCache", func(t *testing.T) {
				r := rs.step(t, "getAllAccounts+acquireTokenSilent from cache")
				userToken(t, r)
				if !r.boolean("fromCache") || r.num("accounts") != 1 {
					t.Errorf("fromCache %v, accounts %v", r["fromCache"], r["accounts"])
				}
			})
			t.Run("SilentForceRefresh", func(t *testing.T) {
				r := rs.step(t, "acquireTokenSilent forceRefresh")
				userToken(t, r)
				if r.boolean("fromCache") || !r.boolean("rotated") {
					t.Errorf("fromCache %v rotated %v", r["fromCache"], r["rotated"])
				}
			})
			t.Run("SilentRefreshAfterExpiry", func(t *testing.T) {
				r := rs.step(t, "acquireTokenSilent after expiry")
				userToken(t, r)
				if r.boolean("fromCache") || !r.boolean("rotated") || r.num("lifetime") != 300 {
					t.Errorf("fromCache %v rotated %v lifetime %v", r["fromCache"], r["rotated"], r["lifetime"])
				}
				r = rs.step(t, "acquireTokenSilent once more")
				if r.boolean("fromCache") || !r.boolean("rotated") {
					t.Errorf("once more: fromCache %v rotated %v", r["fromCache"], r["rotated"])
				}
			})
			t.Run("CacheFile", func(t *testing.T) {
				last := rs.step(t, "acquireTokenSilent once more").str("refreshToken")
				r := rs.step(t, "cache file")
				if r.str("refreshToken") != last || last == "" {
					t.Errorf("cache file refresh token is not the last rotated one")
				}
				for _, s := range []string{"Account", "AccessToken", "AppMetadata", "IdToken", "RefreshToken"} {
					if !slices.Contains(r.strs("sections"), s) {
						t.Errorf("cache sections %v lack %s", r.strs("sections"), s)
					}
				}
				if got := r.strs("credentialTypes"); !slices.Equal(got, []string{"AccessToken", "IdToken", "RefreshToken"}) {
					t.Errorf("credential types %v", got)
				}
				if !strings.Contains(r.str("refreshTokenKey"), "-refreshtoken-"+srv.Demo.NativeClientID) {
					t.Errorf("refresh token key %q", r.str("refreshTokenKey"))
				}
				if strings.Contains(string(readFile(t, cachePath)), srv.Demo.Password) {
					t.Error("the cache holds the password")
				}
			})
			t.Run("TesseraClientReadsMSALCache", func(t *testing.T) {
				// Tessera's client opens the file MSAL Node's cachePlugin
				// wrote (plain JSON: no encryption key) and serves the
				// token MSAL left there from the cache.
				left := rs.step(t, "token left in the cache file for Tessera's client")
				ctx := t.Context()
				app, err := client.NewPublic(srv.Demo.NativeClientID, srv.Authority(), client.WithHTTPClient(srv.HTTP),
					client.WithCache(cache.New(cache.WithPersistence(cache.NewFile(cachePath)))))
				if err != nil {
					t.Fatal(err)
				}
				accounts, err := app.Accounts(ctx)
				if err != nil {
					t.Fatalf("Accounts: %v", err)
				}
				if len(accounts) != 1 || accounts[0].Username != srv.Demo.Username || accounts[0].HomeAccountID != left.str("homeAccountId") {
					t.Fatalf("accounts %+v, want the one MSAL signed in (%s, %s)", accounts, srv.Demo.Username, left.str("homeAccountId"))
				}
				res, err := app.AcquireTokenSilent(ctx, accounts[0], []string{scope})
				if err != nil {
					t.Fatalf("AcquireTokenSilent: %v", err)
				}
				if !res.FromCache || res.AccessToken != left.str("accessToken") {
					t.Errorf("AcquireTokenSilent: fromCache %v, same token as MSAL's %v", res.FromCache, res.AccessToken == left.str("accessToken"))
				}

				// Tessera's client refreshes with MSAL's refresh token (a
				// refresh-ahead window longer than the token's life makes the
				// cached one stale) and writes the rotated tokens over MSAL's
				// entries, under the same keys, not beside them.
				refresher, err := client.NewPublic(srv.Demo.NativeClientID, srv.Authority(), client.WithHTTPClient(srv.HTTP),
					client.WithCache(cache.New(cache.WithPersistence(cache.NewFile(cachePath)))), client.WithRefreshAhead(2*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				refreshed, err := refresher.AcquireTokenSilent(ctx, accounts[0], []string{scope})
				if err != nil {
					t.Fatalf("AcquireTokenSilent with MSAL's refresh token: %v", err)
				}
				if refreshed.FromCache || refreshed.AccessToken == left.str("accessToken") {
					t.Errorf("the refresh was served from the cache")
				}
				var file map[string]map[string]map[string]any
				if err := json.Unmarshal(readFile(t, cachePath), &file); err != nil {
					t.Fatalf("the cache file after Tessera's client wrote it: %v", err)
				}
				for _, section := range []string{"Account", "AccessToken", "IdToken", "RefreshToken", "AppMetadata"} {
					if len(file[section]) != 1 {
						t.Errorf("%s entries after Tessera's client wrote MSAL's file: %v, want one", section, slices.Sorted(maps.Keys(file[section])))
					}
				}
				for _, rt := range file["RefreshToken"] {
					if rt["secret"] == left.str("refreshToken") {
						t.Error("the file still holds MSAL's refresh token, which the refresh rotated")
					}
				}
				for _, at := range file["AccessToken"] {
					if at["secret"] != refreshed.AccessToken {
						t.Error("the file's access token is not the one Tessera's client got")
					}
				}
			})
		})
	}
}

// TestMSALNodeConfidentialClient runs MSAL Node's confidential client
// flows: client credentials (secret from .env, certificate by SHA-256 and
// SHA-1 thumbprint, a wrong thumbprint refused), on-behalf-of in the seed's
// web app -> web API -> downstream API chain, and seed 000's refresh token
// grant.
func TestMSALNodeConfidentialClient(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct{ name, protocolMode string }{{"OIDC", "OIDC"}, {"AAD", ""}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testMSALNodeConfidentialClient(t, mode.protocolMode)
		})
	}
}

func testMSALNodeConfidentialClient(t *testing.T, protocolMode string) {
	requireNode(t)
	srv := startServer(t)
	dir := t.TempDir()

	// An API with an app role, and a daemon granted it by an admin.
	files := srv.RegisterApp(t, "Files API", false)
	srv.CLI(t, "app", "expose", "--tenant", srv.Tenant, "--app", files.ClientID, "--app-id-uri", "api://files", "--role", "Files.ReadAll")
	daemon := srv.RegisterApp(t, "Daemon", false)
	srv.CLI(t, "app", "permission", "add", "--tenant", srv.Tenant, "--app", daemon.ClientID, "--resource", "api://files", "--role", "Files.ReadAll")
	srv.AdminConsent(t, daemon.ClientID)
	cert := newCertificate(t, dir, "daemon")
	srv.CLI(t, "app", "certificate", "add", "--tenant", srv.Tenant, "--app", daemon.ClientID, "--file", cert.CertFile)
	// Another certificate, never registered: its thumbprints name a
	// certificate the daemon does not have.
	wrong := newCertificate(t, dir, "not-registered")

	// The seed's on-behalf-of chain: a confidential web app signs the user
	// in and calls a web API, which calls a downstream API as the user.
	downstream := srv.RegisterApp(t, "Downstream API", false)
	srv.Expose(t, downstream.ClientID, "api://downstream", "Data.Read")
	webAPI := srv.RegisterApp(t, "Web API", false)
	srv.Expose(t, webAPI.ClientID, "api://web-api", "access_as_user")
	srv.Permission(t, webAPI.ClientID, "api://downstream", "Data.Read")
	srv.AdminConsent(t, webAPI.ClientID)
	webApp := srv.RegisterApp(t, "Web app", false, "http://localhost:3000/redirect")
	srv.Permission(t, webApp.ClientID, "api://web-api", "access_as_user")

	webScope := "api://" + srv.Demo.WebClientID + "/access_as_user"
	rs, check := mustRun(t, srv, script{
		name: "msal-confidential.mjs",
		env: merge(msalEnv(srv, protocolMode), map[string]string{
			"DAEMON_CLIENT_ID": daemon.ClientID, "FILES_SCOPE": "api://files/.default",
			"CERT_KEY_FILE": cert.KeyFile, "CERT_SHA256": cert.SHA256, "CERT_SHA1": cert.SHA1,
			"WRONG_CERT_SHA256": wrong.SHA256, "WRONG_CERT_SHA1": wrong.SHA1,
			"WEB_CLIENT_ID": srv.Demo.WebClientID, "WEB_SCOPE": webScope,
			"OBO_WEB_APP_CLIENT_ID": webApp.ClientID, "OBO_WEB_API_CLIENT_ID": webAPI.ClientID,
			"OBO_WEB_API_SCOPE": "api://web-api/access_as_user", "DOWNSTREAM_SCOPE": "api://downstream/Data.Read",
		}),
		dotenv: map[string]string{"clientSecret": daemon.Secret, "webClientSecret": srv.Demo.WebSecret,
			"oboWebAppSecret": webApp.Secret, "oboWebApiSecret": webAPI.Secret},
	})
	defer check()

	appToken := func(t *testing.T, r result) {
		t.Helper()
		c := r.obj("claims")
		if c.str("aud") != files.ClientID || !slices.Equal(c.strs("roles"), []string{"Files.ReadAll"}) || c.str("idtyp") != "app" {
			t.Errorf("app token claims aud %q roles %v idtyp %q", c.str("aud"), c.strs("roles"), c.str("idtyp"))
		}
		if c.str("azp") != daemon.ClientID || c.str("oid") == "" {
			t.Errorf("azp %q oid %q", c.str("azp"), c.str("oid"))
		}
		if !slices.Equal(r.strs("scopes"), []string{"api://files/.default"}) {
			t.Errorf("scopes %v", r.strs("scopes"))
		}
	}
	t.Run("ClientCredentialSecretDotenv", func(t *testing.T) {
		r := rs.step(t, "acquireTokenByClientCredential secret from .env")
		appToken(t, r)
		if !r.boolean("secondFromCache") {
			t.Error("a second request for the same scope was not served from MSAL's cache")
		}
	})
	t.Run("ClientCredentialCertificateSHA256", func(t *testing.T) {
		appToken(t, rs.step(t, "acquireTokenByClientCredential certificate thumbprintSha256"))
	})
	t.Run("ClientCredentialCertificateSHA1", func(t *testing.T) {
		appToken(t, rs.step(t, "acquireTokenByClientCredential certificate thumbprint (SHA-1)"))
	})
	t.Run("WrongCertificateThumbprint", func(t *testing.T) {
		r := rs.step(t, "wrong certificate thumbprint rejected")
		for _, k := range []string{"sha256", "sha1"} {
			if e := r.obj(k); e.str("errorCode") != "invalid_client" || !strings.Contains(e.str("errorMessage"), "names no certificate registered") {
				t.Errorf("%s: %s %q: %s", k, e.str("name"), e.str("errorCode"), e.str("errorMessage"))
			}
		}
	})
	t.Run("OnBehalfOf", func(t *testing.T) {
		r := rs.step(t, "acquireTokenOnBehalfOf web app -> web API -> downstream API")
		a, b := r.obj("a"), r.obj("claims")
		if a.str("aud") != webAPI.ClientID || a.str("azp") != webApp.ClientID || a.str("scp") != "access_as_user" {
			t.Errorf("the web app's token for the web API: aud %q azp %q scp %q", a.str("aud"), a.str("azp"), a.str("scp"))
		}
		if a.str("preferred_username") != srv.Demo.Username {
			t.Errorf("the web app's token is for %q", a.str("preferred_username"))
		}
		if b.str("oid") == "" || b.str("oid") != a.str("oid") {
			t.Errorf("the downstream token's oid %q, the web API's %q", b.str("oid"), a.str("oid"))
		}
		if b.str("aud") != downstream.ClientID || b.str("scp") != "Data.Read" || b.str("azp") != webAPI.ClientID {
			t.Errorf("the downstream token: aud %q scp %q azp %q", b.str("aud"), b.str("scp"), b.str("azp"))
		}
		if !slices.Contains(r.strs("scopes"), "api://downstream/Data.Read") {
			t.Errorf("scopes %v", r.strs("scopes"))
		}
		if !r.boolean("secondFromCache") {
			t.Error("the same on-behalf-of request again was not served from MSAL's cache")
		}
	})
	t.Run("AuthCode", func(t *testing.T) {
		r := rs.step(t, "getAuthCodeUrl+acquireTokenByCode confidential")
		if c := r.obj("claims"); c.str("aud") != srv.Demo.WebClientID || c.str("scp") != "access_as_user" {
			t.Errorf("aud %q scp %q", c.str("aud"), c.str("scp"))
		}
	})
	t.Run("RefreshTokenSeed000", func(t *testing.T) {
		r := rs.step(t, "acquireTokenByRefreshToken confidential (seed 000)")
		if c := r.obj("claims"); c.str("aud") != srv.Demo.WebClientID || c.str("scp") != "access_as_user" || r.str("account") != srv.Demo.Username {
			t.Errorf("aud %q scp %q account %q", c.str("aud"), c.str("scp"), r.str("account"))
		}
	})
}

// TestMSALNodeDeadRefreshToken checks that MSAL Node turns a dead refresh
// token into InteractionRequiredAuthError: revoked at the revocation
// endpoint, or reused after rotation outside the grace window; in OIDC
// protocol mode and in MSAL's default AAD mode.
func TestMSALNodeDeadRefreshToken(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct{ name, protocolMode string }{{"OIDC", "OIDC"}, {"AAD", ""}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testMSALNodeDeadRefreshToken(t, mode.protocolMode)
		})
	}
}

func testMSALNodeDeadRefreshToken(t *testing.T, protocolMode string) {
	requireNode(t)
	srv := startServer(t, "--refresh-grace", "1s")
	rs, check := mustRun(t, srv, script{name: "msal-dead-refresh.mjs", env: merge(msalEnv(srv, protocolMode), map[string]string{
		"CLIENT_ID": srv.Demo.NativeClientID, "SCOPE": "api://" + srv.Demo.WebClientID + "/access_as_user",
		"REVOCATION_ENDPOINT": srv.Authority() + "/oauth2/v2.0/revoke", "GRACE_MS": "1000",
	})})
	defer check()

	interaction := func(t *testing.T, what string, r result) {
		t.Helper()
		if !r.boolean("isInteractionRequired") || r.str("name") != "InteractionRequiredAuthError" {
			t.Errorf("%s: %s (instanceof InteractionRequiredAuthError: %v)", what, r.str("name"), r["isInteractionRequired"])
		}
		if r.str("errorCode") != "invalid_grant" || r.str("subError") != "bad_token" {
			t.Errorf("%s: errorCode %q subError %q", what, r.str("errorCode"), r.str("subError"))
		}
	}
	t.Run("Discovery", func(t *testing.T) { requireDiscovery(t, srv, protocolMode) })
	t.Run("Revoked", func(t *testing.T) {
		r := rs.step(t, "revoked refresh token")
		interaction(t, "acquireTokenSilent", r.obj("silent"))
		interaction(t, "acquireTokenByRefreshToken", r.obj("byRefreshToken"))
	})
	t.Run("ReusedAfterRotation", func(t *testing.T) {
		r := rs.step(t, "refresh token reused after rotation")
		interaction(t, "reuse", r.obj("reused"))
		interaction(t, "the family's current token", r.obj("family"))
	})
}

// TestMSALNodeMFARequired: with the tenant requiring a second factor of
// everyone, MSAL Node's public client flows still sign in: the browser
// enrols an authenticator app at the first sign-in (reading its secret
// off the page) and the tokens MSAL gets say the sign-in was
// multi-factor.
func TestMSALNodeMFARequired(t *testing.T) {
	t.Parallel()
	requireNode(t)
	srv := startServer(t)
	if got := srv.CLI(t, "tenant", "set", srv.Tenant, "--mfa", "everyone")["mfa"]; got != "everyone" {
		t.Fatalf("tenant set --mfa everyone: %v", got)
	}
	scope := "api://" + srv.Demo.WebClientID + "/access_as_user"
	app := &harness.Authenticator{}
	rs, check := mustRun(t, srv, script{name: "msal-public.mjs", mfa: app, env: merge(msalEnv(srv, "OIDC"), map[string]string{
		"CLIENT_ID": srv.Demo.NativeClientID, "SCOPE": scope, "CACHE_PATH": filepath.Join(t.TempDir(), "msal_cache.json"), "TENANT": srv.Tenant,
	})})
	defer check()
	if app.Secret() == "" {
		t.Error("the browser was never asked to enrol an authenticator app")
	}
	for _, step := range []string{"acquireTokenInteractive", "getAuthCodeUrl+acquireTokenByCode", "acquireTokenByDeviceCode", "acquireTokenByRefreshToken", "acquireTokenSilent forceRefresh"} {
		t.Run(step, func(t *testing.T) {
			r := rs.step(t, step)
			if r.str("acr") != "mfa" || r.str("idTokenAcr") != "mfa" {
				t.Errorf("acr %q, ID token acr %q: want mfa", r.str("acr"), r.str("idTokenAcr"))
			}
		})
	}
}
