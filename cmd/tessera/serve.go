package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/devtls"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/proccpu"
	"github.com/tessera-id/tessera/internal/tracing"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server"
	"github.com/tessera-id/tessera/server/account"
	"github.com/tessera-id/tessera/server/portal"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/readcache"
	"github.com/tessera-id/tessera/token"
)

type serveOptions struct {
	dev                bool
	addr               string
	publicURL          string
	defaultTenant      string
	tlsCert, tlsKey    string
	plainHTTP          bool
	newDemoCredentials bool
	logLevel           string
	logFormat          string
	refreshGrace       time.Duration
	pprofAddr          string
	trustedProxies     string
	skipIntegrity      bool
	integrityWithin    time.Duration
	auditRetention     string
	metricsAddr        string
	metricsTenants     bool
	shutdownTimeout    time.Duration
	drainDelay         time.Duration
	drainDelaySet      bool
}

func newServeCommand(g *globals) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authorization server",
		Long: `Run the authorization server.

With --dev it needs nothing else: it creates the data directory (SQLite
database, master key, a local CA and a TLS certificate for localhost),
serves HTTPS on 127.0.0.1:8443 and bootstraps a demo tenant, apps and user,
printing everything needed to get a first token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.drainDelaySet = cmd.Flags().Changed("drain-delay") || os.Getenv("TESSERA_DRAIN_DELAY") != ""
			for env, flag := range map[string]string{"TESSERA_DRAIN_DELAY": "drain-delay", "TESSERA_SHUTDOWN_TIMEOUT": "shutdown-timeout"} {
				if v := strings.TrimSpace(os.Getenv(env)); v != "" && !cmd.Flags().Changed(flag) {
					if _, err := time.ParseDuration(v); err != nil {
						return fmt.Errorf("%s %q: use a duration such as 5s", env, v)
					}
				}
			}
			return runServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.dev, "dev", false, "development mode: self-signed TLS and a demo tenant, app and user")
	f.StringVar(&o.addr, "addr", envOr("TESSERA_ADDR", "127.0.0.1:8443"), "listen address (env TESSERA_ADDR)")
	f.StringVar(&o.publicURL, "public-url", envOr("TESSERA_PUBLIC_URL", ""), "origin clients use, e.g. https://login.example.com (default: https://localhost:PORT for a loopback address)")
	f.StringVar(&o.defaultTenant, "default-tenant", envOr("TESSERA_DEFAULT_TENANT", ""), "tenant served by /oauth2/authorize and /oauth2/token (--dev: demo)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	f.BoolVar(&o.plainHTTP, "http", false, "serve plain HTTP, for use behind a TLS-terminating proxy only")
	f.BoolVar(&o.newDemoCredentials, "new-demo-credentials", false, "with --dev: issue and print a new demo client secret and user password")
	f.StringVar(&o.logLevel, "log-level", envOr("TESSERA_LOG_LEVEL", "info"), "debug, info, warn or error (env TESSERA_LOG_LEVEL)")
	f.StringVar(&o.logFormat, "log-format", envOr("TESSERA_LOG_FORMAT", ""), "json or text (env TESSERA_LOG_FORMAT; default json, text with --dev)")
	f.DurationVar(&o.refreshGrace, "refresh-grace", oauth.DefaultConfig().RefreshGrace, "window in which a retried refresh returns the same successor")
	f.StringVar(&o.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060); off by default")
	f.StringVar(&o.trustedProxies, "trusted-proxies", envOr("TESSERA_TRUSTED_PROXIES", ""), "load balancers or proxies whose X-Forwarded-For is believed: CIDR prefixes or addresses, comma-separated (env TESSERA_TRUSTED_PROXIES); the client is the rightmost address that is not one of them")
	f.BoolVar(&o.skipIntegrity, "skip-integrity-check", false, "start without SQLite's quick_check of the database")
	f.StringVar(&o.auditRetention, "audit-retention", envOr("TESSERA_AUDIT_RETENTION", "90d"), "how long audit and sign-in log entries are kept, e.g. 30d or 365d (env TESSERA_AUDIT_RETENTION)")
	f.StringVar(&o.metricsAddr, "metrics-addr", envOr("TESSERA_METRICS_ADDR", ""), "serve Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9464 (env TESSERA_METRICS_ADDR); off by default")
	f.BoolVar(&o.metricsTenants, "metrics-tenant-label", envOr("TESSERA_METRICS_TENANT_LABEL", "") == "true", "label token, sign-in and key metrics with the tenant's name (env TESSERA_METRICS_TENANT_LABEL=true); leave off with many tenants")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", envDuration("TESSERA_SHUTDOWN_TIMEOUT", 20*time.Second),
		"on SIGTERM, how long in-flight requests may take to finish before their connections are closed (env TESSERA_SHUTDOWN_TIMEOUT)")
	f.DurationVar(&o.drainDelay, "drain-delay", envDuration("TESSERA_DRAIN_DELAY", 5*time.Second),
		"on SIGTERM, how long /readyz fails while the server still serves, so load balancers stop sending requests before the listener closes (env TESSERA_DRAIN_DELAY; 0 with --dev unless set)")
	f.DurationVar(&o.integrityWithin, "integrity-check-timeout", defaultIntegrityCheck, "how long SQLite's quick_check of the database may run (it reads the whole file, while the server serves; 0 skips it)")
	return cmd
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// envDuration is the duration in environment variable name, or def when
// it is unset or does not parse (serve then refuses the bad value).
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(strings.TrimSpace(os.Getenv(name))); err == nil {
		return d
	}
	return def
}

func runServe(sigCtx context.Context, g *globals, o serveOptions) error {
	if o.dev && !o.drainDelaySet {
		o.drainDelay = 0
	}
	// sigCtx ends on SIGTERM or SIGINT; what serves requests runs on ctx,
	// which ends only once they have drained (see shutDown).
	ctx, cancelRun := context.WithCancel(context.WithoutCancel(sigCtx))
	defer cancelRun()
	logHandler, err := newLogHandler(g.streams.err, o.logFormat, o.logLevel, o.dev)
	if err != nil {
		return err
	}
	logger := slog.New(logHandler)

	if !o.dev && !o.plainHTTP && (o.tlsCert == "" || o.tlsKey == "") {
		return errors.New("serve needs --tls-cert and --tls-key, or --dev for a local development server, or --http behind a TLS-terminating proxy")
	}
	retention, err := admin.ParseLifetime(o.auditRetention)
	if err != nil {
		return fmt.Errorf("--audit-retention: %w", err)
	}
	proxies, err := server.ParseTrustedProxies(o.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	var m *metrics.Metrics
	if o.metricsAddr != "" {
		m = metrics.New(metrics.Options{TenantLabel: o.metricsTenants, Version: version(), Log: logger})
	}
	tracer, err := tracing.FromEnv(ctx, version())
	if err != nil {
		return err
	}
	if tracer != nil {
		logger.Info("tracing on: exporting spans over OTLP/HTTP as the OTEL_* variables say")
		defer func() {
			// Spans still batched go out before the process ends, within
			// a bound: a collector that is gone must not hold the exit.
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := tracer.Shutdown(flush); err != nil {
				logger.Warn("spans not exported at exit", "err", err)
			}
		}()
	}
	opening := openOptions{createDir: o.dev, devFiles: o.dev, integrityCheck: o.integrityWithin, deferIntegrity: true, log: logger, metrics: m}
	if o.skipIntegrity {
		opening.integrityCheck = 0
	}
	if g.isSQLite() && g.usesDataDir(opening) {
		if err := prepareDataDir(g.dataDir, opening.createDir, logger); err != nil {
			return err
		}
		release, err := lockDataDir(g.dataDir, false)
		if errors.Is(err, errServerRunning) {
			return fmt.Errorf("data directory %s: tessera restore is replacing its database; start again when it is done", g.dataDir)
		}
		if err != nil {
			return err
		}
		defer release()
	}
	e, err := g.open(sigCtx, opening)
	if err != nil {
		return err
	}
	defer e.Close()
	// What runs beside the server (cache refresh, collection) ends before
	// the store closes.
	defer cancelRun()
	e.operator = e.operator.WithAuditRetention(retention)
	if _, shared := e.store.(token.SharedStore); shared && e.keySource.file != "" {
		// The store refuses another key (checkMasterKey), but a key that
		// lives in one instance's data directory is easily lost or missing
		// on the next instance.
		logger.Warn("the master key comes from a file in this instance's data directory, not TESSERA_MASTER_KEY: "+
			"every instance and admin command on this shared store needs the same key; set TESSERA_MASTER_KEY on each",
			"file", e.keySource.file, "created", e.keySource.created)
	}

	var demo *admin.Demo
	if o.dev {
		files, err := devtls.Ensure(g.dataDir, devtls.DefaultHosts(), time.Now())
		if err != nil {
			return err
		}
		if o.tlsCert == "" {
			o.tlsCert, o.tlsKey = files.Cert, files.Key
		}
		d, err := e.operator.Bootstrap(ctx, o.newDemoCredentials)
		if err != nil {
			return fmt.Errorf("bootstrap demo tenant: %w", err)
		}
		demo = &d
		if o.defaultTenant == "" {
			o.defaultTenant = admin.DemoTenant
		}
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	scheme := "https"
	if o.plainHTTP {
		scheme = "http"
	}
	if o.publicURL == "" {
		o.publicURL = defaultPublicURL(scheme, ln.Addr())
	}
	if o.publicURL != "" {
		if u, err := url.Parse(o.publicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("--public-url %q: use an origin such as https://login.example.com", o.publicURL)
		}
	} else {
		logger.Warn("no --public-url: issuers follow each request's Host header; set it for anything but local use")
	}

	cfg := oauth.DefaultConfig()
	cfg.RefreshGrace = o.refreshGrace
	cfg.AuditRetention = retention
	// Directory reads (tenant, app, secrets, consents, user, keys) come
	// from memory: with a shared store flushed when its change feed says
	// any process changed the directory, so a token response costs one
	// write transaction; with SQLite checked against the directory version
	// every 10 ms, so a change the admin CLI makes from another process is
	// seen at once while a token request costs no directory read at all.
	st := readcache.Wrap(ctx, e.store, 30*time.Second, 10*time.Millisecond)
	keys := token.NewKeyring(st, e.masterKey, nil)
	if e.keySource.file != "" {
		// After tessera keys rotate-master, signing keys this process has
		// not opened yet open with the new key file (see docs/operations.md).
		path := e.keySource.file
		keys.ReloadMasterKey(func() (token.MasterKey, error) { return readKeyFile(path) })
	}
	provider := oauth.New(cfg, oauth.Deps{
		Store:             st,
		Keys:              keys,
		Successor:         token.NewSuccessors(e.masterKey).Derive,
		State:             token.NewStateSealer(e.masterKey),
		Factors:           token.NewFactorSealer(e.masterKey),
		Logger:            logger,
		DummyPasswordHash: password.Dummy(),
		Metrics:           m,
	})
	m.PasswordQueue(provider.PasswordChecks)
	m.SigningKeyAges(signingKeyAges(st))
	// The admin API writes through the cache, so this instance sees its
	// own changes at once.
	// What it does on its own (registering the built-in apps) is the
	// server's in the audit log; callers get their own actor (Authorize).
	apiAdmin := admin.New(st, e.masterKey, nil, password.Default()).As(admin.ServerActor()).WithAuditRetention(retention).WithLogger(logger)
	ready := server.NewReadiness(logger, readyChecks(e.store, st, keys)...)
	handler, err := server.New(server.Config{PublicURL: o.publicURL, DefaultTenant: o.defaultTenant, TrustedProxies: proxies,
		Logger: logger, Admin: apiAdmin, PortalKey: e.masterKey.Derive(portal.KeyPurpose),
		AccountKey: e.masterKey.Derive(account.KeyPurpose), Metrics: m, Tracer: tracer, Ready: ready}, provider)
	if err != nil {
		return err
	}
	// Beside start-up rather than before it: a store with many tenants
	// must not delay the first answer. It ends before the store closes.
	registerCtx, cancelRegister := context.WithCancel(ctx)
	registered := make(chan struct{})
	go func() {
		defer close(registered)
		if err := handler.RegisterBuiltInApps(registerCtx); err != nil && registerCtx.Err() == nil {
			logger.WarnContext(registerCtx, "the admin API or portal could not be registered in every tenant", "err", err)
		}
	}()
	defer func() {
		cancelRegister()
		<-registered
	}()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logHandler, slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}

	go collectGarbage(ctx, e.store, provider, logger)
	go func() {
		// A signing key sealed under another master key (one a server
		// made between tessera keys rotate-master and its restart, or a
		// store restored under the wrong key) fails only when it comes to
		// sign: say so at start instead.
		if err := opensEverySigningKey(ctx, e.store, e.masterKey); err != nil && ctx.Err() == nil {
			logger.Error("a signing key does not open under this master key; tokens of its tenant will fail once it signs (docs/operations.md, Master key rotation)",
				"err", err)
		}
	}()
	if o.pprofAddr != "" {
		if err := servePprof(ctx, o.pprofAddr, logger); err != nil {
			return err
		}
	}
	if m != nil {
		addr, err := serveMetrics(ctx, o.metricsAddr, m)
		if err != nil {
			return err
		}
		logger.Info("metrics listening", "addr", addr)
	}

	if demo != nil {
		printDemo(g.streams.out, g.dataDir, o.publicURL, *demo)
	}
	logger.Info("tessera listening", "addr", ln.Addr().String(), "public_url", o.publicURL, "data_dir", g.dataDir,
		"trusted_proxies", proxies.String())
	// SQLite's integrity check reads the whole file (seconds for a store of
	// a million users), so the server does not wait for it: it serves
	// meanwhile, and stops with the check's error if the file is damaged.
	stopCtx, stop := context.WithCancelCause(sigCtx)
	defer stop(nil)
	if c, ok := e.store.(integrityChecker); ok {
		go func() {
			if err := c.CheckIntegrity(ctx); err != nil && ctx.Err() == nil {
				logger.Error("the database failed its integrity check; stopping", "err", err)
				stop(err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() {
		if o.plainHTTP {
			errc <- srv.Serve(ln)
		} else {
			errc <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-stopCtx.Done():
	}
	err = shutDown(srv, ready, o, logger)
	if cause := context.Cause(stopCtx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// serveMetrics serves m at /metrics on its own listener, so the metrics
// never share a port with the public endpoints, and returns the address.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return ln.Addr().String(), nil
}

// signingKeyAges reads the age of each tenant's active signing key, for
// the metrics, through the read cache: a scrape costs no store read while
// the directory is unchanged.
func signingKeyAges(st store.Store) func(ctx context.Context) ([]metrics.KeyAge, error) {
	return func(ctx context.Context) ([]metrics.KeyAge, error) {
		now := time.Now()
		tenants, err := st.ListTenants(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		ages := make([]metrics.KeyAge, 0, len(tenants))
		for _, t := range tenants {
			keys, err := st.ListSigningKeys(ctx, t.ID, now)
			if err != nil {
				return nil, fmt.Errorf("list signing keys of %s: %w", t.Name, err)
			}
			for _, k := range keys {
				if k.Status == store.KeyActive {
					ages = append(ages, metrics.KeyAge{Tenant: t.Name, Age: now.Sub(k.CreatedAt)})
				}
			}
		}
		return ages, nil
	}
}

// shutDown stops the server the way a load balancer needs: /readyz fails
// first while everything still serves, for drainDelay, so that health
// checks take the instance out of rotation; then the listener closes and
// requests in flight get up to shutdownTimeout to finish; connections
// still open after that are closed. Each step is logged.
func shutDown(srv *http.Server, ready *server.Readiness, o serveOptions, log *slog.Logger) error {
	ready.Drain()
	// Responses from now on close their connections, so that clients
	// holding one open reconnect, through the balancer, elsewhere.
	srv.SetKeepAlivesEnabled(false)
	log.Info("shutting down: /readyz now fails", "drain_delay", o.drainDelay.String())
	if o.drainDelay > 0 {
		time.Sleep(o.drainDelay)
	}
	log.Info("closing the listener; waiting for requests in flight", "shutdown_timeout", o.shutdownTimeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("requests still in flight at the shutdown timeout; closing their connections", "err", err)
		_ = srv.Close()
		return nil
	}
	log.Info("requests drained; stopped")
	return nil
}

// readyChecks are /readyz's conditions: the store answers within the
// check's bound and carries this release's migrations (a cheap query on
// the store itself, not the cache), and the master key opens a signing key
// (through the server's keyring, which keeps what it opened, so this costs
// a cached listing once warm).
func readyChecks(raw store.Store, cached store.Store, keys *token.Keyring) []server.ReadyCheck {
	checks := []server.ReadyCheck{}
	if r, ok := raw.(interface{ Ready(context.Context) error }); ok {
		checks = append(checks, server.ReadyCheck{Name: "store", Check: r.Ready})
	}
	checks = append(checks, server.ReadyCheck{Name: "signing keys", Check: func(ctx context.Context) error {
		tenants, err := cached.ListTenants(ctx)
		if err != nil || len(tenants) == 0 {
			return err
		}
		_, err = keys.Signer(ctx, tenants[0].ID)
		if errors.Is(err, token.ErrNoActiveKey) {
			return nil
		}
		return err
	}})
	return checks
}

// integrityChecker is a store whose integrity check was put off until
// asked for (SQLite's, opened with a deferred check).
type integrityChecker interface {
	CheckIntegrity(ctx context.Context) error
}

// defaultPublicURL names a loopback listener https://localhost:PORT, the
// host the development certificate and MSAL's knownAuthorities use.
func defaultPublicURL(scheme string, addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return ""
	}
	return scheme + "://localhost:" + strconv.Itoa(tcp.Port)
}

// exclusive is a store that can run work on one process at a time.
type exclusive interface {
	Exclusive(ctx context.Context, name string, fn func(context.Context) error) (bool, error)
}

// collectGarbage deletes expired codes, sessions and tokens every minute,
// in batches sized to hold the store's writer briefly, so tables track live
// rows rather than history. The first pass waits a minute too: a start
// has its own work (SQLite's integrity check, caches filling) and expired
// rows harm nothing meanwhile. With a shared store (PostgreSQL, MySQL: an
// exclusive lock) one instance at a time does it.
func collectGarbage(ctx context.Context, st store.Store, p *oauth.Provider, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		log.Debug("collecting expired rows")
		var n int64
		// On SQLite a batch may shrink to a row: every row deleted holds
		// the one writer. A shared store's pass is round trips to a
		// server whose other writers go on meanwhile; there measured, a
		// batch under 20 rows only slowed the collector (61 rows/s).
		ex, shared := st.(exclusive)
		minBatch := 1
		if shared {
			minBatch = 20
		}
		run := func(ctx context.Context) (err error) {
			n, err = p.CollectGarbage(ctx, minBatch, 500)
			return err
		}
		var err error
		if shared {
			_, err = ex.Exclusive(ctx, "collect-expired", run)
		} else {
			err = run(ctx)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("collect expired rows", "err", err)
		} else if n > 0 {
			log.Debug("collected expired rows", "rows", n)
		}
	}
}

func printDemo(w io.Writer, dataDir, publicURL string, d admin.Demo) {
	authority := publicURL + "/" + d.Tenant.Name
	redirect := "http://localhost:8080"
	scope := d.WebApp.ClientID + "/.default"
	authorize := authority + "/oauth2/v2.0/authorize?client_id=" + d.WebApp.ClientID +
		"&response_type=code&redirect_uri=" + url.QueryEscape(redirect) + "&response_mode=query&scope=" + url.QueryEscape(scope) + "&state=12345&sso_reload=true"
	secret := d.Secret
	if secret == "" {
		secret = "<shown on first start; run with --new-demo-credentials for a new one>"
	}
	pw := d.Password
	if pw == "" {
		pw = "<shown on first start; run with --new-demo-credentials for a new one>"
	}
	adminPW := d.AdminPassword
	if adminPW == "" {
		adminPW = "<shown on first start; run with --new-demo-credentials for a new one>"
	}
	fmt.Fprintf(w, `
