package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// statements counts what a store sends PostgreSQL: a pgx tracer the test
// installs, since the server keeps no such counter.
type statements struct{ n atomic.Int64 }

func (c *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// serveInProcess runs `tessera serve --dev` as the binary would, but in
// this process, so that its PostgreSQL store carries the test's options.
func serveInProcess(t *testing.T, dataDir string, storeOptions []sqlstore.Option, args ...string) *serverProcess {
	t.Helper()
	p := &serverProcess{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	root := newRoot(&globals{streams: streams{in: strings.NewReader(""), out: p.stdout, err: p.stderr}, storeOptions: storeOptions})
	root.SetArgs(append([]string{"serve", "--dev", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}, args...))
	ctx, stop := context.WithCancel(context.Background())
	go func() { p.done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-p.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for start := time.Now(); time.Since(start) < 30*time.Second; {
		if m := listeningAddr.FindStringSubmatch(p.stderr.String()); m != nil {
			p.base = "https://localhost:" + m[1]
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err // for the cleanup
			t.Fatalf("serve returned: %v\nstdout:\n%s\nstderr:\n%s", err, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", p.stderr)
	return nil
}

// What a token response costs in PostgreSQL round trips, as serve runs it
// (directory reads from the read cache, flushed by NOTIFY): a refresh is
// one read (the presented token with its family) and one write (the
// rotation, a single statement and so its own transaction); a client
// credentials response needs nothing from the database at all. The
// counter is a statement tracer the test gives the store; this asserts
// counts, not times.
func TestTokenResponseRoundTripsPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server against PostgreSQL")
	}
	dsn, schema := pgSchema(t)
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	var sent statements
	srv := serveInProcess(t, dataDir, []sqlstore.Option{sqlstore.WithTracer(&sent)}, "--store", dsn, "--pg-schema", schema)
	trips := sent.n.Load

	out := srv.stdout.String()
	ids, secrets, passwords := banner(out, "Application (client) ID"), banner(out, "Client secret"), banner(out, "Password")
	if len(ids) != 2 || len(secrets) != 1 || len(passwords) != 1 {
		t.Fatalf("banner lacks the demo credentials:\n%s", out)
	}
	webID, secret := ids[0], secrets[0]
	c := trustingClient(t, dataDir)
	tokenURL := srv.base + "/demo/oauth2/v2.0/token"
	o := testbrowser.New(t, c).SignIn(srv.base+"/demo/oauth2/v2.0/authorize?"+url.Values{"client_id": {webID}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:8080"}, "scope": {"openid offline_access"}}.Encode(), "demo", passwords[0])
	status, tokens := postForm(t, c, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {secret},
		"code": {o.Params.Get("code")}, "redirect_uri": {"http://localhost:8080"}}.Encode())
	if status != 200 {
		t.Fatalf("code redemption: %d %v", status, tokens)
	}
	rt := tokens["refresh_token"].(string)
	refresh := func() {
		t.Helper()
		status, r := postForm(t, c, tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {webID}, "client_secret": {secret},
			"refresh_token": {rt}}.Encode())
		if status != 200 {
			t.Fatalf("refresh: %d %v", status, r)
		}
		rt = r["refresh_token"].(string)
	}
	clientCredentials := func() {
		t.Helper()
		status, r := postForm(t, c, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {secret},
			"scope": {webID + "/.default"}}.Encode())
		if status != 200 {
			t.Fatalf("client credentials: %d %v", status, r)
		}
	}
	// Warm the read cache, and let the start-up work (the first
	// collection of expired rows) finish: the counter holds still.
	refresh()
	clientCredentials()
	for prev, deadline := trips(), time.Now().Add(30*time.Second); ; {
		time.Sleep(300 * time.Millisecond)
		now := trips()
		if now == prev {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store keeps making round trips with no request: %d then %d", prev, now)
		}
		prev = now
	}
	// Background work (the collector's next tick) could only add to a
	// measurement, so the least of three is the response's own cost.
	cost := func(fn func()) int64 {
		least := int64(-1)
		for range 3 {
			before := trips()
			fn()
			if n := trips() - before; least < 0 || n < least {
				least = n
			}
		}
		return least
	}
	if n := cost(refresh); n != 2 {
		t.Errorf("a refresh costs %d round trips, want 2: one read and one write transaction", n)
	}
	if n := cost(clientCredentials); n != 0 {
		t.Errorf("a client credentials response costs %d round trips, want 0: everything it needs is cached", n)
	}
}

// An instance on a PostgreSQL store whose master key comes from its data
// directory rather than TESSERA_MASTER_KEY starts (it may be the only
// one) but warns that every instance needs the same key.
func TestServeWarnsAboutKeyFileOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn, schema := pgSchema(t)
	unsetEnv(t, "TESSERA_MASTER_KEY")
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir, "--store", dsn, "--pg-schema", schema)
	log := srv.stderr.String()
	if !strings.Contains(log, "not TESSERA_MASTER_KEY") || !strings.Contains(log, filepath.Join(dataDir, masterKeyFile)) {
		t.Errorf("no warning about the key file:\n%s", log)
	}
	// With the key in the environment there is nothing to warn about.
	key, err := os.ReadFile(filepath.Join(dataDir, masterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TESSERA_MASTER_KEY", strings.TrimSpace(string(key)))
	srv = startServer(t, filepath.Join(t.TempDir(), "other"), "--store", dsn, "--pg-schema", schema)
	if log := srv.stderr.String(); strings.Contains(log, "not TESSERA_MASTER_KEY") {
		t.Errorf("warned although TESSERA_MASTER_KEY is set:\n%s", log)
	}
}
