package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
)

// --- device authorization grant (RFC 8628) ---

func (e *env) deviceAuthorize(clientID, scope string) map[string]any {
	e.t.Helper()
	status, resp, hdr := e.post(e.authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
	if status != http.StatusOK {
		e.t.Fatalf("devicecode: %d %v", status, resp)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		e.t.Errorf("devicecode Cache-Control = %q", hdr.Get("Cache-Control"))
	}
	return resp
}

func (e *env) pollDevice(grantType, clientID, deviceCode string) (int, map[string]any) {
	e.t.Helper()
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {grantType}, "client_id": {clientID}, "device_code": {deviceCode}, "client_info": {"1"}})
	return status, resp
}

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

func TestDeviceCodeFlow(t *testing.T) {
	e := newEnv(t)
	da := e.deviceAuthorize(e.native.ClientID, "api://files/Files.Read openid profile offline_access")
	for _, k := range []string{"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval", "message"} {
		if da[k] == nil || da[k] == "" {
			t.Errorf("device authorization lacks %s: %v", k, da)
		}
	}
	userCode := da["user_code"].(string)
	verify := da["verification_uri"].(string)
	if da["message"] != "To sign in, use a web browser to open the page "+verify+" and enter the code "+userCode+" to authenticate." {
		t.Errorf("message = %q", da["message"])
	}
	if verify != e.authority()+"/device" || da["expires_in"] != float64(900) || da["interval"] != float64(5) {
		t.Errorf("verification_uri %v expires_in %v interval %v", verify, da["expires_in"], da["interval"])
	}
	for _, r := range strings.ReplaceAll(userCode, "-", "") {
		if strings.ContainsRune("AEIOU01", r) {
			t.Errorf("user code %q contains %q", userCode, r)
		}
	}
	dc := da["device_code"].(string)

	status, resp := e.pollDevice(deviceGrant, e.native.ClientID, dc)
	assertPollError(t, status, resp, "authorization_pending")
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, dc)
	assertPollError(t, status, resp, "slow_down")
	e.clock.Advance(5 * time.Second)
	status, resp = e.pollDevice("device_code", e.native.ClientID, dc)
	assertPollError(t, status, resp, "authorization_pending")

	// The user types the code in any case, without the dash.
	b := e.browser()
	page := b.Get(verify)
	if !strings.Contains(page.Body, `name="user_code"`) {
		t.Fatalf("no user code form:\n%s", page.Body)
	}
	o := b.Submit(page, map[string]string{"user_code": strings.ToLower(strings.ReplaceAll(userCode, "-", ""))})
	o = b.Login(o, "alice@contoso.test", e.password)
	if !strings.Contains(o.Body, "Native App") {
		t.Errorf("consent page does not name the device's app:\n%s", o.Body)
	}
	o = b.Consent(o, "accept")
	if o.Status != 200 || !strings.Contains(o.Body, "signed in") {
		t.Fatalf("device result page: %d\n%s", o.Status, o.Body)
	}

	e.clock.Advance(5 * time.Second)
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, dc)
	if status != 200 {
		t.Fatalf("device token: %d %v", status, resp)
	}
	for _, k := range []string{"access_token", "id_token", "refresh_token", "client_info"} {
		if resp[k] == nil {
			t.Errorf("device token response lacks %s", k)
		}
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["scp"] != "Files.Read" || claims["oid"] != e.user.ID {
		t.Errorf("device access token claims: %v", claims)
	}
	// The ID token, verified against the served JWKS like the access token.
	id := e.verifyIDToken(resp["id_token"].(string), e.native.ClientID, "")
	if id["sub"] != e.user.ID || id["tid"] != e.tenant.ID || id["preferred_username"] != "alice@contoso.test" || id["auth_time"] == nil {
		t.Errorf("device ID token claims: %v", id)
	}
	// A device code redeems once.
	e.clock.Advance(5 * time.Second)
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, dc)
	assertPollError(t, status, resp, "invalid_grant")

	// A second device, with the same browser: the SSO session is reused
	// but the user still confirms which app gets in.
	da2 := e.deviceAuthorize(e.native.ClientID, "openid")
	o = b.Get(da2["verification_uri_complete"].(string))
	if !strings.Contains(o.Body, da2["user_code"].(string)) {
		t.Errorf("verification_uri_complete does not prefill the code")
	}
	o = b.Submit(o, nil)
	if o.Page != "consent" {
		t.Fatalf("a known user must still confirm: page %q", o.Page)
	}
}

