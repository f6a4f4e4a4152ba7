// Package cluster runs several `tessera serve` processes against one
// PostgreSQL schema behind a simulated load balancer: every request goes to
// a random live instance, whatever the client thinks it talks to.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/test/harness"
)

// cluster is three instances sharing a data directory (development CA,
// master key) and a PostgreSQL schema, all answering as one public URL.
type cluster struct {
	t         *testing.T
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

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dsn := os.Getenv("TESSERA_TEST_POSTGRES")
	if dsn == "" {
		if harness.Required() {
			t.Fatal("TESSERA_REQUIRE_INTEROP=1 but TESSERA_TEST_POSTGRES is not set")
		}
		t.Skip("TESSERA_TEST_POSTGRES is not set; the multi-instance tests need PostgreSQL (CI sets it)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "tessera_cluster_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	// The admin CLI of the harness talks to the same store.
	t.Setenv("TESSERA_STORE", dsn)
	t.Setenv("TESSERA_PG_SCHEMA", schema)
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	ports := make([]string, n)
	for i := range ports {
		ports[i] = freePort(t)
	}
	c := &cluster{t: t, public: "https://localhost:" + ports[0], dead: make([]atomic.Bool, n), hits: make([]atomic.Int64, n)}
	for i := 0; i < n; i++ {
		// The first instance bootstraps the demo tenant; the others start
		// on what it made.
		s := harness.StartIn(t, dataDir, "--store", dsn, "--pg-schema", schema, "--addr", "127.0.0.1:"+ports[i],
			"--public-url", c.public, "--refresh-grace", "2s")
		if i == 0 {
			c.demo = s.Demo
		}
		c.instances = append(c.instances, s)
	}
	base := c.instances[0].HTTP.Transport.(*http.Transport).Clone()
	c.client = &http.Client{Timeout: 30 * time.Second, Transport: &balancer{c: c, next: base}}
	return c
}

// balancer sends each request to a random live instance, and on a
// connection failure (a dead instance) to another, as a load balancer's
// health checks would.
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
	var lastErr error
	for attempt := 0; attempt < 6; attempt++ {
		i := b.c.pick()
		out := r.Clone(r.Context())
		out.URL.Host = "localhost:" + b.c.instances[i].Port
		out.Host = r.URL.Host
		if body != nil {
			out.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		resp, err := b.next.RoundTrip(out)
		if err == nil {
			b.c.hits[i].Add(1)
			return resp, nil
		}
		lastErr = err
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

func (c *cluster) post(path string, form url.Values) (int, map[string]any) {
	c.t.Helper()
	resp, err := c.client.PostForm(c.authority()+path, form)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (c *cluster) token(form url.Values) (int, map[string]any) {
	return c.post("/oauth2/v2.0/token", form)
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

func (c *cluster) refresh(rt string) (int, map[string]any) {
	return c.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {c.demo.NativeClientID}, "refresh_token": {rt}})
}

// TestEveryGrantAcrossInstances runs each grant with every request sent to
// a random instance.
func TestEveryGrantAcrossInstances(t *testing.T) {
	c := newCluster(t, 3)
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
	for i := range c.hits {
		if c.hits[i].Load() == 0 {
			t.Errorf("instance %d got no request; the balancer did not spread the load", i)
		}
	}
}

// TestConcurrentRefreshAcrossInstances: 20 goroutines present the same
// refresh token at once, through all instances, step after step: each step
// rotates exactly once (everyone gets the same successor), and a stale
// token presented after the grace window revokes the family everywhere.
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	c := newCluster(t, 3)
	b := testbrowser.New(t, c.client)
	first := c.signIn(b, "openid offline_access")["refresh_token"].(string)
	rt := first
	for step := 0; step < 10; step++ {
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
	}
	// The first token of the chain, long used, after the grace window.
	time.Sleep(2500 * time.Millisecond)
	if status, r := c.refresh(first); status != 400 || r["suberror"] != "bad_token" {
		t.Fatalf("stale token: %d %v", status, r)
	}
	// The family is revoked on every instance.
	for i, s := range c.instances {
		resp, err := s.HTTP.PostForm(s.Base+"/demo/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
			"client_id": {c.demo.NativeClientID}, "refresh_token": {rt}})
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
}

// TestKillOneInstanceUnderLoad: workers rotate their own refresh families
// and get client-credential tokens through the balancer; one instance is
// killed (SIGKILL) in the middle. No request fails, and every token pair a
// worker held still refreshes afterwards.
func TestKillOneInstanceUnderLoad(t *testing.T) {
	c := newCluster(t, 3)
	b := testbrowser.New(t, c.client)
	const workers = 8
	rts := make([]string, workers)
	for w := range rts {
		rts[w] = c.signIn(b, "openid offline_access")["refresh_token"].(string)
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
				status, r := c.refresh(rts[w])
				requests.Add(1)
				if status != 200 {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("worker %d: %d %v", w, status, r))
					continue
				}
				rts[w] = r["refresh_token"].(string)
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	c.kill(2)
	wg.Wait()
	t.Logf("%d requests during the run, one instance killed after 1.5 s", requests.Load())
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed around the kill; first: %v", n, requests.Load(), firstFailure.Load())
	}
	for w, rt := range rts {
		if status, r := c.refresh(rt); status != 200 {
			t.Errorf("worker %d's token pair does not refresh after the kill: %d %v", w, status, r)
		}
	}
}
