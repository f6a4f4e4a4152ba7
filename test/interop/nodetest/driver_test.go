// Package nodetest runs real third-party Node clients (MSAL Node,
// openid-client v6 and v5, an Express + axios app) against a real
// `tessera serve --dev`. The Node project is test/interop/node; run
// `npm ci` there first. Without node or node_modules the tests skip (and
// fail when TESSERA_REQUIRE_INTEROP=1, as in CI).
//
// # Protocol
//
// A script and this driver talk in JSON lines. The script writes requests
// on stdout; each request gets exactly one reply line on stdin, in order:
//
//	{"browse": URL, "redirect": PREFIX}  sign in at URL in Chromium (login and
//	                                     consent when asked); reply
//	                                     {"url": first URL requested that starts with PREFIX}
//	{"open": URL}                        MSAL's openBrowser: the same with PREFIX
//	                                     "http://localhost:" (the browser itself
//	                                     reaches MSAL's loopback server); reply {"url": ...}
//	{"device": URI, "code": USER_CODE}   enter the code at URI, sign in, consent;
//	                                     reply {"done": true}
//	{"cli": [ARGS...]}                   run `tessera --data-dir D ARGS... --output json`;
//	                                     reply {"out": the decoded JSON}
//
// and, without a reply, {"result": {"step": NAME, "ok": BOOL, ...}}: what
// the script observed in one step, for the Go test to assert on. Other
// output is logged. The script exits 0 when all its own assertions passed.
package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

// scriptTimeout bounds one script run; device flows poll every 5 s.
const scriptTimeout = 2 * time.Minute

// tenant is the tenant every scenario creates for itself through the admin
// CLI (harness.StartOwnTenant): the clients never touch serve --dev's demo
// tenant, apps or user.
const tenant = "contoso"

// startServer starts a server with its own tenant, web and native apps
// and user, made through the admin CLI.
func startServer(t *testing.T, flags ...string) *harness.Tessera {
	t.Helper()
	return harness.StartOwnTenant(t, tenant, flags...)
}

// nodeDir is the Node project with the scripts and node_modules.
func nodeDir() string { return filepath.Join(harness.RepoRoot(), "test", "interop", "node") }

// requireNode skips (or fails in CI) without node and node_modules.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		harness.SkipOrFail(t, "node is not installed")
	}
	for _, pkg := range []string{"@azure/msal-node", "openid-client", "openid-client-v5", "dotenv", "express", "axios"} {
		if _, err := os.Stat(filepath.Join(nodeDir(), "node_modules", pkg, "package.json")); err != nil {
			harness.SkipOrFail(t, "test/interop/node/node_modules/%s is missing; run npm ci in test/interop/node", pkg)
		}
	}
	return node
}

// result is one {"result": ...} line.
type result map[string]any

func (r result) str(key string) string {
	s, _ := r[key].(string)
	return s
}

func (r result) num(key string) float64 {
	f, _ := r[key].(float64)
	return f
}

func (r result) boolean(key string) bool {
	b, _ := r[key].(bool)
	return b
}

func (r result) strs(key string) []string {
	var out []string
	if list, ok := r[key].([]any); ok {
		for _, v := range list {
			s, _ := v.(string)
			out = append(out, s)
		}
	}
	return out
}

func (r result) obj(key string) result {
	m, _ := r[key].(map[string]any)
	return result(m)
}

// results are a script's observations by step name.
type results struct {
	steps map[string]result
	order []string
}

// step returns a step's result, failing the test if it is missing or the
// script reported it failed.
func (rs results) step(t *testing.T, name string) result {
	t.Helper()
	r, ok := rs.steps[name]
	if !ok {
		t.Fatalf("the script reported no step %q (it reported %v)", name, rs.order)
	}
	if !r.boolean("ok") {
		t.Fatalf("step %q failed in the script: %s", name, r.str("error"))
	}
	return r
}

// script is one run of a Node script against a server.
type script struct {
	name   string            // file in test/interop/node
	env    map[string]string // added to the environment
	dotenv map[string]string // written to .env in the working directory
	// mfa gives the browser's user an authenticator app, which it enrols
	// when the server asks and answers second-factor pages with.
	mfa *harness.Authenticator
}

