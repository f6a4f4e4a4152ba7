package interop

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/test/harness"
)

// fileCache is an MSAL cache accessor that persists the whole cache in
// one file, as a desktop app would.
type fileCache struct {
	path string
	mu   sync.Mutex
}

func (f *fileCache) Replace(_ context.Context, c cache.Unmarshaler, _ cache.ReplaceHints) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.Unmarshal(data)
}

func (f *fileCache) Export(_ context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(f.path, data, 0o600)
}

// makeAccessTokensStale moves the expiry of every access token in an MSAL
// cache file to one minute from now, inside MSAL's refresh margin.
func makeAccessTokensStale(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("MSAL cache file: %v", err)
	}
	soon := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	for _, at := range c["AccessToken"] {
		at["expires_on"], at["extended_expires_on"] = soon, soon
	}
	if data, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// refreshTokens are the secrets of the refresh tokens in an MSAL cache file.
func refreshTokens(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		} `json:"RefreshToken"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("MSAL cache file: %v", err)
	}
	var out []string
	for _, rt := range c.RefreshToken {
		out = append(out, rt.Secret)
	}
	return out
}

func newPublic(t *testing.T, s *harness.Tessera, clientID string, httpClient *http.Client, opts ...public.Option) public.Client {
	t.Helper()
	opts = append([]public.Option{public.WithAuthority(s.Authority()), public.WithInstanceDiscovery(false), public.WithHTTPClient(httpClient)}, opts...)
	app, err := public.New(clientID, opts...)
	if err != nil {
		t.Fatalf("public.New: %v", err)
	}
	return app
}

func newConfidential(t *testing.T, s *harness.Tessera, clientID string, cred confidential.Credential, httpClient *http.Client) confidential.Client {
	t.Helper()
	app, err := confidential.New(s.Authority(), clientID, cred, confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatalf("confidential.New: %v", err)
	}
	return app
}

// msalSignIn runs MSAL Go's auth code flow with PKCE: AuthCodeURL (which
// has no PKCE option in MSAL Go, so the challenge is added to the URL, as
// AcquireTokenInteractive does internally), the browser signs in, and
// AcquireTokenByAuthCode redeems the code with WithChallenge(verifier).
// AuthCodeURL sends the scopes as given, so the OpenID scopes MSAL adds to
// every token request are asked for here too: without offline_access at
// the authorize step there is no refresh token.
func msalSignIn(t *testing.T, s *harness.Tessera, b *harness.Browser, app public.Client, clientID string, scopes []string) public.AuthResult {
	t.Helper()
	ctx := testContext(t)
	redirect := loopbackRedirect(t)
	verifier := oauth2.GenerateVerifier()
	authURL, err := app.AuthCodeURL(ctx, clientID, redirect, append(slices.Clone(scopes), "openid", "profile", "offline_access"))
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(authURL, s.Authority()+"/oauth2/v2.0/authorize?") {
		t.Fatalf("MSAL built the authorize URL %s", authURL)
	}
	q := u.Query()
	q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("state", "msal-state")
	u.RawQuery = q.Encode()
	callback := b.SignIn(u.String(), s.Demo.Username, s.Demo.Password, redirect)
	code := codeFrom(t, callback, "msal-state")
	res, err := app.AcquireTokenByAuthCode(ctx, code, redirect, scopes, public.WithChallenge(verifier))
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode: %v", err)
	}
	return res
}

func TestMSALPublic(t *testing.T) {
	s := startServer(t)
	b := harness.NewBrowser(t)
	httpClient, rec := newRecorder(s)
	clientID := s.Demo.NativeClientID
	scopes := []string{"api://" + s.Demo.WebClientID + "/access_as_user"}
	cachePath := filepath.Join(t.TempDir(), "msal-cache.json")
	app := newPublic(t, s, clientID, httpClient, public.WithCache(&fileCache{path: cachePath}))

	t.Run("Interactive", func(t *testing.T) {
		// MSAL's own browser flow: a loopback server on a random port,
		// PKCE, prompt=select_account and response_mode=form_post.
		ctx := testContext(t)
		interactive := newPublic(t, s, clientID, httpClient)
		res, err := interactive.AcquireTokenInteractive(ctx, scopes, public.WithOpenURL(func(authURL string) error {
			u, err := url.Parse(authURL)
			if err != nil {
				return err
			}
			q := u.Query()
			if q.Get("response_mode") != "form_post" || q.Get("code_challenge_method") != "S256" {
				t.Errorf("MSAL's interactive authorize URL: %s", authURL)
			}
			b.SignIn(authURL, s.Demo.Username, s.Demo.Password, q.Get("redirect_uri"))
			return nil
		}))
		if err != nil {
			t.Fatalf("AcquireTokenInteractive: %v", err)
		}
		at := claims(t, res.AccessToken)
		expectClaim(t, at, "aud", s.Demo.WebClientID)
		expectClaim(t, at, "scp", "access_as_user")
		if res.Account.PreferredUsername != s.Demo.Username {
			t.Errorf("account %+v", res.Account)
		}
	})

	var first public.AuthResult
	t.Run("AuthCodePKCE", func(t *testing.T) {
		mark := rec.mark()
		first = msalSignIn(t, s, b, app, clientID, scopes)
		at := claims(t, first.AccessToken)
		expectClaim(t, at, "aud", s.Demo.WebClientID)
		expectClaim(t, at, "azp", clientID)
		expectClaim(t, at, "scp", "access_as_user")
		if first.IDToken.Oid == "" || first.IDToken.Oid != at["oid"] {
			t.Errorf("ID token oid %q, access token oid %v", first.IDToken.Oid, at["oid"])
		}
		wantHome := first.IDToken.Oid + "." + s.Demo.TenantID
		if first.Account.HomeAccountID != wantHome {
			t.Errorf("home account id %q, want %q (from client_info)", first.Account.HomeAccountID, wantHome)
		}
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 1 || calls[0].GrantType != "authorization_code" || calls[0].Form.Get("code_verifier") == "" {
			t.Errorf("token requests %+v", calls)
		}
	})
	if first.AccessToken == "" {
		t.Fatal("the remaining subtests need the sign-in")
	}

	t.Run("SilentFromCache", func(t *testing.T) {
		ctx := testContext(t)
		accounts, err := app.Accounts(ctx)
		if err != nil || len(accounts) != 1 {
			t.Fatalf("Accounts: %v %+v", err, accounts)
		}
		mark := rec.mark()
		res, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]))
		if err != nil {
			t.Fatalf("AcquireTokenSilent: %v", err)
		}
		if res.AccessToken != first.AccessToken {
			t.Error("the silent call did not return the cached access token")
		}
		if calls := tokenCalls(rec.since(mark)); len(calls) != 0 {
			t.Errorf("the silent call went to the token endpoint: %+v", calls)
		}
	})

	t.Run("SilentFromPersistedCache", func(t *testing.T) {
		// The first app exported its cache to the file; a new instance
		// (a restarted program) replaces its empty cache from the file.
		ctx := testContext(t)
		if _, err := os.Stat(cachePath); err != nil {
			t.Fatalf("MSAL exported no cache: %v", err)
		}
		restarted := newPublic(t, s, clientID, httpClient, public.WithCache(&fileCache{path: cachePath}))
		accounts, err := restarted.Accounts(ctx)
		if err != nil || len(accounts) != 1 || accounts[0].HomeAccountID != first.Account.HomeAccountID {
			t.Fatalf("Accounts after replace: %v %+v", err, accounts)
		}
		mark := rec.mark()
		res, err := restarted.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]))
		if err != nil {
			t.Fatalf("AcquireTokenSilent: %v", err)
		}
		if res.AccessToken != first.AccessToken {
			t.Error("the silent call did not return the persisted access token")
		}
		if calls := tokenCalls(rec.since(mark)); len(calls) != 0 {
			t.Errorf("the silent call went to the token endpoint: %+v", calls)
		}
	})

	t.Run("SilentRefresh", func(t *testing.T) {
		// The access token in the persisted cache is made stale (it
		// expires within MSAL's 5-minute margin), so the silent call
		// redeems the refresh token; the successor replaces it in the
		// cache. The next silent call is served from the cache, and one
		// WithClaims forces another refresh.
		ctx := testContext(t)
		makeAccessTokensStale(t, cachePath)
		accounts, err := app.Accounts(ctx)
		if err != nil || len(accounts) != 1 {
			t.Fatalf("Accounts: %v %+v", err, accounts)
		}
		rt0 := refreshTokens(t, cachePath)
		mark := rec.mark()
		refreshed, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]))
		if err != nil {
			t.Fatalf("AcquireTokenSilent of a stale token: %v", err)
		}
		rt1 := refreshTokens(t, cachePath)
		cached, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]))
		if err != nil || cached.AccessToken != refreshed.AccessToken {
			t.Errorf("the refreshed token was not served from the cache: %v", err)
		}
		forced, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]), public.WithClaims(`{"access_token":{"xms_cc":{"values":["cp1"]}}}`))
		if err != nil {
			t.Fatalf("AcquireTokenSilent WithClaims: %v", err)
		}
		rt2 := refreshTokens(t, cachePath)
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 2 {
			t.Fatalf("want two refresh requests, got %+v", calls)
		}
		for i, c := range calls {
			if c.GrantType != "refresh_token" || c.Status != http.StatusOK {
				t.Errorf("request %d: %s -> %d", i, c.GrantType, c.Status)
			}
		}
		// Rotation: each refresh spent the token in the cache and left
		// its successor there.
		if len(rt0) != 1 || len(rt1) != 1 || len(rt2) != 1 {
			t.Fatalf("refresh tokens in the cache: %d, %d, %d", len(rt0), len(rt1), len(rt2))
		}
		if calls[0].Form.Get("refresh_token") != rt0[0] || calls[1].Form.Get("refresh_token") != rt1[0] || rt0[0] == rt1[0] || rt1[0] == rt2[0] {
			t.Error("the refresh token did not rotate on each refresh")
		}
		ids := map[string]bool{}
		for _, tok := range []string{first.AccessToken, refreshed.AccessToken, forced.AccessToken} {
			ids[claims(t, tok)["jti"].(string)] = true
		}
		if len(ids) != 3 {
			t.Error("a refresh returned an old access token")
		}
		expectClaim(t, claims(t, forced.AccessToken), "oid", first.IDToken.Oid)
		if refreshed.Account.HomeAccountID != first.Account.HomeAccountID {
			t.Errorf("account after refresh %q", refreshed.Account.HomeAccountID)
		}
	})

	t.Run("DeviceCode", func(t *testing.T) {
		ctx := testContext(t)
		fresh := newPublic(t, s, clientID, httpClient)
		mark := rec.mark()
		dc, err := fresh.AcquireTokenByDeviceCode(ctx, scopes)
		if err != nil {
			t.Fatalf("AcquireTokenByDeviceCode: %v", err)
		}
		if dc.Result.UserCode == "" || !strings.HasPrefix(dc.Result.VerificationURL, s.Authority()+"/device") || !strings.Contains(dc.Result.Message, dc.Result.UserCode) {
			t.Fatalf("device code result %+v", dc.Result)
		}
		type outcome struct {
			res public.AuthResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := dc.AuthenticationResult(ctx)
			done <- outcome{res, err}
		}()
		b.ApproveDevice(dc.Result.VerificationURL, dc.Result.UserCode, s.Demo.Username, s.Demo.Password)
		out := <-done
		if out.err != nil {
			t.Fatalf("AuthenticationResult: %v", out.err)
		}
		at := claims(t, out.res.AccessToken)
		expectClaim(t, at, "aud", s.Demo.WebClientID)
		expectClaim(t, at, "oid", first.IDToken.Oid)
		if out.res.Account.HomeAccountID != first.Account.HomeAccountID {
			t.Errorf("device code account %q, want %q", out.res.Account.HomeAccountID, first.Account.HomeAccountID)
		}
		// MSAL Go derives the device authorization endpoint from the
		// token endpoint (".../token" -> ".../devicecode").
		calls := rec.since(mark)
		if !slices.ContainsFunc(calls, func(c call) bool { return strings.HasSuffix(c.Path, "/oauth2/v2.0/devicecode") }) {
			t.Errorf("MSAL did not call the devicecode endpoint: %+v", calls)
		}
		// MSAL Go polls after 50 ms, 200 ms, 650 ms, 2 s and then every
		// 5 s at most, whatever the interval; Tessera answers the
		// fastest polls with slow_down, which MSAL Go treats as "wait".
		polls := tokenCalls(calls)
		var answers []string
		for _, p := range polls {
			if p.GrantType != "device_code" {
				t.Errorf("MSAL Go polled with grant_type=%s", p.GrantType)
			}
			if p.Status == http.StatusOK {
				answers = append(answers, "token")
			} else {
				answers = append(answers, p.Error)
			}
		}
		t.Logf("MSAL Go's polls were answered: %v", answers)
		if len(answers) == 0 || answers[len(answers)-1] != "token" || slices.ContainsFunc(answers[:len(answers)-1], func(a string) bool { return a != "authorization_pending" && a != "slow_down" }) {
			t.Errorf("poll answers %v", answers)
		}
	})
}

func TestMSALConfidential(t *testing.T) {
	s := startServer(t)
	httpClient, rec := newRecorder(s)

	// An API with an app role, and a daemon granted it by an admin.
	api := s.RegisterApp(t, "Files API", false)
	s.CLI(t, "app", "expose", "--tenant", s.Tenant, "--app", api.ClientID, "--app-id-uri", "api://files", "--scope", "Files.Read", "--role", "Files.ReadAll")
	daemon := s.RegisterApp(t, "Files daemon", false)
	s.CLI(t, "app", "permission", "add", "--tenant", s.Tenant, "--app", daemon.ClientID, "--resource", "api://files", "--role", "Files.ReadAll")
	s.AdminConsent(t, daemon.ClientID)
	scopes := []string{"api://files/.default"}

	checkAppToken := func(t *testing.T, res confidential.AuthResult) {
		t.Helper()
		at := claims(t, res.AccessToken)
		expectClaim(t, at, "aud", api.ClientID)
		expectClaim(t, at, "azp", daemon.ClientID)
		expectClaim(t, at, "idtyp", "app")
		if roles, _ := at["roles"].([]any); len(roles) != 1 || roles[0] != "Files.ReadAll" {
			t.Errorf("roles %v", at["roles"])
		}
	}

	t.Run("ClientCredentialsSecret", func(t *testing.T) {
		ctx := testContext(t)
		cred, err := confidential.NewCredFromSecret(daemon.Secret)
		if err != nil {
			t.Fatal(err)
		}
		app := newConfidential(t, s, daemon.ClientID, cred, httpClient)
		mark := rec.mark()
		res, err := app.AcquireTokenByCredential(ctx, scopes)
		if err != nil {
			t.Fatalf("AcquireTokenByCredential: %v", err)
		}
		checkAppToken(t, res)
		again, err := app.AcquireTokenByCredential(ctx, scopes)
		if err != nil || again.AccessToken != res.AccessToken {
			t.Errorf("the second call was not served from MSAL's app cache: %v", err)
		}
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 1 || calls[0].GrantType != "client_credentials" || calls[0].Form.Get("client_secret") == "" {
			t.Errorf("token requests %+v", calls)
		}
	})

	t.Run("ClientCredentialsCertificate", func(t *testing.T) {
		ctx := testContext(t)
		cert, key, certFile := selfSignedCert(t, "files-daemon")
		s.CLI(t, "app", "certificate", "add", "--tenant", s.Tenant, "--app", daemon.ClientID, "--file", certFile, "--description", "MSAL Go")
		cred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
		if err != nil {
			t.Fatal(err)
		}
		app := newConfidential(t, s, daemon.ClientID, cred, httpClient)
		mark := rec.mark()
		res, err := app.AcquireTokenByCredential(ctx, scopes)
		if err != nil {
			t.Fatalf("AcquireTokenByCredential: %v", err)
		}
		checkAppToken(t, res)
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 1 || calls[0].Form.Get("client_assertion") == "" {
			t.Fatalf("token requests %+v", calls)
		}
		// MSAL Go signs with PS256 and names the certificate by x5t#S256
		// in padded standard base64 (RFC 7515 §4.1.8 has base64url).
		header := joseHeader(t, calls[0].Form.Get("client_assertion"))
		t.Logf("MSAL Go's client assertion header: %v", header)
		sum := sha256.Sum256(cert.Raw)
		if x5t := header["x5t#S256"]; header["alg"] != "PS256" || (x5t != base64.StdEncoding.EncodeToString(sum[:]) && x5t != base64.RawURLEncoding.EncodeToString(sum[:])) {
			t.Errorf("client assertion header %v; this test covers MSAL Go's PS256 with x5t#S256", header)
		}
	})

	t.Run("OnBehalfOf", func(t *testing.T) {
		b := harness.NewBrowser(t)
		ctx := testContext(t)
		// public client -> API A -> API B
		apiA := s.RegisterApp(t, "OBO API A", false)
		s.Expose(t, apiA.ClientID, "api://obo-a", "access")
		apiB := s.RegisterApp(t, "OBO API B", false)
		s.Expose(t, apiB.ClientID, "api://obo-b", "read")
		s.Permission(t, apiA.ClientID, "api://obo-b", "read")
		s.AdminConsent(t, apiA.ClientID)
		front := s.RegisterApp(t, "OBO front end", true, "http://localhost")
		s.Permission(t, front.ClientID, "api://obo-a", "access")

		pub := newPublic(t, s, front.ClientID, httpClient)
		user := msalSignIn(t, s, b, pub, front.ClientID, []string{"api://obo-a/access"})
		userAT := claims(t, user.AccessToken)
		expectClaim(t, userAT, "aud", apiA.ClientID)

		cred, err := confidential.NewCredFromSecret(apiA.Secret)
		if err != nil {
			t.Fatal(err)
		}
		a := newConfidential(t, s, apiA.ClientID, cred, httpClient)
		mark := rec.mark()
		res, err := a.AcquireTokenOnBehalfOf(ctx, user.AccessToken, []string{"api://obo-b/read"})
		if err != nil {
			t.Fatalf("AcquireTokenOnBehalfOf: %v", err)
		}
		downstream := claims(t, res.AccessToken)
		expectClaim(t, downstream, "aud", apiB.ClientID)
		expectClaim(t, downstream, "azp", apiA.ClientID)
		expectClaim(t, downstream, "oid", userAT["oid"])
		expectClaim(t, downstream, "scp", "read")
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 1 || calls[0].GrantType != "urn:ietf:params:oauth:grant-type:jwt-bearer" || calls[0].Form.Get("requested_token_use") != "on_behalf_of" {
			t.Errorf("token requests %+v", calls)
		}
		// MSAL caches OBO results by the incoming assertion.
		mark = rec.mark()
		again, err := a.AcquireTokenOnBehalfOf(ctx, user.AccessToken, []string{"api://obo-b/read"})
		if err != nil || again.AccessToken != res.AccessToken {
			t.Errorf("the second OBO call was not served from MSAL's cache: %v", err)
		}
		if calls := tokenCalls(rec.since(mark)); len(calls) != 0 {
			t.Errorf("the second OBO call went to the token endpoint: %+v", calls)
		}
	})
}

// joseHeader decodes a JWS's protected header.
func joseHeader(t *testing.T, jws string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
