package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/ids"
)

// ed25519Assertion signs a client assertion by hand with the given
// protected header, as oauth4webapi does for an Ed25519 key (alg
// "Ed25519", RFC 9864): go-jose signs only "EdDSA".
func (e *env) ed25519Assertion(key ed25519.PrivateKey, clientID string, header map[string]any) string {
	e.t.Helper()
	now := e.clock.Now()
	h, err := json.Marshal(header)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": e.tokenURL(), "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "jti": ids.New()})
	if err != nil {
		e.t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(h) + "." + b64(p)
	return input + "." + b64(ed25519.Sign(key, []byte(input)))
}

// TestPrivateKeyJWTEd25519: an Ed25519 key signs client assertions under
// either name of its algorithm, the polymorphic "EdDSA" (RFC 8037) and the
// fully specified "Ed25519" (RFC 9864) that oauth4webapi and openid-client
// 6 send; discovery advertises both, and neither lets another key through.
func TestPrivateKeyJWTEd25519(t *testing.T) {
	e := newEnv(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jose.JSONWebKey{Key: pub}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.admin.AddCredential(t.Context(), e.daemon, jwk, "ed25519")
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	doc := e.discoveryAt(e.authority())
	var algs []string
	for _, a := range doc["token_endpoint_auth_signing_alg_values_supported"].([]any) {
		algs = append(algs, a.(string))
	}
	if !slices.Contains(algs, "EdDSA") || !slices.Contains(algs, "Ed25519") {
		t.Errorf("token_endpoint_auth_signing_alg_values_supported = %v, want EdDSA and Ed25519", algs)
	}

	accepted := map[string]string{
		"EdDSA by go-jose":            e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: jose.EdDSA}),
		"Ed25519, as oauth4webapi":    e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "Ed25519"}),
		"Ed25519 with kid and typ":    e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "Ed25519", "kid": cred.ID, "typ": "JWT"}),
		"EdDSA signed by hand":        e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "EdDSA"}),
		"Ed25519 with an unknown kid": e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "Ed25519", "kid": "my-label"}),
	}
	for name, a := range accepted {
		status, resp, _ := e.assertionGrant(e.daemon.ClientID, a)
		if status != 200 {
			t.Errorf("%s: %d %v, want a token", name, status, resp)
			continue
		}
		if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["azp"] != e.daemon.ClientID {
			t.Errorf("%s: azp %v", name, claims["azp"])
		}
	}

	good := e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "Ed25519"})
	parts := strings.Split(good, ".")
	tampered, _ := json.Marshal(map[string]any{"iss": e.daemon.ClientID, "sub": e.daemon.ClientID, "aud": e.tokenURL(),
		"exp": e.clock.Now().Add(5 * time.Minute).Unix(), "jti": "other"})
	refused := map[string]string{
		"Ed25519 by an unregistered key":    e.ed25519Assertion(stranger, e.daemon.ClientID, map[string]any{"alg": "Ed25519"}),
		"EdDSA by an unregistered key":      e.clientAssertion(stranger, e.daemon.ClientID, assertionOpts{alg: jose.EdDSA}),
		"Ed25519 with the claims changed":   parts[0] + "." + base64.RawURLEncoding.EncodeToString(tampered) + "." + parts[2],
		"Ed25519 with a critical header":    e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "Ed25519", "crit": []string{"exp"}, "exp": 1}),
		"Ed25519 with an unencoded payload": e.ed25519Assertion(key, e.daemon.ClientID, map[string]any{"alg": "Ed25519", "b64": false, "crit": []string{"b64"}}),
		"Ed25519 with the signature cut":    good[:len(good)-10],
		"Ed25519 with no signature":         parts[0] + "." + parts[1] + ".",
	}
	for name, a := range refused {
		t.Run(name, func(t *testing.T) {
			status, resp, h := e.assertionGrant(e.daemon.ClientID, a)
			assertProtocolError(t, status, resp, h, 401, "invalid_client")
			if desc, _ := resp["error_description"].(string); strings.Contains(name, "unregistered") && !strings.Contains(desc, "verifies its signature") {
				t.Errorf("error_description %q", desc)
			}
		})
	}

	// "Ed25519" names the curve: an RSA key cannot verify it, whatever it
	// signed.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _ := testCert(t, rsaKey)
	if _, err := e.admin.AddCredential(t.Context(), e.web, certPEM, "rsa"); err != nil {
		t.Fatal(err)
	}
	status, resp, h := e.assertionGrant(e.web.ClientID, e.ed25519Assertion(stranger, e.web.ClientID, map[string]any{"alg": "Ed25519"}))
	assertProtocolError(t, status, resp, h, 401, "invalid_client")
}
