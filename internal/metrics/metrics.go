// Package metrics is what Tessera tells Prometheus: requests by route,
// token responses by grant and error, sign-in outcomes, refresh-token
// reuse (a security signal), store latency, conflicts and retries,
// signing-key age, rows collected, the password-check queue and the
// build. Labels are few and bounded: routes are the server's patterns,
// never paths; no user or client id is ever a label; tenants are one only
// when the operator allows it.
//
// A nil *Metrics records nothing and costs a nil check, so the token path
// pays nothing when metrics are off.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure what is exported.
type Options struct {
	// TenantLabel adds the tenant's name as a label where one is natural
	// (token responses, sign-ins, reuse, key age). Off, series stay few
	// however many tenants there are.
	TenantLabel bool
	// Version is the build's version, for tessera_build_info.
	Version string
	// Log receives the collectors' own failures (a key age that could
	// not be read).
	Log *slog.Logger
}

// Metrics holds Tessera's collectors in their own registry.
type Metrics struct {
	reg         *prometheus.Registry
	tenantLabel bool
	log         *slog.Logger

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	signIns      *prometheus.CounterVec
	reuse        *prometheus.CounterVec
	revoked      *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec
	storeRetries *prometheus.CounterVec
	storeConfl   *prometheus.CounterVec
	collected    prometheus.Counter
}

// New registers the collectors.
func New(o Options) *Metrics {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), tenantLabel: o.TenantLabel, log: o.Log}
	tenant := func(labels ...string) []string {
		if o.TenantLabel {
			return append(labels, "tenant")
		}
		return labels
	}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_http_requests_total", Help: "HTTP requests answered, by route pattern and status class.",
	}, []string{"route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tessera_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_token_responses_total", Help: "Token endpoint answers, by grant type and OAuth error code (\"none\" for tokens issued).",
	}, tenant("grant", "error"))
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_signins_total", Help: "Interactive sign-in attempts, by outcome: success, failure, throttled, locked, mfa_failure.",
	}, tenant("outcome"))
	m.reuse = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_refresh_token_reuse_total", Help: "Used refresh tokens presented again outside the retry grace: each revokes its family.",
	}, tenant())
	m.revoked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_refresh_families_revoked_total", Help: "Refresh token families revoked, by reason.",
	}, []string{"reason"})
	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tessera_store_operation_duration_seconds", Help: "Store round trips, by engine and kind: read, write (one statement) or tx (a transaction).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"engine", "kind"})
	m.storeRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_store_retries_total", Help: "Store operations run again after a transient conflict (deadlock, serialization failure, busy database).",
	}, []string{"engine"})
	m.storeConfl = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_store_conflicts_total", Help: "Store writes that lost a race (a row already there, or changed since it was read).",
	}, []string{"engine"})
	m.collected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tessera_rows_collected_total", Help: "Expired rows deleted by the collector.",
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tessera_build_info", Help: "The running build: always 1.",
	}, []string{"version", "goversion"})
	goVersion := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	build.WithLabelValues(o.Version, goVersion).Set(1)
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.tokens, m.signIns, m.reuse, m.revoked,
		m.storeLatency, m.storeRetries, m.storeConfl, m.collected, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)})
}

// Registry is where further collectors go (tests read it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// statusClass is a status code's class, "2xx" to "5xx".
func statusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status >= 300:
		return "3xx"
	case status >= 200:
		return "2xx"
	}
	return strconv.Itoa(status)
}