func assertPollError(t *testing.T, status int, resp map[string]any, code string) {
	t.Helper()
	if status != http.StatusBadRequest || resp["error"] != code || resp["access_token"] != nil {
		t.Fatalf("want 400 %s, got %d %v", code, status, resp)
	}
}

func TestDeviceCodeDeniedAndExpired(t *testing.T) {
	e := newEnv(t)
	da := e.deviceAuthorize(e.native.ClientID, "openid")
	b := e.browser()
	o := b.Submit(b.Get(da["verification_uri_complete"].(string)), nil)
	o = b.Login(o, "alice@contoso.test", e.password)
	o = b.Consent(o, "cancel")
	if !strings.Contains(o.Body, "cancelled") {
		t.Errorf("denial page:\n%s", o.Body)
	}
	status, resp := e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
	assertPollError(t, status, resp, "access_denied")

	da = e.deviceAuthorize(e.native.ClientID, "openid")
	e.clock.Advance(16 * time.Minute)
	status, resp = e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
	assertPollError(t, status, resp, "expired_token")
	// An expired code cannot be entered either.
	o = b.Submit(b.Get(da["verification_uri_complete"].(string)), nil)
	if o.Page != "" || !strings.Contains(o.Body, "not valid or has expired") {
		t.Errorf("expired code accepted on the page: %q\n%s", o.Page, o.Body)
	}
}

func TestDeviceUserCodeGuessingIsLimited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	page := b.Get(e.authority() + "/device")
	var last int
	for i := 0; i < 25; i++ {
		o := b.Submit(page, map[string]string{"user_code": "BCDF-GHJK"})
		last = o.Status
		if i < 20 && o.Status != http.StatusBadRequest {
			t.Fatalf("attempt %d: status %d", i, o.Status)
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 25 wrong codes: status %d, want 429", last)
	}
	// Even the right code is refused while limited.
	da := e.deviceAuthorize(e.native.ClientID, "openid")
	if o := b.Submit(page, map[string]string{"user_code": da["user_code"].(string)}); o.Status != http.StatusTooManyRequests {
		t.Errorf("right code while limited: %d", o.Status)
	}
}

// --- on-behalf-of and token exchange ---

// middleTier registers web API A: it exposes user_impersonation, needs
// Files.Read on the files API, and has a secret. The native app needs A.
func (e *env) middleTier(adminConsent bool) (store.App, string) {
	e.t.Helper()
	ctx := e.t.Context()
	a, err := e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: "Middle API"})
	if err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.admin.Expose(ctx, a, "api://middle", []string{"user_impersonation"}, nil); err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.admin.AddPermission(ctx, a, "api://files", []string{"Files.Read"}, nil); err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.admin.AddSecret(ctx, a, "obo", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	if adminConsent {
		if _, err := e.admin.GrantAdminConsent(ctx, a); err != nil {
			e.t.Fatal(err)
		}
	}
	if e.native, err = e.admin.AddPermission(ctx, e.native, "api://middle", []string{"user_impersonation"}, nil); err != nil {
		e.t.Fatal(err)
	}
	return a, secret
}

// userTokenFor signs alice in to the native app for scope and returns the
// access token.
func (e *env) userTokenFor(scope string) string {
	e.t.Helper()
	verifier, challenge := pkcePair()
	code := codeFor(e, e.browser(), e.native.ClientID, "http://localhost:4444", scope, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID},
		"code": {code}, "redirect_uri": {"http://localhost:4444"}, "code_verifier": {verifier}})
	if status != 200 {
		e.t.Fatalf("%d %v", status, resp)
	}
	return resp["access_token"].(string)
}

func obo(e *env, a store.App, secret, assertion, scope string) (int, map[string]any) {
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"client_id": {a.ClientID}, "client_secret": {secret}, "assertion": {assertion}, "scope": {scope},
		"requested_token_use": {"on_behalf_of"}})
	return status, resp
}

