// Package harness starts what interop and browser tests run against: a real
// `tessera serve --dev` process built from this checkout, set up through
// the admin CLI, and a real headless Chromium driven with chromedp.
package harness

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/mysqltest"
	"github.com/tessera-id/tessera/internal/pgtest"
)

// Required reports whether missing tools (Chromium, Node) must fail the
// suite instead of skipping it; CI sets TESSERA_REQUIRE_INTEROP=1.
func Required() bool { return os.Getenv("TESSERA_REQUIRE_INTEROP") == "1" }

// SkipOrFail skips the test with a clear reason, or fails it in CI.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("TESSERA_REQUIRE_INTEROP=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}

// RepoRoot is the checkout's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// A binary built from the checkout, once per test process.
type built struct {
	once sync.Once
	path string
	err  error
}

var (
	server    built
	generator built
)

// build returns $env when set, else pkg (./cmd/NAME) built from the
// checkout into a temporary directory, once per test process.
func (b *built) build(t testing.TB, env, pkg string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "tessera-bin")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Binary returns the tessera binary: $TESSERA_BIN, or one built from the
// checkout once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	return server.build(t, "TESSERA_BIN", "./cmd/tessera")
}

// BenchBinary returns the load generator, tessera-bench: $TESSERA_BENCH_BIN,
// or one built from the checkout once per test process.
func BenchBinary(t testing.TB) string {
	t.Helper()
	return generator.build(t, "TESSERA_BENCH_BIN", "./cmd/tessera-bench")
}

// Demo is the directory a suite signs in to: what `serve --dev` printed on
// its first start (the demo tenant), or, after UseNewTenant, the tenant,
// apps and user the harness created through the admin CLI. Either way it
// is a confidential web app exposing access_as_user (redirect URIs
// http://localhost:8080 and http://localhost:3000/redirect), a public
// native app allowed to call it (loopback redirect, any port) and a user.
type Demo struct {
	TenantID       string
	WebClientID    string
	WebSecret      string
	NativeClientID string
	Username       string
	Password       string
	// The portal and its administrator (a Global Administrator).
	PortalURL     string
	AdminUsername string
	AdminPassword string
}

// Tessera is a running `tessera serve --dev`.
type Tessera struct {
	DataDir string
	Base    string // https://localhost:PORT
	Port    string
	Tenant  string // "demo", or the tenant UseNewTenant made
	Demo    Demo
	CAFile  string
	HTTP    *http.Client // trusts the development CA

	// PostgresDSN and PostgresSchema name the server's store when the
	// suite runs on PostgreSQL (TESSERA_TEST_STORE=postgres), MySQLURL when
	// it runs on MySQL or MariaDB (TESSERA_TEST_STORE=mysql); all are empty
	// on SQLite, the data directory's database.
	PostgresDSN, PostgresSchema string
	MySQLURL                    string

	env    []string // for the server and the admin CLI
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartOwnTenant is Start followed by UseNewTenant: the suite signs in to a
// tenant, apps and user made through the admin CLI (`tessera tenant
// create`, `app register`, `user create`, ...), not to the ones `serve
// --dev` bootstraps. The tenant is also the default tenant, served by
// /oauth2/authorize and /oauth2/token.
func StartOwnTenant(t testing.TB, tenant string, flags ...string) *Tessera {
	t.Helper()
	s := Start(t, append([]string{"--default-tenant", tenant}, flags...)...)
	s.UseNewTenant(t, tenant)
	return s
}

// UseNewTenant creates, through the admin CLI, a tenant named name shaped
// like the demo one (see Demo), with a user whose password the harness
// generates and passes on standard input, and makes it the tenant the
// helpers (Authority, RegisterApp, Expose, ...) and s.Demo refer to.
func (s *Tessera) UseNewTenant(t testing.TB, name string) {
	t.Helper()
	tenantID := str(t, s.CLI(t, "tenant", "create", name), "id")
	web := str(t, s.CLI(t, "app", "register", "--tenant", name, "--name", "Web App",
		"--redirect-uri", "http://localhost:8080", "--redirect-uri", "http://localhost:3000/redirect"), "client_id")
	s.CLI(t, "app", "expose", "--tenant", name, "--app", web, "--scope", "access_as_user")
	secret := str(t, s.CLI(t, "app", "secret", "add", "--tenant", name, "--app", web, "--description", "harness"), "secret")
	native := str(t, s.CLI(t, "app", "register", "--tenant", name, "--name", "Native App", "--public",
		"--redirect-uri", "http://localhost", "--redirect-uri", "http://localhost:3000/redirect"), "client_id")
	s.CLI(t, "app", "permission", "add", "--tenant", name, "--app", native, "--resource", web, "--scope", "access_as_user")
	const username = "alice"
	password := randomPassword(t)
	out := s.cliInput(t, password+"\n", "user", "create", "--tenant", name, "--username", username,
		"--email", "alice@example.com", "--name", "Alice Example", "--password-stdin", "--output", "json")
	var user struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &user); err != nil || user.Username != username || user.Password != "" {
		t.Fatalf("tessera user create printed %q (%v)", out, err)
	}
	s.Tenant = name
	s.Demo = Demo{TenantID: tenantID, WebClientID: web, WebSecret: secret, NativeClientID: native, Username: username, Password: password}
}

