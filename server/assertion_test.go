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
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/ids"
)

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
