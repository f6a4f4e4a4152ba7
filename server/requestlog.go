package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// requestLog is what the request line says beyond method, path and
// status: filled in by the handlers as they learn it (the tenant once it
// is resolved, the client once the form is parsed, the subject once a
// token is issued), so that nothing reads a body twice. It holds only
// identifiers: never a secret, code, token or password.
type requestLog struct {
	tenantID   string
	tenantName string
	clientID   string
	grantType  string
	objectID   string
}

type requestLogKey struct{}

// annotations returns the request's log annotations; a request that did
// not pass the middleware (a handler tested on its own) gets a throwaway.
func annotations(ctx context.Context) *requestLog {
	if l, ok := ctx.Value(requestLogKey{}).(*requestLog); ok {
		return l
	}
	return &requestLog{}
}

// maxLoggedID bounds an identifier copied from a request into the log, so
// that a client cannot write arbitrary amounts into it.
const maxLoggedID = 128

func loggedID(s string) string {
	if len(s) > maxLoggedID {
		return s[:maxLoggedID]
	}
	return s
}

// setClient records the client a request names, unless one is known.
func (l *requestLog) setClient(id string) {
	if l.clientID == "" {
		l.clientID = loggedID(id)
	}
}

// fromRequest records what the request line and headers name without
// reading the body: the query's client_id and the user of HTTP Basic
// client authentication (never its password).
func (l *requestLog) fromRequest(r *http.Request) {
	if strings.Contains(r.URL.RawQuery, "client_id") {
		if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
			l.setClient(q.Get("client_id"))
		}
	}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "Basic ") {
		if id, _, ok := r.BasicAuth(); ok {
			if u, err := url.QueryUnescape(id); err == nil {
				id = u
			}
			l.setClient(id)
		}
	}
}

// attrs are the annotations present, for the request line.
func (l *requestLog) attrs(attrs []slog.Attr) []slog.Attr {
	add := func(key, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(key, v))
		}
	}
	add("tenant", l.tenantName)
	add("tenant_id", l.tenantID)
	add("client_id", l.clientID)
	add("grant_type", l.grantType)
	add("oid", l.objectID)
	return attrs
}
