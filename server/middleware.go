package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
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
		rid := reqIDs{trace: ids.New()}
		rid.correlation = rid.trace
		if c := r.Header.Get("client-request-id"); ids.IsUUID(c) {
			rid.correlation = c
			w.Header().Set("client-request-id", c)
		}
		w.Header().Set("X-Request-Id", rid.trace)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r = r.WithContext(context.WithValue(r.Context(), requestIDsKey{}, rid))
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
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Duration("duration", time.Since(start)), slog.String("trace_id", rid.trace))
		}()
		next.ServeHTTP(rec, r)
	})
}
