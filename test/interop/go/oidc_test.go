package interop

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tessera-id/tessera/test/harness"
)

// TestOIDC drives golang.org/x/oauth2 with github.com/coreos/go-oidc/v3,
// configured from discovery alone.
func TestOIDC(t *testing.T) {
	s := startServer(t)
	httpClient, rec := newRecorder(s)
	issuer := s.Authority() + "/v2.0"
	clientCtx := func(t *testing.T) context.Context { return oidc.ClientContext(testContext(t), httpClient) }

	var provider *oidc.Provider
	t.Run("Discovery", func(t *testing.T) {
		var err error
		provider, err = oidc.NewProvider(clientCtx(t), issuer)
		if err != nil {
			t.Fatalf("NewProvider: %v", err)
		}
		ep := provider.Endpoint()
		if ep.AuthURL != s.Authority()+"/oauth2/v2.0/authorize" || ep.TokenURL != s.Authority()+"/oauth2/v2.0/token" ||
			ep.DeviceAuthURL != s.Authority()+"/oauth2/v2.0/devicecode" || provider.UserInfoEndpoint() != s.Authority()+"/oidc/userinfo" {
			t.Errorf("endpoints %+v, userinfo %s", ep, provider.UserInfoEndpoint())
		}
		var meta struct {
			GrantTypes     []string `json:"grant_types_supported"`
			PKCEMethods    []string `json:"code_challenge_methods_supported"`
			AuthMethods    []string `json:"token_endpoint_auth_methods_supported"`
			ScopesSupplied []string `json:"scopes_supported"`
		}
		if err := provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			list []string
			item string
		}{
			{meta.GrantTypes, "urn:ietf:params:oauth:grant-type:device_code"}, {meta.GrantTypes, "refresh_token"},
			{meta.PKCEMethods, "S256"}, {meta.AuthMethods, "client_secret_basic"}, {meta.ScopesSupplied, "openid"},
		} {
			if !slices.Contains(want.list, want.item) {
				t.Errorf("discovery lacks %s in %v", want.item, want.list)
			}
		}
	})
	if provider == nil {
		t.Fatal("the remaining subtests need discovery")
	}

	t.Run("ClientCredentialsBasic", func(t *testing.T) {
		cc := clientcredentials.Config{
			ClientID:     s.Demo.WebClientID,
			ClientSecret: s.Demo.WebSecret,
			TokenURL:     provider.Endpoint().TokenURL,
			Scopes:       []string{"api://" + s.Demo.WebClientID + "/.default"},
			AuthStyle:    oauth2.AuthStyleInHeader,
		}
		mark := rec.mark()
		appTok, err := cc.Token(clientCtx(t))
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		at := claims(t, appTok.AccessToken)
		expectClaim(t, at, "aud", s.Demo.WebClientID)
		expectClaim(t, at, "azp", s.Demo.WebClientID)
		expectClaim(t, at, "idtyp", "app")
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 1 || calls[0].GrantType != "client_credentials" || calls[0].Form.Has("client_secret") || calls[0].Auth != "Basic" {
			t.Errorf("token requests %+v", calls)
		}
	})

	t.Run("ClientCredentialsPrivateKeyJWT", func(t *testing.T) {
		// An API with an app role, and a daemon granted it that
		// authenticates with a registered certificate (private_key_jwt).
		api := s.RegisterApp(t, "Reports API", false)
		s.CLI(t, "app", "expose", "--tenant", s.Tenant, "--app", api.ClientID, "--app-id-uri", "api://reports", "--role", "Reports.ReadAll")
		daemon := s.RegisterApp(t, "Reports daemon", false)
		s.CLI(t, "app", "permission", "add", "--tenant", s.Tenant, "--app", daemon.ClientID, "--resource", "api://reports", "--role", "Reports.ReadAll")
		s.AdminConsent(t, daemon.ClientID)
		cert, key, certFile := selfSignedCert(t, "reports-daemon")
		s.CLI(t, "app", "certificate", "add", "--tenant", s.Tenant, "--app", daemon.ClientID, "--file", certFile)
		tokenURL := provider.Endpoint().TokenURL
		sum := sha256.Sum256(cert.Raw)

		// x/oauth2 has no client assertion support of its own: the
		// assertion goes in EndpointParams, and AuthStyleInParams with no
		// secret sends only client_id besides it.
		config := func(assertion string) clientcredentials.Config {
			return clientcredentials.Config{
				ClientID:  daemon.ClientID,
				TokenURL:  tokenURL,
				Scopes:    []string{"api://reports/.default"},
				AuthStyle: oauth2.AuthStyleInParams,
				EndpointParams: url.Values{
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {assertion},
				},
			}
		}
		assertion := signAssertion(t, key, daemon.ClientID, tokenURL, sum[:])
		cc := config(assertion)
		mark := rec.mark()
		appTok, err := cc.Token(clientCtx(t))
		if err != nil {
			t.Fatalf("client credentials with private_key_jwt: %v", err)
		}
		at := claims(t, appTok.AccessToken)
		expectClaim(t, at, "aud", api.ClientID)
		expectClaim(t, at, "azp", daemon.ClientID)
		expectClaim(t, at, "idtyp", "app")
		if roles, _ := at["roles"].([]any); len(roles) != 1 || roles[0] != "Reports.ReadAll" {
			t.Errorf("roles %v", at["roles"])
		}
		calls := tokenCalls(rec.since(mark))
		if len(calls) != 1 || calls[0].Form.Get("client_assertion") != assertion || calls[0].Form.Has("client_secret") || calls[0].Auth != "" ||
			calls[0].Form.Get("client_id") != daemon.ClientID {
			t.Errorf("token requests %+v", calls)
		}

		// An assertion is good for one request (its jti is remembered), so
		// a program must sign a new one for every token request.
		again := config(assertion)
		if _, err := again.Token(clientCtx(t)); !isOAuthError(err, "invalid_client") {
			t.Errorf("the same assertion again: %v, want invalid_client", err)
		}
		// A thumbprint naming a certificate the app does not have is
		// refused, although the registered key signed.
		wrong := sha256.Sum256([]byte("not the registered certificate"))
		bad := config(signAssertion(t, key, daemon.ClientID, tokenURL, wrong[:]))
		if _, err := bad.Token(clientCtx(t)); !isOAuthError(err, "invalid_client") {
			t.Errorf("an unregistered x5t#S256: %v, want invalid_client", err)
		}
	})

	// The rest signs in through the browser.
	b := harness.NewBrowser(t)

	web := oauth2.Config{
		ClientID:     s.Demo.WebClientID,
		ClientSecret: s.Demo.WebSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  "http://localhost:8080",
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: web.ClientID})

	var tok *oauth2.Token
	var idToken *oidc.IDToken
	t.Run("AuthCodePKCE", func(t *testing.T) {
		ctx := clientCtx(t)
		pkce := oauth2.GenerateVerifier()
		state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		authURL := web.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
		callback := b.SignIn(authURL, s.Demo.Username, s.Demo.Password, "http://localhost:8080")
		code := codeFrom(t, callback, state)
		mark := rec.mark()
		var err error
		tok, err = web.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if calls := tokenCalls(rec.since(mark)); len(calls) == 0 || calls[len(calls)-1].Form.Get("code_verifier") != pkce {
			t.Errorf("the code was not redeemed with the PKCE verifier: %+v", calls)
		}
		rawID, _ := tok.Extra("id_token").(string)
		if rawID == "" || tok.RefreshToken == "" || !tok.Expiry.After(time.Now()) {
			t.Fatalf("token response: id_token %t, refresh_token %t, expiry %v", rawID != "", tok.RefreshToken != "", tok.Expiry)
		}
		idToken, err = verifier.Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("Verify ID token: %v", err)
		}
		if idToken.Nonce != nonce {
			t.Errorf("nonce %q, want %q", idToken.Nonce, nonce)
		}
		if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		var c struct {
			PreferredUsername string `json:"preferred_username"`
			OID               string `json:"oid"`
			TID               string `json:"tid"`
		}
		if err := idToken.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.PreferredUsername != s.Demo.Username || c.OID != idToken.Subject || c.TID != s.Demo.TenantID {
			t.Errorf("ID token claims %+v (sub %s)", c, idToken.Subject)
		}
	})
	if tok == nil || idToken == nil {
		t.Fatal("the remaining subtests need the sign-in")
	}

	var refreshed *oauth2.Token
	t.Run("RefreshAfterExpiry", func(t *testing.T) {
		ctx := clientCtx(t)
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		ts := web.TokenSource(ctx, &expired)
		mark := rec.mark()
		var err error
		refreshed, err = ts.Token()
		if err != nil {
			t.Fatalf("TokenSource.Token: %v", err)
		}
		if refreshed.AccessToken == tok.AccessToken || !refreshed.Expiry.After(time.Now()) {
			t.Error("the expired token was not refreshed")
		}
		if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
			t.Error("the refresh token did not rotate")
		}
		again, err := ts.Token()
		if err != nil || again.AccessToken != refreshed.AccessToken {
			t.Errorf("the refreshed token was not reused: %v", err)
		}
		calls := tokenCalls(rec.since(mark))
		if len(calls) == 0 || calls[len(calls)-1].GrantType != "refresh_token" || calls[len(calls)-1].Status != http.StatusOK {
			t.Errorf("token requests %+v", calls)
		}
		rawID, _ := refreshed.Extra("id_token").(string)
		refreshedID, err := verifier.Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("Verify refreshed ID token: %v", err)
		}
		if refreshedID.Subject != idToken.Subject {
			t.Errorf("sub changed on refresh: %s -> %s", idToken.Subject, refreshedID.Subject)
		}
		if err := refreshedID.VerifyAccessToken(refreshed.AccessToken); err != nil {
			t.Errorf("at_hash of the refreshed tokens: %v", err)
		}
	})

	t.Run("UserInfo", func(t *testing.T) {
		current := tok
		if refreshed != nil {
			current = refreshed
		}
		info, err := provider.UserInfo(clientCtx(t), oauth2.StaticTokenSource(current))
		if err != nil {
			t.Fatalf("UserInfo: %v", err)
		}
		if info.Subject != idToken.Subject {
			t.Errorf("userinfo sub %q, ID token sub %q", info.Subject, idToken.Subject)
		}
		var c struct {
			PreferredUsername string `json:"preferred_username"`
		}
		if err := info.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.PreferredUsername != s.Demo.Username {
			t.Errorf("userinfo preferred_username %q", c.PreferredUsername)
		}
	})

	t.Run("DeviceAuthorization", func(t *testing.T) {
		ctx := clientCtx(t)
		mark := rec.mark()
		native := oauth2.Config{
			ClientID: s.Demo.NativeClientID,
			Endpoint: provider.Endpoint(),
			Scopes:   []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess, "api://" + s.Demo.WebClientID + "/access_as_user"},
		}
		da, err := native.DeviceAuth(ctx)
		if err != nil {
			t.Fatalf("DeviceAuth: %v", err)
		}
		if da.UserCode == "" || !strings.HasPrefix(da.VerificationURI, s.Authority()+"/device") || da.Interval == 0 {
			t.Fatalf("device authorization %+v", da)
		}
		type outcome struct {
			tok *oauth2.Token
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			tok, err := native.DeviceAccessToken(ctx, da)
			done <- outcome{tok, err}
		}()
		b.ApproveDevice(da.VerificationURI, da.UserCode, s.Demo.Username, s.Demo.Password)
		out := <-done
		if out.err != nil {
			t.Fatalf("DeviceAccessToken: %v", out.err)
		}
		at := claims(t, out.tok.AccessToken)
		expectClaim(t, at, "aud", s.Demo.WebClientID)
		expectClaim(t, at, "azp", s.Demo.NativeClientID)
		expectClaim(t, at, "oid", idToken.Subject)
		rawID, _ := out.tok.Extra("id_token").(string)
		deviceID, err := provider.Verifier(&oidc.Config{ClientID: native.ClientID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("Verify device ID token: %v", err)
		}
		if deviceID.Subject != idToken.Subject || out.tok.RefreshToken == "" {
			t.Errorf("device sign-in: sub %q, refresh token %t", deviceID.Subject, out.tok.RefreshToken != "")
		}
		// x/oauth2's default auth style tries HTTP Basic first, with an
		// empty password for this public client; it must not be refused
		// (a 401 would make x/oauth2 retry every poll with the id in the
		// body). Polls end with the standard grant type. x/oauth2 waits the
		// whole interval between polls, so Tessera never answers it
		// slow_down: every poll before the token is authorization_pending.
		polls := tokenCalls(rec.since(mark))
		for _, c := range polls {
			if c.GrantType != "urn:ietf:params:oauth:grant-type:device_code" || (c.Status != http.StatusOK && c.Status != http.StatusBadRequest) {
				t.Errorf("poll %s (auth %q) -> %d", c.GrantType, c.Auth, c.Status)
			}
			if c.Status == http.StatusBadRequest && c.Error != "authorization_pending" {
				t.Errorf("poll answered %s, want authorization_pending", c.Error)
			}
		}
		if len(polls) == 0 {
			t.Fatal("no poll was recorded")
		}
		if last := polls[len(polls)-1]; last.Status != http.StatusOK || last.Auth != "Basic" {
			t.Errorf("last poll: auth %q -> %d", last.Auth, last.Status)
		}
	})
}

// isOAuthError reports whether err is x/oauth2's error for an answer with
// the given OAuth error code.
func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