// str is a string member of a CLI's JSON answer.
func str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	v, _ := m[key].(string)
	if v == "" {
		t.Fatalf("the admin CLI's answer %v has no %s", m, key)
	}
	return v
}

func randomPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var listening = regexp.MustCompile(`(?:msg="tessera listening" addr=|"msg":"tessera listening","addr":")127\.0\.0\.1:(\d+)`)

// Start runs `tessera serve --dev` on a free loopback port with a fresh
// data directory and extra flags. With TESSERA_TEST_STORE=postgres the
// server and the admin CLI keep their state in a fresh schema of the
// TESSERA_TEST_POSTGRES database instead, with TESSERA_TEST_STORE=mysql in
// a fresh database on the TESSERA_TEST_MYSQL server, so the browser and
// interop suites run on every store.
func Start(t testing.TB, flags ...string) *Tessera {
	t.Helper()
	var env []string
	var dsn, schema, mysqlURL string
	switch engine := os.Getenv("TESSERA_TEST_STORE"); engine {
	case "postgres":
		dsn = os.Getenv("TESSERA_TEST_POSTGRES")
		if dsn == "" {
			t.Fatal("TESSERA_TEST_STORE=postgres needs TESSERA_TEST_POSTGRES")
		}
		schema = pgtest.Name("tessera_h_")
		pgtest.DropOnCleanup(t, dsn, schema)
		env = []string{"TESSERA_STORE=" + dsn, "TESSERA_PG_SCHEMA=" + schema}
	case "mysql":
		base := os.Getenv("TESSERA_TEST_MYSQL")
		if base == "" {
			t.Fatal("TESSERA_TEST_STORE=mysql needs TESSERA_TEST_MYSQL")
		}
		mysqlURL = mysqltest.Database(t, base, "tessera_h_")
		env = []string{"TESSERA_STORE=" + mysqlURL}
	case "", "sqlite":
	default:
		t.Fatalf("TESSERA_TEST_STORE=%s: use sqlite, postgres or mysql", engine)
	}
	s := startIn(t, filepath.Join(t.TempDir(), "tessera-data"), env, flags...)
	s.PostgresDSN, s.PostgresSchema, s.MySQLURL = dsn, schema, mysqlURL
	return s
}

// StartIn is Start on a given data directory: instances that share one
// (its development CA and master key) and a --store form a cluster.
func StartIn(t testing.TB, dataDir string, flags ...string) *Tessera {
	t.Helper()
	return startIn(t, dataDir, nil, flags...)
}

