package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// confidentialCodeFlow: the web app (a confidential client) signs a user
// in, redeems the code on one instance with client_secret_post and
// refreshes on the others with client_secret_basic and _post; a refresh
// without the secret is refused without spending the token, and a replay
// of the code on another instance revokes the family everywhere.
func confidentialCodeFlow(t *testing.T, c *cluster, b *testbrowser.Browser) {
	t.Helper()
	web, secret := c.demo.WebClientID, c.demo.WebSecret
	verifier, challenge := pkce()
	redirect := "http://localhost:3000/redirect"
	o := b.SignIn(c.authority()+"/oauth2/v2.0/authorize?"+url.Values{"client_id": {web}, "response_type": {"code"},
		"redirect_uri": {redirect}, "scope": {"openid profile offline_access"}, "state": {"confidential"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode(), c.demo.Username, c.demo.Password)
	code := o.Params.Get("code")
	if code == "" || o.Params.Get("state") != "confidential" {
		t.Fatalf("confidential authorize: %v", o.Params)
	}
	redeem := url.Values{"grant_type": {"authorization_code"}, "client_id": {web}, "client_secret": {secret},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	status, tokens := c.tokenOn(1, redeem, nil)
	if status != 200 || tokens["id_token"] == nil || tokens["refresh_token"] == nil {
		t.Fatalf("confidential code redemption on instance 1: %d %v", status, tokens)
	}
	chain := []string{tokens["refresh_token"].(string)}

	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(web)+":"+url.QueryEscape(secret)))}}
	status, r := c.tokenOn(2, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {chain[0]}}, basic)
	if status != 200 || r["refresh_token"] == nil {
		t.Fatalf("confidential refresh (client_secret_basic) on instance 2: %d %v", status, r)
	}
	chain = append(chain, r["refresh_token"].(string))
	// Without the secret the confidential client is refused, and the
	// token is not spent.
	if status, r := c.tokenOn(0, refreshForm(web, chain[1]), nil); status != 401 || r["error"] != "invalid_client" {
		t.Errorf("refresh of a confidential client without its secret: %d %v", status, r)
	}
	form := refreshForm(web, chain[1])
	form.Set("client_secret", secret)
	status, r = c.tokenOn(0, form, nil)
	if status != 200 || r["refresh_token"] == nil {
		t.Fatalf("confidential refresh (client_secret_post) on instance 0: %d %v", status, r)
	}
	chain = append(chain, r["refresh_token"].(string))
	c.checkFamily("the confidential client's family", chain)

	// The code replayed on another instance is refused, and revokes what
	// it issued: the family's latest token is dead on every instance.
	if status, r := c.tokenOn(2, redeem, nil); status != 400 || r["error"] != "invalid_grant" {
		t.Errorf("the code redeemed on instance 1 was accepted again on instance 2: %d %v", status, r)
	}
	form = refreshForm(web, chain[len(chain)-1])
	form.Set("client_secret", secret)
	for i := range c.instances {
		if status, r := c.tokenOn(i, form, nil); status != 400 || r["error"] != "invalid_grant" {
			t.Errorf("instance %d refreshes a family whose code was replayed: %d %v", i, status, r)
		}
	}
}

// privateKeyJWT: an app authenticates with a client assertion signed by a
// certificate registered through the CLI; a replay of the same assertion
// (its jti) is refused on every other instance, a fresh one is accepted.
func privateKeyJWT(t *testing.T, c *cluster) {
	t.Helper()
	admin := c.instances[0]
	app := admin.RegisterApp(t, "daemon", false)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "daemon.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	admin.CLI(t, "app", "certificate", "add", "--tenant", "demo", "--app", app.ClientID, "--file", file, "--description", "cluster")

	thumb := sha1.Sum(der)
	assertion := func() string {
		t.Helper()
		jti := make([]byte, 16)
		_, _ = rand.Read(jti)
		now := time.Now().Unix()
		header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(thumb[:])})
		claims, _ := json.Marshal(map[string]any{"iss": app.ClientID, "sub": app.ClientID, "aud": c.authority() + "/oauth2/v2.0/token",
			"jti": base64.RawURLEncoding.EncodeToString(jti), "iat": now, "nbf": now, "exp": now + 300})
		input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
		digest := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a},
			"scope": {app.ClientID + "/.default"}}
	}
	a := assertion()
	if status, r := c.tokenOn(0, form(a), nil); status != 200 || r["access_token"] == nil {
		t.Fatalf("private_key_jwt on instance 0: %d %v", status, r)
	}
	for _, i := range []int{1, 2, 0} {
		status, r := c.tokenOn(i, form(a), nil)
		if status != 401 || r["error"] != "invalid_client" || !strings.Contains(r["error_description"].(string), "jti") {
			t.Errorf("replayed assertion on instance %d: %d %v", i, status, r)
		}
	}
	for i := range c.instances {
		if status, r := c.tokenOn(i, form(assertion()), nil); status != 200 {
			t.Errorf("a fresh assertion on instance %d: %d %v", i, status, r)
		}
	}
}

