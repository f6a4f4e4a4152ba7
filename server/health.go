package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// ReadyCheck is one condition /readyz requires: a store that answers, a
// master key that opens the signing keys. Check must be cheap and honour
// its context, which /readyz bounds.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Readiness answers /readyz: ready while every check passes and the
// process is not shutting down. A load balancer takes an instance out of
// rotation on a failure, so Drain, called first on SIGTERM, lets it stop
// sending new requests before the listener closes.
type Readiness struct {
	checks   []ReadyCheck
	timeout  time.Duration
	draining atomic.Bool
	log      *slog.Logger
}

// readyTimeout bounds all of /readyz's checks together: a store that does
// not answer within it is as good as down to a load balancer polling
// every few seconds.
const readyTimeout = 2 * time.Second

// NewReadiness returns a Readiness over checks; log (nil for none) gets
// the reason a check failed, which the response leaves out.
func NewReadiness(log *slog.Logger, checks ...ReadyCheck) *Readiness {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Readiness{checks: checks, timeout: readyTimeout, log: log}
}

// Drain makes /readyz fail from now on.
func (r *Readiness) Drain() { r.draining.Store(true) }

// failed returns the names of the conditions not met, nil when ready.
func (r *Readiness) failed(ctx context.Context) []string {
	if r.draining.Load() {
		return []string{"shutting down"}
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var failed []string
	for _, c := range r.checks {
		if err := c.Check(ctx); err != nil {
			r.log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
			failed = append(failed, c.Name)
		}
	}
	return failed
}

// healthz says the process is alive and serving HTTP: it does no I/O, so
// a liveness probe never restarts an instance for its database's sake.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz says whether this instance should get traffic: 200
// {"status":"ready"}, or 503 with the names of the failed checks (never
// their errors, which may name hosts or files).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var failed []string
	if s.cfg.Ready != nil {
		failed = s.cfg.Ready.failed(r.Context())
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
