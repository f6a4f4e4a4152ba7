// Package interop proves that third-party Go clients (MSAL Go,
// golang.org/x/oauth2 with github.com/coreos/go-oidc/v3) work unchanged
// against a real `tessera serve --dev` process, signing in through a real
// headless Chromium. It is a module of its own so that the main module
// never depends on these clients.
package interop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

// startServer starts a server with a tenant, web and native apps and a
// user of its own, made through the admin CLI (harness.StartOwnTenant);
// the clients never touch serve --dev's demo tenant.
func startServer(t *testing.T) *harness.Tessera {
	t.Helper()
	return harness.StartOwnTenant(t, "fabrikam")
}

// testContext is a context bounded well inside the suite's time budget.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call is one request a client made to Tessera.
type call struct {
	Method    string
	Path      string
	GrantType string
	Form      url.Values
	Auth      string // the Authorization scheme, if any
	Status    int
	Error     string // the OAuth error code of a 4xx answer
}

// recorder is the harness's CA-trusting transport plus a log of every
// request, so tests can prove what went over the wire (a silent call
// served from the cache makes none; a refresh makes one).
type recorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	calls []call
}

// newRecorder returns an HTTP client trusting the server's development CA
// that records its requests.
func newRecorder(s *harness.Tessera) (*http.Client, *recorder) {
	r := &recorder{base: s.HTTP.Transport}
	return &http.Client{Timeout: 30 * time.Second, Transport: r}, r
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := call{Method: req.Method, Path: req.URL.Path}
	c.Auth, _, _ = strings.Cut(req.Header.Get("Authorization"), " ")
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			c.Form, c.GrantType = form, form.Get("grant_type")
		}
	}
	resp, err := r.base.RoundTrip(req)
	if resp != nil {
		c.Status = resp.StatusCode
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			body, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if rerr != nil {
				return nil, rerr
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			c.Error = e.Error
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return resp, err
}

// mark returns a position in the log; since returns the calls after it.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) since(mark int) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls[mark:]...)
}

// tokenCalls are the token endpoint requests among calls.
func tokenCalls(calls []call) []call {
	var out []call
	for _, c := range calls {
		if strings.HasSuffix(c.Path, "/oauth2/v2.0/token") {
			out = append(out, c)
		}
	}
	return out
}

// claims decodes a JWT's payload without verifying it: the tests assert
// what Tessera put in tokens the clients already accepted.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %.40q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}

// expectClaim fails unless the token's claim has the wanted value.
func expectClaim(t *testing.T, c map[string]any, name string, want any) {
	t.Helper()
	if got := c[name]; got != want {
		t.Errorf("claim %s = %v, want %v (claims %v)", name, got, want, c)
	}
}

// loopbackRedirect is http://localhost:PORT/ on a port nobody listens on:
// the browser's request for it is recorded, and the code read from it.
func loopbackRedirect(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return "http://localhost:" + strconv.Itoa(port) + "/"
}

// codeFrom reads the authorization code (and checks state) of a callback.
func codeFrom(t *testing.T, callback, state string) string {
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization failed: %s: %s", e, q.Get("error_description"))
	}
	if state != "" && q.Get("state") != state {
		t.Fatalf("state %q, want %q (callback %s)", q.Get("state"), state, callback)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", callback)
	}
	return q.Get("code")
}

// selfSignedCert makes an RSA key and a certificate for it, and writes the
// certificate as PEM for `tessera app certificate add`.
func selfSignedCert(t *testing.T, cn string) (*x509.Certificate, *rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), cn+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, path
}

// signAssertion is a client assertion (RFC 7523 §3) signed with the
// standard library alone, as a program using x/oauth2 would make one:
// RS256, the certificate named by x5t#S256 (base64url), iss = sub = the
// client id, aud = the token endpoint, five minutes, a random jti.
func signAssertion(t *testing.T, key *rsa.PrivateKey, clientID, tokenURL string, x5tS256 []byte) string {
	t.Helper()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b64 := base64.RawURLEncoding.EncodeToString
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t#S256": b64(x5tS256)})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": tokenURL,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": b64(jti)})
	if err != nil {
		t.Fatal(err)
	}
	signingInput := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signingInput + "." + b64(sig)
}
