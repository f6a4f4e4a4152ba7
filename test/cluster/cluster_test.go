// Package cluster runs several `tessera serve` processes against one shared
// store behind a simulated load balancer: every request goes to a random
// live instance, whatever the client thinks it talks to. Every test runs
// once per shared store the environment provides: a PostgreSQL schema
// (TESSERA_TEST_POSTGRES) and a MySQL or MariaDB database
// (TESSERA_TEST_MYSQL).
//
// The instances are set up as docs/deploy.md tells users: each has a data
// directory of its own, they share the store, TESSERA_MASTER_KEY, the
// public URL and (here, standing in for the balancer's) a TLS certificate,
// they trust the balancer's address for X-Forwarded-For, and they start at
// the same time, so their migrations race.
package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tessera-id/tessera/internal/devtls"
	"github.com/tessera-id/tessera/internal/mysqltest"
	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/test/harness"
	"github.com/tessera-id/tessera/token"
)

// cluster is n instances sharing a store and a master key, all answering
// as one public URL.
type cluster struct {
	t         *testing.T
	store     sharedStore
	dir       string       // holds each instance's data directory
	tls       devtls.Files // the certificate every instance serves
	instances []*harness.Tessera
	dead      []atomic.Bool
	public    string // https://localhost:PORT of the first instance: the issuer
	demo      harness.Demo
	client    *http.Client // through the load balancer
	hits      []atomic.Int64
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func newMasterKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// sharedStore is a store several instances share, made for one test.
type sharedStore struct {
	engine string   // "postgres" or "mysql"
	env    []string // TESSERA_STORE (and TESSERA_PG_SCHEMA), as the instances get them
	args   []string // the same as flags
	db     *sql.DB  // for looking at what the instances wrote
}

// query runs q, written with PostgreSQL's $1, on the store.
func (s sharedStore) query(q string, args ...any) (*sql.Rows, error) {
	if s.engine == "mysql" {
		q = strings.ReplaceAll(q, "$1", "?")
	}
	return s.db.QueryContext(context.Background(), q, args...)
}

// each runs test as a subtest on a cluster of n instances per shared store
// the environment provides. Without any, it skips, or fails under
// TESSERA_REQUIRE_INTEROP=1 (CI), which wants both.
func each(t *testing.T, n int, test func(t *testing.T, c *cluster)) {
	for _, engine := range []struct{ name, env string }{{"postgres", "TESSERA_TEST_POSTGRES"}, {"mysql", "TESSERA_TEST_MYSQL"}} {
		t.Run(engine.name, func(t *testing.T) {
			if os.Getenv(engine.env) == "" {
				if harness.Required() {
					t.Fatalf("TESSERA_REQUIRE_INTEROP=1 but %s is not set", engine.env)
				}
				t.Skipf("%s is not set; the multi-instance tests on %s need it (CI sets it)", engine.env, engine.name)
			}
			test(t, newCluster(t, newSharedStore(t, engine.name), n))
		})
	}
}

// newSharedStore makes a fresh PostgreSQL schema or MySQL database,
// dropped when the test ends.
func newSharedStore(t *testing.T, engine string) sharedStore {
	t.Helper()
	if engine == "mysql" {
		url := mysqltest.Database(t, os.Getenv("TESSERA_TEST_MYSQL"), "tessera_cluster_")
		return sharedStore{engine: engine, env: []string{"TESSERA_STORE=" + url}, args: []string{"--store", url},
			db: mysqltest.Open(t, url)}
	}
	dsn := os.Getenv("TESSERA_TEST_POSTGRES")
	schema := pgtest.Name("tessera_cluster_")
	pgtest.DropOnCleanup(t, dsn, schema)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return sharedStore{engine: engine, env: []string{"TESSERA_STORE=" + dsn, "TESSERA_PG_SCHEMA=" + schema},
		args: []string{"--store", dsn, "--pg-schema", schema}, db: db}
}

func newCluster(t *testing.T, store sharedStore, n int) *cluster {
	t.Helper()
	// The instances and the admin CLI of the harness share the store and
	// the master key through the environment, as deploy/tessera.service
	// gives them.
	for _, kv := range store.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dir := t.TempDir()
	files, err := devtls.Ensure(filepath.Join(dir, "tls"), devtls.DefaultHosts(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ports := make([]string, n)
	for i := range ports {
		ports[i] = freePort(t)
	}
	c := &cluster{t: t, store: store, dir: dir, tls: files, public: "https://localhost:" + ports[0],
		dead: make([]atomic.Bool, n), hits: make([]atomic.Int64, n)}
	// All at once: the migrations race (under the store's lock), and so
	// do the master key checks. Only the first bootstraps the demo tenant
	// (--dev), after its migrations; the others serve what it made.
	starting := make([]*harness.Starting, n)
	for i := range starting {
		starting[i] = harness.Launch(t, c.options(i, ports[i]))
	}
	for _, s := range starting {
		c.instances = append(c.instances, s.Ready(t))
	}
	c.demo = c.instances[0].Demo
	for i, s := range c.instances {
		if _, err := os.Stat(filepath.Join(s.DataDir, "master.key")); err == nil {
			t.Errorf("instance %d made a master key file of its own despite TESSERA_MASTER_KEY", i)
		}
	}
	migrations, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "store", "sqlstore", "migrations", store.engine, "*.sql"))
	if err != nil || len(migrations) == 0 {
		t.Fatalf("migration files: %v %v", migrations, err)
	}
	// goose records version 0, then one row per migration: each applied
	// once although three instances raced to apply them.
	if got := c.count("SELECT count(*) FROM goose_db_version WHERE is_applied"); got != len(migrations)+1 {
		t.Errorf("%d migration versions applied after a concurrent start, want %d", got, len(migrations)+1)
	}
	if got := c.count("SELECT count(*) FROM master_key_check"); got != 1 {
		t.Errorf("%d master key checks recorded, want 1", got)
	}
	base := c.instances[0].HTTP.Transport.(*http.Transport).Clone()
	c.client = &http.Client{Timeout: 30 * time.Second, Transport: &balancer{c: c, next: base}}
	return c
}

// options are how instance i runs: a data directory of its own, the shared
// store, key (from the environment), public URL and certificate, and the
// balancer (on loopback) trusted for X-Forwarded-For.
func (c *cluster) options(i int, port string) harness.Options {
	return harness.Options{
		DataDir: filepath.Join(c.dir, fmt.Sprintf("instance-%d", i)),
		Dev:     i == 0,
		CAFile:  c.tls.CACert,
		Args: append(slices.Clone(c.store.args), "--addr", "127.0.0.1:"+port,
			"--public-url", c.public, "--refresh-grace", "2s", "--tls-cert", c.tls.Cert, "--tls-key", c.tls.Key,
			"--trusted-proxies", "127.0.0.1/32,::1"),
	}
}

// query runs a query in the cluster's store, outside every instance.
func (c *cluster) query(q string, args ...any) *sql.Rows {
	c.t.Helper()
	rows, err := c.store.query(q, args...)
	if err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return rows
}

func (c *cluster) count(q string, args ...any) int {
	c.t.Helper()
	rows := c.query(q, args...)
	defer rows.Close()
	var n int
	if !rows.Next() {
		c.t.Fatalf("%s: no row (%v)", q, rows.Err())
	}
	if err := rows.Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// checkFamily asserts that the refresh family of chain[0] holds exactly
// the tokens of chain, in order: one row per token, generations 1, 2, …
// each the child of the one before, every token but the last spent. A
// parent rotated twice would leave a second child (a row not in chain, or
// a generation twice), which the client cannot see: the successor of a
// parent is HMAC(parent), the same whichever instance derived it.
func (c *cluster) checkFamily(name string, chain []string) {
	c.t.Helper()
	rows := c.query(`SELECT hash, parent_hash, generation, used_at IS NOT NULL FROM refresh_tokens
		WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE hash = $1) ORDER BY generation, hash`, token.Hash(chain[0]))
	defer rows.Close()
	type row struct {
		hash, parent []byte
		generation   int
		used         bool
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.hash, &r.parent, &r.generation, &r.used); err != nil {
			c.t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	children := map[string]int{}
	for _, r := range got {
		if len(r.parent) > 0 {
			children[string(r.parent)]++
		}
	}
	for parent, n := range children {
		if n != 1 {
			c.t.Errorf("%s: parent %x rotated %d times", name, parent[:6], n)
		}
	}
	if len(got) != len(chain) {
		c.t.Errorf("%s: the family has %d tokens, the client received %d", name, len(got), len(chain))
		return
	}
	for i, r := range got {
		want := token.Hash(chain[i])
		switch {
		case !bytes.Equal(r.hash, want):
			c.t.Errorf("%s: generation %d is not the token the client received", name, r.generation)
		case r.generation != i+1:
			c.t.Errorf("%s: token %d has generation %d, want %d", name, i, r.generation, i+1)
		case i > 0 && !bytes.Equal(r.parent, token.Hash(chain[i-1])):
			c.t.Errorf("%s: generation %d is not the child of generation %d", name, r.generation, r.generation-1)
		case r.used != (i < len(chain)-1):
			c.t.Errorf("%s: generation %d spent = %v, want %v", name, r.generation, r.used, i < len(chain)-1)
		}
	}
}

type (
	clientAddrKey struct{}
	instanceKey   struct{}
)

// defaultClient is the address the balancer reports for requests that do
// not say which client they come from.
const defaultClient = "192.0.2.10"

// fromClient makes requests sent with ctx come from a client at addr: the
// balancer appends addr to X-Forwarded-For, as a load balancer appends the
// address a request reached it from.
func fromClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// onInstance makes the balancer send requests with ctx to instance i,
// without falling back to another.
func onInstance(ctx context.Context, i int) context.Context {
	return context.WithValue(ctx, instanceKey{}, i)
}

// balancer sends each request to a random live instance, and on a
// connection failure (a dead instance) to another, as a load balancer's
// health checks would. Like a load balancer, it appends the client's
// address to X-Forwarded-For.
type balancer struct {
	c    *cluster
	next http.RoundTripper
}

func (b *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	client, ok := r.Context().Value(clientAddrKey{}).(string)
	if !ok {
		client = defaultClient
	}
	forwarded := client
	if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		forwarded = strings.Join(prior, ", ") + ", " + client
	}
	pinned, isPinned := r.Context().Value(instanceKey{}).(int)
	var lastErr error
	for attempt := 0; attempt < 6; attempt++ {
		i := pinned
		if !isPinned {
			i = b.c.pick()
		}
		out := r.Clone(r.Context())
		out.URL.Host = "localhost:" + b.c.instances[i].Port
		out.Host = r.URL.Host
		out.Header.Set("X-Forwarded-For", forwarded)
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := b.next.RoundTrip(out)
		if err == nil {
			// The whole answer, or a retry elsewhere: an instance killed
			// between its headers and its body leaves a response cut
			// short, which a balancer (and MSAL) retries; a refresh sent
			// again is a retry within the grace window.
			var answer []byte
			answer, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(answer))
		}
		if err == nil {
			b.c.hits[i].Add(1)
			return resp, nil
		}
		lastErr = err
		if isPinned {
			break
		}
	}
	return nil, lastErr
}

func (c *cluster) pick() int {
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(c.instances))))
		if i := int(n.Int64()); !c.dead[i].Load() {
			return i
		}
	}
}