Tessera development server
  Data directory:   %[1]s   (trust %[1]s/ca.pem: curl --cacert, NODE_EXTRA_CA_CERTS)
  Authority:        %[2]s
  Discovery:        %[2]s/v2.0/.well-known/openid-configuration
  Token endpoint:   %[2]s/oauth2/v2.0/token

Tenant "%[3]s"
  Directory (tenant) ID:    %[4]s

Confidential app "%[5]s"
  Application (client) ID:  %[6]s
  Client secret:            %[7]s
  Redirect URI:             %[8]s

Public app "%[9]s"
  Application (client) ID:  %[10]s
  Redirect URIs:            %[11]s (any port on localhost)

User
  Username:                 %[12]s
  Password:                 %[13]s
  Account page:             %[15]s/account

Portal: App registrations and more, for %[16]s, a Global Administrator of %[3]s
  Portal URL:               %[15]s/portal/
  Administrator:            %[16]s
  Administrator password:   %[17]s

Get a token:
  1. Open this URL in a browser (it warns about the certificate: see below) and sign in as %[12]s:
     %[14]s
  2. The browser lands on %[8]s/?code=...; copy the code, then run:
     curl --cacert %[1]s/ca.pem -X POST -H "Content-Type: application/x-www-form-urlencoded" \
       -d 'client_id=%[6]s&scope=%[6]s%%2f.default openid profile offline_access&code=PASTE_CODE&redirect_uri=http%%3A%%2F%%2Flocalhost%%3a8080&grant_type=authorization_code&client_secret=%[7]s' \
       '%[2]s/oauth2/v2.0/token'
  3. Refresh with the answer's refresh_token (it rotates: use the newest each time):
     curl --cacert %[1]s/ca.pem -X POST -H "Content-Type: application/x-www-form-urlencoded" \
       -d 'client_id=%[6]s&grant_type=refresh_token&refresh_token=PASTE_REFRESH_TOKEN&client_secret=%[7]s' \
       '%[2]s/oauth2/v2.0/token'

Browsers warn about the certificate until they trust %[1]s/ca.pem, a CA made on this
machine: import it into the system or browser trust store (README, "Trust the CA").

`, dataDir, authority, d.Tenant.Name, d.Tenant.ID, d.WebApp.Name, d.WebApp.ClientID, secret, redirect,
		d.NativeApp.Name, d.NativeApp.ClientID, strings.Join(d.NativeApp.RedirectURIs, ", "), d.User.Username, pw, authorize,
		authority, d.Admin.Username, adminPW)
}

// servePprof exposes the Go profiler on a separate listener that only
// accepts loopback addresses: profiles reveal internals. /debug/process
// reports the process's CPU time so far, which a load generator on the
// same machine reads around its load to tell the server's CPU per request
// from its own.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-addr %q: only loopback addresses are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/process", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		v := map[string]any{}
		if cpu, ok := proccpu.Used(); ok {
			v["cpu_seconds"] = cpu.Seconds()
		}
		_ = json.NewEncoder(w).Encode(v)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}