func TestOnBehalfOfChain(t *testing.T) {
	e := newEnv(t)
	a, secret := e.middleTier(false)
	tokenA := e.userTokenFor("api://middle/user_impersonation openid profile offline_access")
	_, claimsA := e.verifyJWT(tokenA, "at+jwt", a.ClientID)

	// Nobody consented to A using the files API yet.
	status, resp := obo(e, a, secret, tokenA, "api://files/Files.Read openid profile offline_access")
	if status != 400 || resp["error"] != "invalid_grant" || resp["suberror"] != "consent_required" {
		t.Fatalf("OBO without consent: %d %v", status, resp)
	}
	if _, err := e.admin.GrantAdminConsent(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	status, resp = obo(e, a, secret, tokenA, "api://files/Files.Read openid profile offline_access")
	if status != 200 {
		t.Fatalf("OBO: %d %v", status, resp)
	}
	_, claimsB := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
	if claimsB["oid"] != claimsA["oid"] || claimsB["oid"] != e.user.ID || claimsB["azp"] != a.ClientID || claimsB["scp"] != "Files.Read" {
		t.Errorf("downstream token: %v", claimsB)
	}
	if resp["refresh_token"] == nil {
		t.Error("OBO with offline_access granted returned no refresh token")
	}
	// The OBO refresh token works for A.
	status, r2, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {a.ClientID}, "client_secret": {secret},
		"refresh_token": {resp["refresh_token"].(string)}, "scope": {"api://files/Files.Read offline_access"}})
	if status != 200 {
		t.Fatalf("refresh of an OBO token: %d %v", status, r2)
	}

	// A scope of the downstream API nobody consented to.
	status, resp = obo(e, a, secret, tokenA, "api://files/Files.Write")
	if status != 400 || resp["suberror"] != "consent_required" {
		t.Errorf("unconsented downstream scope: %d %v", status, resp)
	}
	// Another confidential app cannot use A's token.
	status, resp = obo(e, e.daemon, e.daemonPW, tokenA, "api://files/Files.Read")
	if status != 400 || resp["error"] != "invalid_grant" {
		t.Errorf("assertion for another audience: %d %v", status, resp)
	}
}

func TestTokenExchange(t *testing.T) {
	e := newEnv(t)
	a, secret := e.middleTier(true)
	tokenA := e.userTokenFor("api://middle/user_impersonation openid")
	exchange := func(extra url.Values) (int, map[string]any) {
		v := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {a.ClientID}, "client_secret": {secret},
			"subject_token": {tokenA}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
		for k, vs := range extra {
			v[k] = vs
		}
		status, resp, _ := e.post(e.tokenURL(), v)
		return status, resp
	}
	status, resp := exchange(url.Values{"audience": {"api://files"}, "scope": {"Files.Read"}})
	if status != 200 || resp["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || resp["token_type"] != "Bearer" {
		t.Fatalf("exchange: %d %v", status, resp)
	}
	if resp["refresh_token"] != nil || resp["id_token"] != nil {
		t.Error("token exchange returned more than an access token")
	}
	_, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
	act, _ := claims["act"].(map[string]any)
	if claims["oid"] != e.user.ID || claims["scp"] != "Files.Read" || act["client_id"] != a.ClientID || act["sub"] != a.ServicePrincipalID {
		t.Errorf("exchanged token claims: %v", claims)
	}

	// resource instead of audience, no scope: everything consented.
	status, resp = exchange(url.Values{"resource": {"api://files"}})
	if status != 200 {
		t.Fatalf("exchange by resource: %d %v", status, resp)
	}

	// An actor token names the actor; it must be the caller's own (RFC
	// 8693 §2.1): here the middle tier's token for itself.
	status, own, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID},
		"client_secret": {secret}, "scope": {a.ClientID + "/.default"}})
	if status != 200 {
		t.Fatalf("%d %v", status, own)
	}
	status, resp = exchange(url.Values{"audience": {"api://files"}, "actor_token": {own["access_token"].(string)},
		"actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}})
	if status != 200 {
		t.Fatalf("exchange with actor: %d %v", status, resp)
	}
	_, claims = e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
	act, _ = claims["act"].(map[string]any)
	if act["sub"] != a.ServicePrincipalID || act["client_id"] != a.ClientID {
		t.Errorf("act with actor token: %v", claims["act"])
	}
	// Another app's token is not the caller's to present as actor.
	status, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	if status != 200 {
		t.Fatalf("%d %v", status, cc)
	}

	for name, tc := range map[string]struct {
		extra url.Values
		code  string
	}{
		"unknown audience":       {url.Values{"audience": {"api://nowhere"}}, "invalid_target"},
		"no target":              {url.Values{}, "invalid_request"},
		"refresh token asked":    {url.Values{"audience": {"api://files"}, "requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"}}, "invalid_request"},
		"unexposed scope":        {url.Values{"audience": {"api://files"}, "scope": {"Files.Delete"}}, "invalid_scope"},
		"unconsented scope":      {url.Values{"audience": {"api://files"}, "scope": {"Files.Write"}}, "invalid_grant"},
		"bad subject token type": {url.Values{"audience": {"api://files"}, "subject_token_type": {"urn:ietf:params:oauth:token-type:saml2"}}, "invalid_request"},
		"actor without type":     {url.Values{"audience": {"api://files"}, "actor_token": {own["access_token"].(string)}}, "invalid_request"},
		"another app as actor":   {url.Values{"audience": {"api://files"}, "actor_token": {cc["access_token"].(string)}, "actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "invalid_request"},
		"forged actor":           {url.Values{"audience": {"api://files"}, "actor_token": {"e30.e30.e30"}, "actor_token_type": {"urn:ietf:params:oauth:token-type:jwt"}}, "invalid_request"},
	} {
		status, resp := exchange(tc.extra)
		if status != 400 || resp["error"] != tc.code {
			t.Errorf("%s: %d %v, want %s", name, status, resp, tc.code)
		}
	}
}

// --- private_key_jwt ---

// testCert makes a self-signed certificate for key.
func testCert(t *testing.T, key crypto.Signer) ([]byte, *x509.Certificate) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert
}

type assertionOpts struct {
	alg     jose.SignatureAlgorithm
	headers map[jose.HeaderKey]any
	aud     string
	iss     string
	exp     time.Time
	jti     string
}

func (e *env) clientAssertion(key crypto.Signer, clientID string, o assertionOpts) string {
	e.t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: o.headers}
	opts = opts.WithType("JWT")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: o.alg, Key: key}, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	if o.aud == "" {
		o.aud = e.tokenURL()
	}
	if o.iss == "" {
		o.iss = clientID
	}
	if o.exp.IsZero() {
		o.exp = now.Add(10 * time.Minute)
	}
	if o.jti == "" {
		o.jti = ids.New()
	}
	payload, _ := json.Marshal(map[string]any{"iss": o.iss, "sub": clientID, "aud": o.aud, "exp": o.exp.Unix(),
		"nbf": now.Unix(), "iat": now.Unix(), "jti": o.jti})
	jws, err := signer.Sign(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) assertionGrant(clientID, assertion string) (int, map[string]any, http.Header) {
	return e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"api://files/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
}

func TestPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, cert := testCert(t, key)
	if _, err := e.admin.AddCredential(t.Context(), e.daemon, certPEM, "ci"); err != nil {
		t.Fatal(err)
	}
	s256 := sha256.Sum256(cert.Raw)
	s1 := sha1.Sum(cert.Raw)

	// MSAL Go: PS256 with x5t#S256 in padded standard base64.
	msalGo := e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.PS256,
		headers: map[jose.HeaderKey]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}})
	status, resp, _ := e.assertionGrant(e.daemon.ClientID, msalGo)
	if status != 200 {
		t.Fatalf("PS256 + x5t#S256: %d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["azp"] != e.daemon.ClientID {
		t.Errorf("claims %v", claims)
	}
	// The same assertion again is a replay.
	status, resp, _ = e.assertionGrant(e.daemon.ClientID, msalGo)
	if status != 401 || resp["error"] != "invalid_client" {
		t.Errorf("replayed assertion: %d %v", status, resp)
	}
	// MSAL Node with the SHA-1 thumbprint: RS256 with x5t (base64url).
	msalNode := e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.RS256,
		headers: map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, aud: e.authority() + "/v2.0"})
	if status, resp, _ := e.assertionGrant(e.daemon.ClientID, msalNode); status != 200 {
		t.Fatalf("RS256 + x5t, aud = issuer: %d %v", status, resp)
	}
	// client_id may be left out: the assertion names the client.
	noID := e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.RS256})
	if status, resp, _ := e.assertionGrant("", noID); status != 200 {
		t.Fatalf("without client_id: %d %v", status, resp)
	}

	// A bare EC JWK works too.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: ec.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	if _, err := e.admin.AddCredential(t.Context(), e.daemon, jwk, "jwk"); err != nil {
		t.Fatal(err)
	}
	withJWK := e.clientAssertion(ec, e.daemon.ClientID, assertionOpts{alg: jose.ES256, headers: map[jose.HeaderKey]any{"kid": "k1"}})
	if status, resp, _ := e.assertionGrant(e.daemon.ClientID, withJWK); status != 200 {
		t.Fatalf("ES256 JWK: %d %v", status, resp)
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, assertion := range map[string]string{
		"unregistered key":      e.clientAssertion(other, e.daemon.ClientID, assertionOpts{alg: jose.RS256}),
		"wrong audience":        e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.RS256, aud: "https://elsewhere.example/token"}),
		"expired":               e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.RS256, exp: e.clock.Now().Add(-5 * time.Minute)}),
		"lives too long":        e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.RS256, exp: e.clock.Now().Add(48 * time.Hour)}),
		"iss is not the client": e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.RS256, iss: e.web.ClientID}),
		"not a JWT":             "not.a.jwt",
	} {
		status, resp, h := e.assertionGrant(e.daemon.ClientID, assertion)
		assertProtocolError(t, status, resp, h, 401, "invalid_client")
		_ = name
	}
}