func (c *cluster) kill(i int) {
	c.dead[i].Store(true)
	c.instances[i].Kill()
}

func (c *cluster) authority() string { return c.public + "/demo" }

// send makes one request through the balancer and decodes a JSON answer.
func (c *cluster) send(ctx context.Context, method, path string, form url.Values, header http.Header) (int, map[string]any) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.authority()+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (c *cluster) post(path string, form url.Values) (int, map[string]any) {
	c.t.Helper()
	return c.send(context.Background(), http.MethodPost, path, form, nil)
}

func (c *cluster) token(form url.Values) (int, map[string]any) {
	c.t.Helper()
	return c.post("/oauth2/v2.0/token", form)
}

// tokenOn is token on instance i.
func (c *cluster) tokenOn(i int, form url.Values, header http.Header) (int, map[string]any) {
	c.t.Helper()
	return c.send(onInstance(context.Background(), i), http.MethodPost, "/oauth2/v2.0/token", form, header)
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// signIn runs the native app's code flow through the balancer and returns
// the token response.
func (c *cluster) signIn(b *testbrowser.Browser, scope string) map[string]any {
	c.t.Helper()
	verifier, challenge := pkce()
	redirect := "http://localhost:3000/redirect"
	o := b.SignIn(c.authority()+"/oauth2/v2.0/authorize?"+url.Values{"client_id": {c.demo.NativeClientID}, "response_type": {"code"},
		"redirect_uri": {redirect}, "scope": {scope}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode(),
		c.demo.Username, c.demo.Password)
	status, resp := c.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {c.demo.NativeClientID},
		"code": {o.Params.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	if status != 200 {
		c.t.Fatalf("code redemption: %d %v", status, resp)
	}
	return resp
}

func refreshForm(clientID, rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}}
}

func (c *cluster) refresh(rt string) (int, map[string]any) {
	c.t.Helper()
	return c.token(refreshForm(c.demo.NativeClientID, rt))
}

// TestEveryGrantAcrossInstances runs each grant with every request sent to
// a random instance.
func TestEveryGrantAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		b := testbrowser.New(t, c.client)
		scope := "api://" + c.demo.WebClientID + "/access_as_user openid offline_access"

		// Confidential client: client credentials.
		status, cc := c.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {c.demo.WebClientID},
			"client_secret": {c.demo.WebSecret}, "scope": {c.demo.WebClientID + "/.default"}})
		if status != 200 {
			t.Fatalf("client credentials: %d %v", status, cc)
		}
		// Public client: authorization code + PKCE, then refresh, each leg on
		// whichever instance the balancer picks.
		tokens := c.signIn(b, scope)
		rt := tokens["refresh_token"].(string)
		for i := 0; i < 6; i++ {
			status, r := c.refresh(rt)
			if status != 200 {
				t.Fatalf("refresh %d: %d %v", i, status, r)
			}
			rt = r["refresh_token"].(string)
		}
		confidentialCodeFlow(t, c, b)
		// Device code: authorization, verification page and polling spread
		// over the instances.
		status, da := c.post("/oauth2/v2.0/devicecode", url.Values{"client_id": {c.demo.NativeClientID}, "scope": {scope}})
		if status != 200 {
			t.Fatalf("devicecode: %d %v", status, da)
		}
		o := b.Submit(b.Get(da["verification_uri_complete"].(string)), nil)
		if o.Page == "login" {
			o = b.Login(o, c.demo.Username, c.demo.Password)
		}
		o = b.Consent(o, "accept")
		if !strings.Contains(o.Body, "signed in") {
			t.Fatalf("device approval:\n%s", o.Body)
		}
		status, dt := c.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {c.demo.NativeClientID},
			"device_code": {da["device_code"].(string)}})
		if status != 200 {
			t.Fatalf("device token: %d %v", status, dt)
		}
		// Revocation on one instance holds on all: introspection (by the web
		// app, the token's audience) and refresh both see it.
		at := tokens["access_token"].(string)
		if status, r := c.post("/oauth2/v2.0/revoke", url.Values{"client_id": {c.demo.NativeClientID}, "token": {at}}); status != 200 {
			t.Fatalf("revoke: %d %v", status, r)
		}
		for i := 0; i < 6; i++ {
			status, in := c.post("/oauth2/v2.0/introspect", url.Values{"client_id": {c.demo.WebClientID}, "client_secret": {c.demo.WebSecret}, "token": {at}})
			if status != 200 || in["active"] != false {
				t.Fatalf("introspection after revocation: %d %v", status, in)
			}
		}
		// On-behalf-of and token exchange: the native app's user token for
		// the web app's API, exchanged by the web app for a downstream API.
		admin := c.instances[0]
		down := admin.RegisterApp(t, "downstream", false)
		admin.Expose(t, down.ClientID, "api://downstream", "read")
		admin.Permission(t, c.demo.WebClientID, "api://downstream", "read")
		admin.AdminConsent(t, c.demo.WebClientID)
		user := c.signIn(b, "api://"+c.demo.WebClientID+"/access_as_user")["access_token"].(string)
		status, obo := c.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {c.demo.WebClientID},
			"client_secret": {c.demo.WebSecret}, "assertion": {user}, "scope": {"api://downstream/read"}, "requested_token_use": {"on_behalf_of"}})
		if status != 200 {
			t.Fatalf("on-behalf-of: %d %v", status, obo)
		}
		status, tx := c.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {c.demo.WebClientID},
			"client_secret": {c.demo.WebSecret}, "subject_token": {user}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
			"audience": {"api://downstream"}})
		if status != 200 {
			t.Fatalf("token exchange: %d %v", status, tx)
		}

		// An app registered through the CLI on the shared store is served by
		// every instance at once (the change notification flushes caches).
		app := c.instances[0].RegisterApp(t, "late app", false)
		for i := range c.instances {
			resp, err := c.instances[i].HTTP.PostForm(c.instances[i].Base+"/demo/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
				"client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {app.ClientID + "/.default"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("instance %d does not know the new app: %d", i, resp.StatusCode)
			}
		}
		privateKeyJWT(t, c)
		keyRotation(t, c)
		for i := range c.hits {
			if c.hits[i].Load() == 0 {
				t.Errorf("instance %d got no request; the balancer did not spread the load", i)
			}
		}
	})
}

