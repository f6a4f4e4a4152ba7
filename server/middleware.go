package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/oauth"
)

type requestIDsKey struct{}

// reqIDs identify a request in errors and logs: trace is ours, correlation
// is the client's client-request-id when it sent a valid one (MSAL does),
// so both sides can find the same request.
type reqIDs struct {
	trace       string
	correlation string
}

func requestIDs(ctx context.Context) reqIDs {
	v, _ := ctx.Value(requestIDsKey{}).(reqIDs)
	return v
}

// statusRecorder remembers what the handler wrote, for the access log and
// so a panic after the header went out does not write a second one.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware adds request ids, recovers panics into a generic server_error
// (with the stack in the log only), sets headers every response needs and
// logs each request. It never logs query strings or bodies: they carry codes
// and secrets.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := reqIDs{}
		endSpan := func(int, string) {}
		if s.cfg.Tracer != nil {
			var ctx context.Context
			ctx, rid.trace, endSpan = s.cfg.Tracer.StartRequest(r)
			r = r.WithContext(ctx)
		} else {
			rid.trace = ids.New()
		}
		rid.correlation = rid.trace
		if c := r.Header.Get("client-request-id"); ids.IsUUID(c) {
			rid.correlation = c
			w.Header().Set("client-request-id", c)
		}
		w.Header().Set("X-Request-Id", rid.trace)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.sendsHSTS(r) {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		ann := &requestLog{}
		ann.fromRequest(r)
		ctx := context.WithValue(r.Context(), requestIDsKey{}, rid)
		r = r.WithContext(context.WithValue(ctx, requestLogKey{}, ann))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "trace_id", rid.trace, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, oauth.ServerError(fmt.Errorf("panic: %v", v)))
				}
			}
			took := time.Since(start)
			// r.Pattern is the route the mux matched: a bounded label,
			// where the path (with tenants and ids) would not be.
			s.cfg.Metrics.Request(r.Pattern, rec.status, took)
			endSpan(rec.status, r.Pattern)
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
				// Probes come every few seconds from every balancer.
				level = slog.LevelDebug
			}
			s.log.LogAttrs(r.Context(), level, "request", ann.attrs([]slog.Attr{
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Duration("duration", took), slog.String("trace_id", rid.trace)})...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// sendsHSTS reports whether r's response carries Strict-Transport-Security:
// only when the browser reached Tessera over HTTPS (directly, or through a
// TLS-terminating proxy when the public URL is https), as RFC 6797 §7.2
// requires, and only for a host name a browser keeps HSTS for. Loopback
// names are left out on purpose: a browser applies HSTS to every port of a
// host, so HSTS for localhost would turn the http://localhost redirect URIs
// of native clients (RFC 8252 §7.3) and of a dev setup into https ones that
// nothing answers. IP literals are ignored by browsers (RFC 6797 §8.1.1).
// No includeSubDomains: the sub-domains of Tessera's host are not
// Tessera's to decide for.
func (s *Server) sendsHSTS(r *http.Request) bool {
	if s.cfg.PublicURL != "" {
		return s.publicHSTS
	}
	return r.TLS != nil && hstsHost(r.Host)
}

// publicURLHSTS is sendsHSTS for every request when the public URL is set.
func publicURLHSTS(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err == nil && u.Scheme == "https" && hstsHost(u.Host)
}

// hstsHost reports whether a browser would keep HSTS for host (with or
// without port) without breaking loopback addresses.
func hstsHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" || net.ParseIP(host) != nil {
		return false
	}
	return host != "localhost" && !strings.HasSuffix(host, ".localhost")
}