// Request records one answered request; route is the pattern that
// matched ("" for none: a 404).
func (m *Metrics) Request(route string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, statusClass(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
}

func (m *Metrics) labels(tenant string, labels ...string) []string {
	if m.tenantLabel {
		return append(labels, tenant)
	}
	return labels
}

// TokenResponse records a token endpoint answer: errCode is the OAuth
// error code, "" for tokens issued. An unknown grant type is counted as
// "other", so what clients send cannot make new series.
func (m *Metrics) TokenResponse(tenant, grant, errCode string) {
	if m == nil {
		return
	}
	if errCode == "" {
		errCode = "none"
	}
	m.tokens.WithLabelValues(m.labels(tenant, grantLabel(grant), errCode)...).Inc()
}

// grantLabel bounds the grant label to the grant types Tessera knows.
func grantLabel(grant string) string {
	switch grant {
	case "authorization_code", "refresh_token", "client_credentials", "password",
		"urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"urn:ietf:params:oauth:grant-type:token-exchange":
		return grant
	case "":
		return "missing"
	}
	return "other"
}

// Sign-in outcomes.
const (
	SignInSuccess    = "success"
	SignInFailure    = "failure"
	SignInThrottled  = "throttled"
	SignInLocked     = "locked"
	SignInMFAFailure = "mfa_failure"
)

// SignIn records an interactive sign-in attempt's outcome.
func (m *Metrics) SignIn(tenant, outcome string) {
	if m == nil {
		return
	}
	m.signIns.WithLabelValues(m.labels(tenant, outcome)...).Inc()
}

// RefreshReuse records a used refresh token presented again, which
// revokes its family.
func (m *Metrics) RefreshReuse(tenant string) {
	if m == nil {
		return
	}
	m.reuse.WithLabelValues(m.labels(tenant)...).Inc()
	m.revoked.WithLabelValues("reuse").Inc()
}

// FamiliesRevoked records refresh families revoked for reason (logout,
// user, consent, app…), n of them when known, else one event.
func (m *Metrics) FamiliesRevoked(reason string, n int) {
	if m == nil {
		return
	}
	m.revoked.WithLabelValues(reason).Add(float64(max(n, 1)))
}

// StoreOp records one store round trip.
func (m *Metrics) StoreOp(engine, kind string, took time.Duration) {
	if m == nil {
		return
	}
	m.storeLatency.WithLabelValues(engine, kind).Observe(took.Seconds())
}

// StoreRetry records a store operation tried again.
func (m *Metrics) StoreRetry(engine string) {
	if m == nil {
		return
	}
	m.storeRetries.WithLabelValues(engine).Inc()
}

// StoreConflict records a write that lost a race.
func (m *Metrics) StoreConflict(engine string) {
	if m == nil {
		return
	}
	m.storeConfl.WithLabelValues(engine).Inc()
}

// Collected records expired rows deleted.
func (m *Metrics) Collected(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.collected.Add(float64(n))
}

// PasswordQueue exports the password-check queue, read at each scrape:
// checks running, their limit, and sign-ins waiting for a slot.
func (m *Metrics) PasswordQueue(read func() (running, limit int, waiting int64)) {
	if m == nil {
		return
	}
	gauge := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, v)
	}
	m.reg.MustRegister(
		gauge("tessera_password_checks_running", "Password hashes being checked now.", func() float64 { r, _, _ := read(); return float64(r) }),
		gauge("tessera_password_checks_limit", "Password hashes checked at once at most (memory and CPU bound).", func() float64 { _, l, _ := read(); return float64(l) }),
		gauge("tessera_password_checks_waiting", "Sign-ins waiting for a password-check slot.", func() float64 { _, _, w := read(); return float64(w) }),
	)
}

// KeyAge is the age of one tenant's active signing key.
type KeyAge struct {
	Tenant string
	Age    time.Duration
}

// SigningKeyAges exports, at each scrape, the age of the active signing
// key: the oldest across tenants, and each tenant's when tenants are a
// label. read runs at scrape time with the scrape's context.
func (m *Metrics) SigningKeyAges(read func(ctx context.Context) ([]KeyAge, error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&keyAgeCollector{m: m, read: read,
		oldest: prometheus.NewDesc("tessera_signing_key_age_seconds_max",
			"Age of the oldest active signing key across tenants: rotation has stalled when it keeps growing.", nil, nil),
		tenant: prometheus.NewDesc("tessera_signing_key_age_seconds",
			"Age of a tenant's active signing key.", []string{"tenant"}, nil),
	})
}

type keyAgeCollector struct {
	m              *Metrics
	read           func(ctx context.Context) ([]KeyAge, error)
	oldest, tenant *prometheus.Desc
}

func (c *keyAgeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.oldest
	if c.m.tenantLabel {
		ch <- c.tenant
	}
}

func (c *keyAgeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ages, err := c.read(ctx)
	if err != nil {
		c.m.log.Warn("signing key ages not read for metrics", "err", err)
		return
	}
	var oldest time.Duration
	for _, a := range ages {
		oldest = max(oldest, a.Age)
		if c.m.tenantLabel {
			ch <- prometheus.MustNewConstMetric(c.tenant, prometheus.GaugeValue, a.Age.Seconds(), a.Tenant)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest.Seconds())
}