// TestConcurrentRefreshAcrossInstances: 20 goroutines present the same
// refresh token at once, through all instances, step after step: each step
// rotates exactly once (everyone gets the same successor, and the family's
// rows show one child per parent), and a stale token presented after the
// grace window revokes the family everywhere.
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		b := testbrowser.New(t, c.client)
		first := c.signIn(b, "openid offline_access")["refresh_token"].(string)
		rt := first
		chain := []string{first}
		const steps = 10
		for step := 0; step < steps; step++ {
			results := make([]string, 20)
			var wg sync.WaitGroup
			for g := range results {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					status, r := c.refresh(rt)
					if status != 200 {
						results[g] = fmt.Sprintf("status %d %v", status, r)
						return
					}
					results[g] = r["refresh_token"].(string)
				}(g)
			}
			wg.Wait()
			for g, r := range results {
				if r != results[0] {
					t.Fatalf("step %d: caller %d got %q, caller 0 %q: a parent rotated twice or a retry failed", step, g, r, results[0])
				}
			}
			rt = results[0]
			chain = append(chain, rt)
		}
		// Each of the 10 steps stored exactly one successor, whatever the 20
		// callers on three instances did.
		c.checkFamily("the contended family", chain)
		if n := c.count(`SELECT count(*) FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE hash = $1)`,
			token.Hash(first)); n != steps+1 {
			t.Errorf("the family has %d tokens after %d steps, want %d", n, steps, steps+1)
		}
		// The first token of the chain, long used, after the grace window.
		time.Sleep(2500 * time.Millisecond)
		if status, r := c.refresh(first); status != 400 || r["suberror"] != "bad_token" {
			t.Fatalf("stale token: %d %v", status, r)
		}
		// The family is revoked on every instance.
		for i, s := range c.instances {
			resp, err := s.HTTP.PostForm(s.Base+"/demo/oauth2/v2.0/token", refreshForm(c.demo.NativeClientID, rt))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != 400 || m["suberror"] != "bad_token" {
				t.Errorf("instance %d still honours the revoked family: %d %v", i, resp.StatusCode, m)
			}
		}
		// Neither the reuse nor the refused refreshes stored a token.
		c.checkFamily("the revoked family", chain)
		if n := c.count(`SELECT count(*) FROM refresh_families WHERE revoked_at IS NOT NULL AND id = (SELECT family_id FROM refresh_tokens WHERE hash = $1)`,
			token.Hash(first)); n != 1 {
			t.Error("the family is not marked revoked")
		}
	})
}