// run runs the script to completion, serving its requests, and returns
// what it reported. A non-zero exit fails the test after every reported
// step has been recorded, so the subtests still say which step broke.
func run(t *testing.T, srv *harness.Tessera, s script) (results, error) {
	t.Helper()
	node := requireNode(t)
	work := t.TempDir()
	if len(s.dotenv) > 0 {
		var b strings.Builder
		for _, k := range sortedKeys(s.dotenv) {
			fmt.Fprintf(&b, "%s=%s\n", k, s.dotenv[k])
		}
		if err := os.WriteFile(filepath.Join(work, ".env"), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(nodeDir(), s.name))
	cmd.Dir = work // dotenv reads .env from the working directory
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+srv.CAFile, "NO_COLOR=1")
	for _, k := range sortedKeys(s.env) {
		cmd.Env = append(cmd.Env, k+"="+s.env[k])
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited { // a t.Fatal in a request handler
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Logf("%s stderr:\n%s", s.name, stderr.String())
		}
	}()

	var browser *harness.Browser
	browse := func() *harness.Browser {
		if browser == nil {
			browser = harness.NewBrowser(t)
			if s.mfa != nil {
				browser.UseAuthenticator(s.mfa)
			}
		}
		return browser
	}
	reply := func(v any) {
		b, _ := json.Marshal(v)
		if _, err := stdin.Write(append(b, '\n')); err != nil {
			t.Logf("reply to %s: %v", s.name, err)
		}
	}
	rs := results{steps: map[string]result{}}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	for sc.Scan() {
		line := sc.Text()
		var msg struct {
			Result   result   `json:"result"`
			Browse   string   `json:"browse"`
			Redirect string   `json:"redirect"`
			Open     string   `json:"open"`
			Device   string   `json:"device"`
			Code     string   `json:"code"`
			CLI      []string `json:"cli"`
		}
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &msg) != nil {
			t.Logf("%s: %s", s.name, line)
			continue
		}
		switch {
		case msg.Result != nil:
			name := msg.Result.str("step")
			if _, dup := rs.steps[name]; dup {
				t.Errorf("%s reported step %q twice", s.name, name)
			}
			rs.steps[name] = msg.Result
			rs.order = append(rs.order, name)
			if !msg.Result.boolean("ok") {
				t.Logf("%s: step %q failed: %s", s.name, name, msg.Result.str("error"))
			}
		case msg.Browse != "":
			t.Logf("%s: browser signs in at %.120s...", s.name, msg.Browse)
			reply(map[string]string{"url": browse().SignIn(msg.Browse, srv.Demo.Username, srv.Demo.Password, msg.Redirect)})
		case msg.Open != "":
			t.Logf("%s: openBrowser %.120s...", s.name, msg.Open)
			reply(map[string]string{"url": browse().SignIn(msg.Open, srv.Demo.Username, srv.Demo.Password, "http://localhost:")})
		case msg.Device != "":
			t.Logf("%s: browser approves %s at %s", s.name, msg.Code, msg.Device)
			browse().ApproveDevice(msg.Device, msg.Code, srv.Demo.Username, srv.Demo.Password)
			reply(map[string]bool{"done": true})
		case msg.CLI != nil:
			t.Logf("%s: tessera %s", s.name, strings.Join(msg.CLI, " "))
			var out any
			if err := json.Unmarshal([]byte(srv.CLIRaw(t, append(msg.CLI, "--output", "json")...)), &out); err != nil {
				t.Fatalf("tessera %v printed no JSON: %v", msg.CLI, err)
			}
			reply(map[string]any{"out": out})
		default:
			t.Logf("%s: %s", s.name, line)
		}
	}
	_ = stdin.Close()
	err = cmd.Wait()
	exited = true
	t.Logf("%s ran for %s", s.name, time.Since(started).Round(time.Millisecond))
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not finish within %s", s.name, scriptTimeout)
	}
	if text := stderr.String(); text != "" {
		t.Logf("%s stderr:\n%s", s.name, text)
	}
	if err != nil {
		return rs, fmt.Errorf("node %s: %w", s.name, err)
	}
	return rs, nil
}

// mustRun is run for scenarios whose subtests assert on the results: the
// returned check, deferred, then fails the test on a non-zero exit or a
// server error in the server's log, so a failure first names its step.
func mustRun(t *testing.T, srv *harness.Tessera, s script) (results, func()) {
	t.Helper()
	rs, err := run(t, srv, s)
	return rs, func() {
		t.Helper()
		noServerErrors(t, srv)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// noServerErrors fails the test for every 5xx answer or error the server
// logged: a client that recovers from one hides a defect.
func noServerErrors(t *testing.T, srv *harness.Tessera) {
	t.Helper()
	for _, line := range strings.Split(srv.Log(), "\n") {
		if strings.Contains(line, " status=5") || strings.Contains(line, "level=ERROR") {
			t.Errorf("server error: %s", line)
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, jwt string) result {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c result
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

// certificate is a self-signed RSA certificate for client assertions.
type certificate struct {
	CertFile, KeyFile string
	SHA1, SHA256      string // hex thumbprints of the DER certificate
}

func newCertificate(t *testing.T, dir, cn string) certificate {
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := certificate{CertFile: filepath.Join(dir, cn+".pem"), KeyFile: filepath.Join(dir, cn+".key")}
	writePEM(t, c.CertFile, "CERTIFICATE", der)
	writePEM(t, c.KeyFile, "PRIVATE KEY", pkcs8)
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	c.SHA1, c.SHA256 = hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
	return c
}

// jwkKey is a key pair: the public JWK (a file, to register with Tessera)
// and the private JWK the clients sign assertions with.
type jwkKey struct {
	PublicFile, PrivateJWK, Kid string
}

func newJWKKey(t *testing.T, dir, kid string) jwkKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	d, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	public := map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:]), "kid": kid, "use": "sig", "alg": "ES256"}
	private := map[string]string{"d": b64(d)}
	for k, v := range public {
		private[k] = v
	}
	k := jwkKey{PublicFile: filepath.Join(dir, kid+".jwk"), Kid: kid}
	writeJSON(t, k.PublicFile, public)
	pj, _ := json.Marshal(private)
	k.PrivateJWK = string(pj)
	return k
}

// newEd25519JWKKey makes an Ed25519 (OKP, RFC 8037) key pair. Neither JWK
// has an alg: the key signs under either name of its algorithm, "EdDSA"
// (RFC 8037) or "Ed25519" (RFC 9864), and the client picks one.
func newEd25519JWKKey(t *testing.T, dir, kid string) jwkKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	public := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "kid": kid, "use": "sig"}
	private := map[string]string{"d": b64(priv.Seed())}
	for k, v := range public {
		private[k] = v
	}
	k := jwkKey{PublicFile: filepath.Join(dir, kid+".jwk"), Kid: kid}
	writeJSON(t, k.PublicFile, public)
	pj, _ := json.Marshal(private)
	k.PrivateJWK = string(pj)
	return k
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