func startIn(t testing.TB, dataDir string, env []string, flags ...string) *Tessera {
	t.Helper()
	s := &Tessera{DataDir: dataDir, Tenant: "demo", env: env, stderr: &syncBuffer{}, done: make(chan error, 1)}
	var stdout syncBuffer
	s.cmd = exec.Command(Binary(t), append([]string{"serve", "--dev", "--data-dir", s.DataDir, "--addr", "127.0.0.1:0"}, flags...)...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = &stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		if t.Failed() {
			t.Logf("tessera log:\n%s", tail(s.stderr.String(), 60))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The banner (stdout) and the log line (stderr) come through two
		// pipes, copied by two goroutines: the log line can arrive first.
		if m := listening.FindStringSubmatch(s.stderr.String()); m != nil && bannerComplete(stdout.String()) {
			s.Port = m[1]
			s.Base = "https://localhost:" + m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tessera did not start:\n%s\n%s", stdout.String(), s.stderr.String())
		}
		select {
		case err := <-s.done:
			s.done <- err // for the cleanup, which waits for it too
			t.Fatalf("tessera exited: %v\n%s", err, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	out := stdout.String()
	ids := bannerValues(out, "Application (client) ID")
	if len(ids) != 2 {
		t.Fatalf("unexpected banner:\n%s", out)
	}
	s.Demo = Demo{
		TenantID: first(bannerValues(out, "Directory (tenant) ID")), WebClientID: ids[0], NativeClientID: ids[1],
		WebSecret: first(bannerValues(out, "Client secret")), Username: first(bannerValues(out, "Username")), Password: first(bannerValues(out, "Password")),
		PortalURL: first(bannerValues(out, "Portal URL")), AdminUsername: first(bannerValues(out, "Administrator")),
		AdminPassword: first(bannerValues(out, "Administrator password")),
	}
	s.CAFile = filepath.Join(s.DataDir, "ca.pem")
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	s.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return s
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// bannerComplete reports whether the development banner has been
// printed up to its last line, the curl command's token endpoint.
func bannerComplete(out string) bool {
	return strings.Contains(out, "/oauth2/v2.0/token'\n")
}

func bannerValues(out, label string) []string {
	var values []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), label+":"); ok {
			values = append(values, strings.TrimSpace(v))
		}
	}
	return values
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (s *Tessera) Kill() {
	_ = s.cmd.Process.Kill()
	err := <-s.done
	s.done <- err
}

// Authority is the tenant's authority URL (the demo tenant's, or the one
// UseNewTenant made).
func (s *Tessera) Authority() string { return s.Base + "/" + s.Tenant }

// Log is what the server wrote to stderr so far.
func (s *Tessera) Log() string { return s.stderr.String() }

// CLI runs an admin command against the server's data directory, as a
// separate process, and decodes its --output json.
func (s *Tessera) CLI(t testing.TB, args ...string) map[string]any {
	t.Helper()
	out := s.CLIRaw(t, append(args, "--output", "json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("tessera %v printed no JSON object: %v\n%s", args, err, out)
	}
	return m
}

// CLIRaw runs an admin command and returns its standard output.
func (s *Tessera) CLIRaw(t testing.TB, args ...string) string {
	t.Helper()
	return s.cliInput(t, "", args...)
}

// cliInput runs an admin command with stdin as its standard input.
func (s *Tessera) cliInput(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"--data-dir", s.DataDir}, args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tessera %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// App is an app registration made for a test.
type App struct {
	ClientID string
	Secret   string
}

// RegisterApp registers an app; confidential apps get a secret.
func (s *Tessera) RegisterApp(t testing.TB, name string, public bool, redirectURIs ...string) App {
	t.Helper()
	args := []string{"app", "register", "--tenant", s.Tenant, "--name", name}
	if public {
		args = append(args, "--public")
	}
	for _, u := range redirectURIs {
		args = append(args, "--redirect-uri", u)
	}
	a := App{ClientID: s.CLI(t, args...)["client_id"].(string)}
	if !public {
		a.Secret = s.CLI(t, "app", "secret", "add", "--tenant", s.Tenant, "--app", a.ClientID, "--description", "interop")["secret"].(string)
	}
	return a
}

// Expose makes an app a resource with an App ID URI and scopes.
func (s *Tessera) Expose(t testing.TB, clientID, appIDURI string, scopes ...string) {
	t.Helper()
	args := []string{"app", "expose", "--tenant", s.Tenant, "--app", clientID, "--app-id-uri", appIDURI}
	for _, sc := range scopes {
		args = append(args, "--scope", sc)
	}
	s.CLI(t, args...)
}

// Permission records that client needs scope of resource.
func (s *Tessera) Permission(t testing.TB, clientID, resource, scope string) {
	t.Helper()
	s.CLI(t, "app", "permission", "add", "--tenant", s.Tenant, "--app", clientID, "--resource", resource, "--scope", scope)
}

// AdminConsent grants tenant-wide consent for a client's permissions.
func (s *Tessera) AdminConsent(t testing.TB, clientID string) {
	t.Helper()
	s.CLI(t, "app", "consent", "--tenant", s.Tenant, "--app", clientID)
}