// --- revocation, introspection, userinfo ---

func (e *env) revokeToken(clientID, secret, tok, hint string) (int, map[string]any) {
	e.t.Helper()
	v := url.Values{"client_id": {clientID}, "token": {tok}}
	if secret != "" {
		v.Set("client_secret", secret)
	}
	if hint != "" {
		v.Set("token_type_hint", hint)
	}
	req, _ := http.NewRequest(http.MethodPost, e.authority()+"/oauth2/v2.0/revoke", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		return 200, nil
	}
	return resp.StatusCode, decodeJSON(e.t, resp.Body)
}

func (e *env) introspectToken(clientID, secret, tok string) (int, map[string]any) {
	e.t.Helper()
	status, resp, _ := e.post(e.authority()+"/oauth2/v2.0/introspect", url.Values{"client_id": {clientID}, "client_secret": {secret}, "token": {tok}})
	return status, resp
}

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

func TestRevocationAndIntrospection(t *testing.T) {
	e := newEnv(t)
	apiSecret, _, err := e.admin.AddSecret(t.Context(), e.api, "resource server", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	// The web app's own tokens, for the refresh token part.
	tokens := webTokens(e, "openid offline_access")
	// The web app has no permission on files: use the native app instead.
	at := e.userTokenFor("api://files/Files.Read openid offline_access")

	status, in := e.introspectToken(e.api.ClientID, apiSecret, at)
	if status != 200 || in["active"] != true || in["sub"] != e.user.ID || in["aud"] != e.api.ClientID || in["scope"] != "Files.Read" || in["client_id"] != e.native.ClientID {
		t.Fatalf("introspection by the audience: %d %v", status, in)
	}
	// A token nobody acted for has no act member, not "act": null.
	if _, present := in["act"]; present {
		t.Errorf("introspection of a token without an actor has act: %v", in["act"])
	}
	// A client that is neither audience nor holder learns nothing.
	if status, in := e.introspectToken(e.daemon.ClientID, e.daemonPW, at); status != 200 || in["active"] != false || len(in) != 1 {
		t.Errorf("introspection by a stranger: %d %v", status, in)
	}
	// Public clients may not introspect.
	status, in, h := e.post(e.authority()+"/oauth2/v2.0/introspect", url.Values{"client_id": {e.native.ClientID}, "token": {at}})
	assertProtocolError(t, status, in, h, 401, "invalid_client")

	// Revoking the access token: introspection says inactive afterwards.
	if status, resp := e.revokeToken(e.native.ClientID, "", at, "access_token"); status != 200 {
		t.Fatalf("revoke access token: %d %v", status, resp)
	}
	if status, in := e.introspectToken(e.api.ClientID, apiSecret, at); status != 200 || in["active"] != false {
		t.Errorf("revoked access token: %d %v", status, in)
	}

	// Refresh tokens: introspection by the owner, revocation of the family.
	rt := tokens["refresh_token"].(string)
	if status, in := e.introspectToken(e.web.ClientID, e.secret, rt); status != 200 || in["active"] != true || in["client_id"] != e.web.ClientID {
		t.Errorf("refresh introspection: %d %v", status, in)
	}
	_, r1 := e.refresh(rt, nil)
	rt1 := r1["refresh_token"].(string)
	if _, in := e.introspectToken(e.web.ClientID, e.secret, rt); in["active"] != false {
		t.Error("a rotated refresh token is still active")
	}
	if status, resp := e.revokeToken(e.daemon.ClientID, e.daemonPW, rt1, ""); status != 400 || resp["error"] != "unauthorized_client" {
		t.Errorf("revoking another client's token: %d %v", status, resp)
	}
	if status, _ := e.revokeToken(e.web.ClientID, e.secret, rt1, "refresh_token"); status != 200 {
		t.Fatal("revoke refresh token")
	}
	status, resp := e.refresh(rt1, nil)
	wantDead(t, status, resp)
	// Unknown tokens are not an error.
	if status, _ := e.revokeToken(e.web.ClientID, e.secret, "no-such-token", ""); status != 200 {
		t.Errorf("unknown token: %d", status)
	}
	// Revocation authenticates the client.
	if status, resp := e.revokeToken(e.web.ClientID, "wrong", rt1, ""); status != 401 || resp["error"] != "invalid_client" {
		t.Errorf("revoke with a wrong secret: %d %v", status, resp)
	}
}

func TestCodeReplayRevokesAccessToken(t *testing.T) {
	e := newEnv(t)
	apiSecret, _, _ := e.admin.AddSecret(t.Context(), e.api, "rs", e.clock.Now().AddDate(0, 1, 0))
	verifier, challenge := pkcePair()
	code := codeFor(e, e.browser(), e.native.ClientID, "http://localhost:4444", "api://files/Files.Read", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID}, "code": {code}, "redirect_uri": {"http://localhost:4444"}, "code_verifier": {verifier}}
	_, first, _ := e.post(e.tokenURL(), form)
	at := first["access_token"].(string)
	if _, in := e.introspectToken(e.api.ClientID, apiSecret, at); in["active"] != true {
		t.Fatal("fresh token inactive")
	}
	if status, _, _ := e.post(e.tokenURL(), form); status != 400 {
		t.Fatal("replay accepted")
	}
	if _, in := e.introspectToken(e.api.ClientID, apiSecret, at); in["active"] != false {
		t.Error("the access token issued from a replayed code is still active")
	}
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

// --- logout ---

func TestLogout(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(map[bool]string{false: "refresh ends", true: "refresh kept"}[keep], func(t *testing.T) {
			e := newEnv(t)
			var err error
			e.web, err = e.admin.Set(t.Context(), e.web, admin.AppSettings{PostLogoutRedirectURIs: []string{"http://localhost:8080/bye"}, LogoutKeepsRefreshTokens: &keep})
			if err != nil {
				t.Fatal(err)
			}
			b := e.browser()
			code := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
			_, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, code))
			o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"id_token_hint": {tokens["id_token"].(string)},
				"post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"bye-state"}}.Encode())
			if o.Callback == nil || o.Callback.Path != "/bye" || o.Params.Get("state") != "bye-state" {
				t.Fatalf("logout redirect: %+v", o)
			}
			// The session is gone: authorize asks for a login again.
			if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Page != "login" {
				t.Errorf("after logout: page %q", o.Page)
			}
			status, resp := e.refresh(tokens["refresh_token"].(string), nil)
			if keep && status != 200 {
				t.Errorf("refresh after logout with keep: %d %v", status, resp)
			}
			if !keep {
				wantDead(t, status, resp)
			}
		})
	}
}

func TestLogoutRefusesUnregisteredRedirect(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "alice@contoso.test", e.password)
	o := b.Get(e.authority() + "/oauth2/v2.0/logout?" + url.Values{"client_id": {e.web.ClientID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if o.Callback != nil || o.Page != "error" || !strings.Contains(o.Body, "We couldn't sign you out") || !strings.Contains(o.Body, "<title>Sign-out error") {
		t.Fatalf("unregistered post_logout_redirect_uri: %+v", o)
	}
	// The session survives a refused logout.
	if o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)); o.Callback == nil {
		t.Errorf("session ended by a refused logout: page %q", o.Page)
	}
	// Logout without parameters asks, then shows the signed-out page.
	o = b.Get(e.authority() + "/oauth2/v2.0/logout")
	if o.Page != "logout" {
		t.Fatalf("plain logout does not ask: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	if o := b.Submit(o, map[string]string{"logout": "confirm"}); !strings.Contains(o.Body, "You signed out") {
		t.Errorf("plain logout page:\n%s", o.Body)
	}
}