// keyRotation: `tessera keys rotate` through the CLI; every instance then
// publishes the new next key and signs new tokens with the key that was
// published as next before the rotation, within a bounded wait (the change
// notification makes it immediate in practice; the read cache's lifetime,
// 30 s, bounds it should a notification be lost). The wait polls; how fast
// it goes is not asserted.
func keyRotation(t *testing.T, c *cluster) {
	t.Helper()
	ccForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.demo.WebClientID},
		"client_secret": {c.demo.WebSecret}, "scope": {c.demo.WebClientID + "/.default"}}
	signer := func(i int) string {
		t.Helper()
		status, r := c.tokenOn(i, ccForm, nil)
		if status != 200 {
			t.Fatalf("client credentials on instance %d: %d %v", i, status, r)
		}
		return kidOf(t, r["access_token"].(string))
	}
	before := c.jwksKids(0)
	oldKid := signer(0)
	for i := range c.instances {
		if got := c.jwksKids(i); !slices.Equal(got, before) {
			t.Fatalf("instance %d publishes %v before the rotation, instance 0 %v", i, got, before)
		}
		if k := signer(i); k != oldKid {
			t.Fatalf("instance %d signs with %s before the rotation, instance 0 with %s", i, k, oldKid)
		}
	}
	if len(before) != 2 || !slices.Contains(before, oldKid) {
		t.Fatalf("before the rotation JWKS holds %v; want the active key %s and a published next key", before, oldKid)
	}

	c.instances[0].CLI(t, "keys", "rotate", "--tenant", "demo")

	const bound = 45 * time.Second
	var published []string
	for i := range c.instances {
		deadline := time.Now().Add(bound)
		var kids []string
		var kid string
		for {
			kids, kid = c.jwksKids(i), signer(i)
			if kid != oldKid && len(kids) > len(before) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d %s after the rotation: JWKS %v, signing with %s (before: JWKS %v, signing with %s)",
					i, bound, kids, kid, before, oldKid)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !slices.Contains(before, kid) {
			t.Errorf("instance %d signs with %s, which was not published before the rotation (%v)", i, kid, before)
		}
		if !slices.Contains(kids, oldKid) {
			t.Errorf("instance %d dropped the retired key %s from JWKS: %v", i, oldKid, kids)
		}
		if published == nil {
			published = kids
		} else if !slices.Equal(kids, published) {
			t.Errorf("instance %d publishes %v, instance 0 %v", i, kids, published)
		}
	}
}

// jwksKids is the sorted kids instance i publishes for the demo tenant.
func (c *cluster) jwksKids(i int) []string {
	c.t.Helper()
	status, m := c.send(onInstance(context.Background(), i), http.MethodGet, "/discovery/v2.0/keys", nil, nil)
	keys, _ := m["keys"].([]any)
	if status != 200 || len(keys) == 0 {
		c.t.Fatalf("JWKS of instance %d: %d %v", i, status, m)
	}
	var kids []string
	for _, k := range keys {
		kid, _ := k.(map[string]any)["kid"].(string)
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}

// kidOf reads the kid of a JWS header.
func kidOf(t *testing.T, jws string) string {
	t.Helper()
	header, _, _ := strings.Cut(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Kid == "" {
		t.Fatalf("token header %s: %v", raw, err)
	}
	return h.Kid
}
