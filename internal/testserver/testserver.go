// Package testserver runs a real Tessera authorization server in-process
// for tests of code that talks to it (the client library, interop
// helpers): real SQLite in a temp dir, real keys, real HTTPS.
package testserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/mysqltest"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server"
	"github.com/tessera-id/tessera/server/account"
	"github.com/tessera-id/tessera/server/portal"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/readcache"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// Clock is a settable time source shared by the server and the test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Server is a running Tessera with one tenant.
type Server struct {
	HTTP  *httptest.Server
	Store store.Store
	Admin *admin.Admin
	// Provider is the protocol core the server runs, for what a test
	// does as a page would (registering a passkey).
	Provider *oauth.Provider
	Clock    *Clock
	Tenant   store.Tenant
	// DataDir holds the SQLite database; "" when the store is PostgreSQL or
	// MySQL.
	DataDir string
	// masterKey is shared with the peers started over this server
	// (Options.Peer).
	masterKey token.MasterKey
}

// Start runs a server with a tenant named tenant.
func Start(t testing.TB, tenant string, cfg func(*oauth.Config)) *Server {
	t.Helper()
	return StartWith(t, Options{Tenant: tenant, Config: cfg})
}

// Options are what StartWith may vary.
type Options struct {
	Tenant string
	Config func(*oauth.Config)
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// Engine is "sqlite", "postgres" or "mysql"; empty follows
	// TESSERA_TEST_STORE. A test that names "postgres" or "mysql" is
	// skipped without TESSERA_TEST_POSTGRES or TESSERA_TEST_MYSQL.
	Engine string
	// TrustedProxies, as serve's --trusted-proxies: a test behind them
	// may pose as any client address with X-Forwarded-For.
	TrustedProxies string
	// Peer, when set, makes this server another instance of the peer's
	// deployment: the same store, master key, clock and tenant (Tenant
	// is ignored), as several `tessera serve` behind a load balancer.
	Peer *Server
	// PublicURL is the origin the server believes it is reached at; empty,
	// its own address. Instances behind one balancer share the
	// balancer's.
	PublicURL string
	// PublicHost, when set and PublicURL is not, is the host name of the
	// public URL, on the listener's port: https://PublicHost:PORT (a
	// passkey needs a domain name, not an address).
	PublicHost string
}

// StartWith runs a server as o says.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	tenant, cfg := o.Tenant, o.Config
	ctx := context.Background()
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1}
	var (
		st      store.Store
		dataDir string
		clock   *Clock
		mk      token.MasterKey
		adm     *admin.Admin
		ten     store.Tenant
		err     error
	)
	if o.Peer != nil {
		st, dataDir, clock, mk, ten = o.Peer.Store, o.Peer.DataDir, o.Peer.Clock, o.Peer.masterKey, o.Peer.Tenant
		tenant = ten.Name
		adm = admin.New(st, mk, clock.Now, cheap)
	} else {
		st, dataDir = openStore(t, o.Engine)
		clock = NewClock(time.Now().UTC().Truncate(time.Second))
		mk = token.NewMasterKey()
		adm = admin.New(st, mk, clock.Now, cheap)
		if ten, err = adm.CreateTenant(ctx, tenant, "RS256"); err != nil {
			t.Fatal(err)
		}
	}
	c := oauth.DefaultConfig()
	if cfg != nil {
		cfg(&c)
	}
	dummy, err := password.Hash("dummy-password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := oauth.New(c, oauth.Deps{Store: st, Keys: token.NewKeyring(st, mk, clock.Now), Successor: token.NewSuccessors(mk).Derive,
		State: token.NewStateSealer(mk), Factors: token.NewFactorSealer(mk),
		Now: clock.Now, DummyPasswordHash: dummy, Logger: log})
	proxies, err := server.ParseTrustedProxies(o.TrustedProxies)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	publicURL := o.PublicURL
	if publicURL == "" {
		publicURL = "https://" + srv.Listener.Addr().String()
		if o.PublicHost != "" {
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			publicURL = "https://" + net.JoinHostPort(o.PublicHost, port)
		}
	}
	h, err := server.New(server.Config{PublicURL: publicURL, DefaultTenant: tenant,
		TrustedProxies: proxies, Logger: log, Admin: adm, PortalKey: mk.Derive(portal.KeyPurpose),
		AccountKey: mk.Derive(account.KeyPurpose)}, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RegisterBuiltInApps(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &Server{HTTP: srv, Store: st, Admin: adm, Provider: p, Clock: clock, Tenant: ten, DataDir: dataDir, masterKey: mk}
}

// Authority is the tenant's authority URL.
func (s *Server) Authority() string { return s.HTTP.URL + "/" + s.Tenant.Name }

// Client is an HTTP client that trusts the server.
func (s *Server) Client() *http.Client { return s.HTTP.Client() }

// openStore opens SQLite in a temp dir or, when engine (or, without one,
// TESSERA_TEST_STORE) is "postgres" or "mysql", a fresh schema of
// TESSERA_TEST_POSTGRES or a fresh database on TESSERA_TEST_MYSQL, behind
// the read cache as serve runs it (readcache.Wrap), so the same suites run
// on every engine. It returns the SQLite database's directory, "" for the
// others.
func openStore(t testing.TB, engine string) (store.Store, string) {
	t.Helper()
	ctx := context.Background()
	if engine == "" {
		engine = os.Getenv("TESSERA_TEST_STORE")
	}
	var st store.Store
	var dir string
	switch engine {
	case "postgres":
		dsn := need(t, engine, "TESSERA_TEST_POSTGRES")
		schema := pgtest.Name("tessera_srv_")
		pgtest.DropOnCleanup(t, dsn, schema)
		pg, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		st = pg
	case "mysql":
		url := mysqltest.Database(t, need(t, engine, "TESSERA_TEST_MYSQL"), "tessera_srv_")
		my, err := sqlstore.OpenMySQL(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		st = my
	default:
		dir = t.TempDir()
		path := filepath.Join(dir, "tessera.db")
		if err := copyMigrated(ctx, path); err != nil {
			t.Fatal(err)
		}
		lite, err := sqlstore.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		st = lite
	}
	cctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() {
		cancel()
		st.Close()
	})
	// As serve runs it, but checking SQLite's version on every read, so
	// tests see every change at once.
	return readcache.Wrap(cctx, st, 30*time.Second, 0), dir
}

// need returns the test database of engine from env, and skips the test
// without one, or fails it when TESSERA_TEST_STORE asked for the engine.
func need(t testing.TB, engine, env string) string {
	t.Helper()
	v := os.Getenv(env)
	switch {
	case v == "" && os.Getenv("TESSERA_TEST_STORE") == engine:
		t.Fatalf("TESSERA_TEST_STORE=%s needs %s", engine, env)
	case v == "":
		t.Skipf("%s is not set: skipping the %s run", env, engine)
	}
	return v
}

// OpenStore opens a store as StartWith does (SQLite in a temp dir, or
// PostgreSQL or MySQL when TESSERA_TEST_STORE says so), for tests of the
// protocol core that need a real store but no HTTP server.
func OpenStore(t testing.TB) store.Store {
	t.Helper()
	st, _ := openStore(t, "")
	return st
}
