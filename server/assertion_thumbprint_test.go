package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestPrivateKeyJWTThumbprint checks that a certificate thumbprint in a
// client assertion's header selects the certificate that must verify it:
// the registered key's own signature is refused when x5t or x5t#S256 names
// a certificate the app does not have, and accepted when it names the
// registered one in any base64 alphabet, padded or not.
func TestPrivateKeyJWTThumbprint(t *testing.T) {
	e := newEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, cert := testCert(t, key)
	if _, err := e.admin.AddCredential(t.Context(), e.daemon, certPEM, "ci"); err != nil {
		t.Fatal(err)
	}
	// A second certificate of the app, for another key: a thumbprint naming
	// it must not let the first key's signature through either.
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM, other := testCert(t, otherKey)
	if _, err := e.admin.AddCredential(t.Context(), e.daemon, otherPEM, "other"); err != nil {
		t.Fatal(err)
	}
	s256, s1 := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
	o256, o1 := sha256.Sum256(other.Raw), sha1.Sum(other.Raw)
	unknown256 := sha256.Sum256([]byte("a certificate nobody registered"))
	unknown1 := sha1.Sum([]byte("a certificate nobody registered"))

	assertion := func(alg jose.SignatureAlgorithm, headers map[jose.HeaderKey]any) string {
		return e.clientAssertion(key, e.daemon.ClientID, assertionOpts{alg: alg, headers: headers})
	}
	for name, headers := range map[string]map[jose.HeaderKey]any{
		"x5t#S256 base64url":                 {"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
		"x5t#S256 padded base64url":          {"x5t#S256": base64.URLEncoding.EncodeToString(s256[:])},
		"x5t#S256 padded standard (MSAL Go)": {"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])},
		"x5t#S256 unpadded standard":         {"x5t#S256": base64.RawStdEncoding.EncodeToString(s256[:])},
		"x5t base64url (MSAL Node)":          {"x5t": base64.RawURLEncoding.EncodeToString(s1[:])},
		"x5t padded standard":                {"x5t": base64.StdEncoding.EncodeToString(s1[:])},
		"both thumbprints":                   {"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:]), "x5t": base64.RawURLEncoding.EncodeToString(s1[:])},
		"no thumbprint, unknown kid":         {"kid": "my-label"},
		"no header hint at all":              nil,
	} {
		if status, resp, _ := e.assertionGrant(e.daemon.ClientID, assertion(jose.PS256, headers)); status != 200 {
			t.Errorf("%s: %d %v, want a token", name, status, resp)
		}
	}

	const unregistered, unverified = "names no certificate registered", "verifies its signature"
	for name, c := range map[string]struct {
		headers map[jose.HeaderKey]any
		says    string
	}{
		"x5t#S256 of no registered certificate": {map[jose.HeaderKey]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(unknown256[:])}, unregistered},
		"x5t of no registered certificate":      {map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(unknown1[:])}, unregistered},
		"x5t#S256 right, x5t wrong":             {map[jose.HeaderKey]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:]), "x5t": base64.RawURLEncoding.EncodeToString(unknown1[:])}, unregistered},
		"SHA-256 thumbprint sent as x5t":        {map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(s256[:])}, unregistered},
		"x5t#S256 in hex":                       {map[jose.HeaderKey]any{"x5t#S256": strings.Repeat("zz", 32)}, unregistered},
		"x5t#S256 not base64":                   {map[jose.HeaderKey]any{"x5t#S256": "not base64!"}, unregistered},
		"x5t#S256 empty":                        {map[jose.HeaderKey]any{"x5t#S256": ""}, unregistered},
		"x5t#S256 not a string":                 {map[jose.HeaderKey]any{"x5t#S256": 42}, unregistered},
		"wrong x5t#S256, kid of the right key":  {map[jose.HeaderKey]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(unknown256[:]), "kid": base64.RawURLEncoding.EncodeToString(s256[:])}, unregistered},
		// The other certificate is registered, but its key did not sign.
		"x5t#S256 of the other certificate": {map[jose.HeaderKey]any{"x5t#S256": base64.StdEncoding.EncodeToString(o256[:])}, unverified},
		"x5t of the other certificate":      {map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(o1[:])}, unverified},
	} {
		status, resp, h := e.assertionGrant(e.daemon.ClientID, assertion(jose.RS256, c.headers))
		if status != 401 || resp["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want 401 invalid_client", name, status, resp)
			continue
		}
		assertProtocolError(t, status, resp, h, 401, "invalid_client")
		if desc, _ := resp["error_description"].(string); !strings.Contains(desc, c.says) {
			t.Errorf("%s: error_description %q, want it to say %q", name, desc, c.says)
		}
	}
}