// TestKillOneInstanceUnderLoad: workers rotate their own refresh families
// and get client-credential tokens through the balancer; one instance is
// killed (SIGKILL) in the middle. No request fails. Token pairs taken
// before the kill and left idle, some issued by the instance that dies,
// still refresh afterwards, as does every worker's latest pair, and every
// family holds exactly the tokens its client received.
func TestKillOneInstanceUnderLoad(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		b := testbrowser.New(t, c.client)
		const victim = 2

		// Idle pairs: two issued by each instance (a refresh pinned to it),
		// then left alone until after the kill.
		type idle struct {
			issuer int
			chain  []string
		}
		var idles []idle
		for i := range c.instances {
			for k := 0; k < 2; k++ {
				first := c.signIn(b, "openid offline_access")["refresh_token"].(string)
				status, r := c.tokenOn(i, refreshForm(c.demo.NativeClientID, first), nil)
				if status != 200 {
					t.Fatalf("refresh on instance %d: %d %v", i, status, r)
				}
				idles = append(idles, idle{issuer: i, chain: []string{first, r["refresh_token"].(string)}})
			}
		}

		const workers = 8
		chains := make([][]string, workers)
		for w := range chains {
			chains[w] = []string{c.signIn(b, "openid offline_access")["refresh_token"].(string)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		var failures atomic.Int64
		var requests atomic.Int64
		var firstFailure atomic.Value
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for ctx.Err() == nil {
					if w%2 == 0 {
						status, r := c.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {c.demo.WebClientID},
							"client_secret": {c.demo.WebSecret}, "scope": {c.demo.WebClientID + "/.default"}})
						requests.Add(1)
						if status != 200 {
							failures.Add(1)
							firstFailure.CompareAndSwap(nil, fmt.Sprintf("worker %d client credentials: %d %v", w, status, r))
						}
					}
					status, r := c.refresh(chains[w][len(chains[w])-1])
					requests.Add(1)
					if status != 200 {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, fmt.Sprintf("worker %d: %d %v", w, status, r))
						continue
					}
					chains[w] = append(chains[w], r["refresh_token"].(string))
				}
			}(w)
		}
		time.Sleep(1500 * time.Millisecond)
		c.kill(victim)
		wg.Wait()
		t.Logf("%d requests during the run, one instance killed after 1.5 s", requests.Load())
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d of %d requests failed around the kill; first: %v", n, requests.Load(), firstFailure.Load())
		}
		for w, chain := range chains {
			status, r := c.refresh(chain[len(chain)-1])
			if status != 200 {
				t.Errorf("worker %d's token pair does not refresh after the kill: %d %v", w, status, r)
				continue
			}
			c.checkFamily(fmt.Sprintf("worker %d", w), append(chain, r["refresh_token"].(string)))
		}
		fromVictim := 0
		for k, p := range idles {
			status, r := c.refresh(p.chain[len(p.chain)-1])
			if status != 200 {
				t.Errorf("idle pair %d (issued by instance %d) does not refresh after the kill: %d %v", k, p.issuer, status, r)
				continue
			}
			if p.issuer == victim {
				fromVictim++
			}
			c.checkFamily(fmt.Sprintf("idle pair %d (issued by instance %d)", k, p.issuer), append(p.chain, r["refresh_token"].(string)))
		}
		if fromVictim == 0 {
			t.Error("no idle pair issued by the killed instance was refreshed")
		}
	})
}
