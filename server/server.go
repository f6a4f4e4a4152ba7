// Package server is the HTTP face of the authorization server: routes,
// middleware, decoding requests into oauth types and encoding what comes
// back. Protocol decisions live in package oauth.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/tracing"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/account"
	"github.com/tessera-id/tessera/server/api"
	"github.com/tessera-id/tessera/server/portal"
	"github.com/tessera-id/tessera/server/ui"
)

// Config is the HTTP layer's configuration.
type Config struct {
	// PublicURL is the origin clients reach the server at, e.g.
	// https://login.example.com; issuers are built from it. Empty means
	// "the origin of each request", which is only for local development:
	// behind a proxy or on a shared host, set it.
	PublicURL string
	// DefaultTenant is served by the /oauth2/authorize and /oauth2/token
	// aliases.
	DefaultTenant string
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed when the device page limits user-code attempts per client
	// address; empty, the peer's address counts.
	TrustedProxies TrustedProxies
	Logger         *slog.Logger
	// Admin, when set, serves the admin API at /{tenant}/api/v1/.
	Admin *admin.Admin
	// PortalKey seals the portal's cookies (needed with Admin): the master
	// key derived for portal.KeyPurpose, so that every instance on the
	// store reads the portal sessions of the others.
	PortalKey []byte
	// Metrics, when not nil, counts requests by route and token responses
	// by grant and error.
	Metrics *metrics.Metrics
	// Tracer, when not nil, traces each request (continuing a caller's
	// traceparent), and the request's trace id is the trace's.
	Tracer *tracing.Tracer
	// AccountKey seals the account page's cookies, as PortalKey the
	// portal's: the master key derived for account.KeyPurpose. Without it
	// (or without Admin) /{tenant}/account is not served.
	AccountKey []byte
	// Ready, when set, decides /readyz's answer; nil, it always says
	// ready.
	Ready *Readiness
}

// Server routes HTTP requests to the protocol core.
type Server struct {
	cfg      Config
	provider *oauth.Provider
	pages    *ui.Pages
	log      *slog.Logger
	handler  http.Handler
	// hostWarned is set once a Host header with "token" in it was warned
	// about, so that such requests cannot flood the log.
	hostWarned atomic.Bool
	// publicHSTS says whether responses carry HSTS when PublicURL is set
	// (see sendsHSTS).
	publicHSTS bool
	// api is the admin API and portal the web portal, nil when
	// Config.Admin is.
	api    *api.API
	portal *portal.Portal
	// account is the users' own account page, nil without Admin and
	// AccountKey.
	account *account.Account
}

// New builds the server's routes. It refuses a PublicURL that would break
// MSAL (see checkPublicURL).
func New(cfg Config, p *oauth.Provider) (*Server, error) {
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if err := checkPublicURL(cfg.PublicURL); err != nil {
		return nil, err
	}
	pages, err := ui.New()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, provider: p, pages: pages, log: log, publicHSTS: publicURLHSTS(cfg.PublicURL)}
	if cfg.Admin != nil {
		s.api = api.New(p, cfg.Admin, log)
		if s.portal, err = portal.New(p, cfg.Admin, portal.Config{PublicURL: cfg.PublicURL, DefaultTenant: cfg.DefaultTenant,
			CookieKey: cfg.PortalKey, SSOCookiePrefix: ssoCookiePrefix, SignedOut: s.signedOut, Logger: log}); err != nil {
			return nil, err
		}
		if len(cfg.AccountKey) > 0 {
			if s.account, err = account.New(p, cfg.Admin, account.Config{PublicURL: cfg.PublicURL, CookieKey: cfg.AccountKey,
				SSOCookiePrefix: ssoCookiePrefix, Pages: pages, SignedOut: s.signedOut, Logger: log}); err != nil {
				return nil, err
			}
		}
	}
	s.handler = s.middleware(s.routes())
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes registers every path. Patterns carry no method so that a wrong
// method gets a protocol error in JSON rather than the mux's plain text.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	tenant := func(h tenantHandler) http.Handler { return s.withTenant(h, s.writeError) }
	alias := func(h tenantHandler) http.Handler { return s.withDefaultTenant(h, s.writeError) }
	// Browsers reach these: an unknown tenant gets the error page there.
	page := func(h tenantHandler) http.Handler { return s.withTenant(h, s.tenantErrorPage) }
	aliasPage := func(h tenantHandler) http.Handler { return s.withDefaultTenant(h, s.tenantErrorPage) }

	mux.Handle("/{tenant}/v2.0/.well-known/openid-configuration", tenant(s.discovery))
	mux.Handle("/{tenant}/.well-known/openid-configuration", tenant(s.discovery))
	mux.Handle("/{tenant}/discovery/v2.0/keys", tenant(s.jwks))
	mux.Handle("/{tenant}/oauth2/v2.0/authorize", page(s.authorize))
	mux.Handle("/{tenant}/oauth2/v2.0/token", tenant(s.token))
	mux.Handle("/{tenant}/oauth2/v2.0/devicecode", tenant(s.deviceAuthorization))
	mux.Handle("/{tenant}/oauth2/v2.0/revoke", tenant(s.revoke))
	mux.Handle("/{tenant}/oauth2/v2.0/introspect", tenant(s.introspect))
	mux.Handle("/{tenant}/oauth2/v2.0/logout", page(s.logout))
	mux.Handle("/{tenant}/oidc/userinfo", tenant(s.userinfo))
	mux.Handle("/{tenant}/login", page(s.login))
	mux.Handle("/{tenant}/consent", page(s.consent))
	mux.Handle("/{tenant}/second_factor", page(s.secondFactor))
	mux.Handle("/{tenant}/login/passkey", page(s.passkeyLogin))
	mux.Handle("/{tenant}/enrol", page(s.enrol))
	mux.Handle("/{tenant}/recovery", page(s.recovery))
	mux.Handle("/{tenant}/device", page(s.device))
	mux.Handle("/{tenant}/api/v1/{rest...}", tenant(s.adminAPI))
	mux.Handle("/{tenant}/portal/{rest...}", page(s.portalPage))
	mux.Handle("/{tenant}/portal", page(func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
		http.Redirect(w, r, "/"+ep.Tenant.Name+"/portal/", http.StatusMovedPermanently)
	}))
	mux.Handle("/{tenant}/account", page(s.accountPage))
	mux.Handle("/{tenant}/account/{rest...}", page(s.accountPage))
	toDefaultPortal := aliasPage(func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
		http.Redirect(w, r, "/"+ep.Tenant.Name+"/portal/", http.StatusFound)
	})
	mux.Handle("/portal/{$}", toDefaultPortal)
	mux.Handle("/portal", toDefaultPortal)
	mux.Handle("/account", aliasPage(func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
		http.Redirect(w, r, "/"+ep.Tenant.Name+"/account", http.StatusFound)
	}))

	mux.Handle("/oauth2/authorize", aliasPage(s.authorize))
	mux.Handle("/oauth2/token", alias(s.token))
	mux.Handle("/oauth2/userinfo", alias(s.userinfo))
	// Seed 003's PHP example (League's GenericProvider) names the
	// userinfo URL with a capital I; paths are case-sensitive, so it
	// gets its own route.
	mux.Handle("/oauth2/userInfo", alias(s.userinfo))

	mux.Handle("/assets/tessera.css", http.StripPrefix("/assets/", staticHandler()))
	mux.Handle("/assets/portal.css", http.StripPrefix("/assets/", staticHandler()))
	mux.Handle("/assets/passkey.js", http.StripPrefix("/assets/", staticHandler()))
	mux.HandleFunc("/healthz", healthz)
	mux.HandleFunc("/readyz", s.readyz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, oauth.NotFound("No endpoint at this path. Tenant endpoints are under /{tenant}/, e.g. /{tenant}/v2.0/.well-known/openid-configuration."))
	})
	return mux
}

// portalPage hands a request below /{tenant}/portal/ to the portal.
func (s *Server) portalPage(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if s.portal == nil {
		s.tenantErrorPage(w, r, oauth.NotFound("The portal is not served by this server."))
		return
	}
	s.portal.Serve(w, r, ep, r.PathValue("rest"), s.clientAddress(r))
}

// accountPage hands a request for /{tenant}/account or below to the
// account page.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if s.account == nil {
		s.tenantErrorPage(w, r, oauth.NotFound("The account page is not served by this server."))
		return
	}
	s.account.Serve(w, r, ep, r.PathValue("rest"), s.clientAddress(r))
}

// RegisterBuiltInApps registers, in every tenant that lacks them, the
// admin API resource, the CLI's app and, when the server knows its public URL (the
// portal's redirect URIs are built from it), the portal's and the account
// page's apps.
func (s *Server) RegisterBuiltInApps(ctx context.Context) error {
	if s.cfg.Admin == nil {
		return nil
	}
	tenants, err := s.cfg.Admin.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		// The CLI's app brings the admin API's with it.
		if _, err := s.cfg.Admin.EnsureCLI(ctx, t); err != nil {
			return err
		}
	}
	if s.cfg.PublicURL == "" {
		return nil
	}
	if err := s.portal.RegisterApps(ctx); err != nil {
		return err
	}
	if s.account != nil {
		return s.account.RegisterApps(ctx)
	}
	return nil
}

// adminAPI hands a request below /{tenant}/api/v1/ to the admin API.
func (s *Server) adminAPI(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if s.api == nil {
		s.writeError(w, r, oauth.NotFound("The admin API is not served by this server."))
		return
	}
	s.api.Serve(w, r, ep, r.PathValue("rest"), s.clientAddress(r))
}

func staticHandler() http.Handler {
	files := http.FileServerFS(ui.Static())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// tenantHandler is a handler for a path under a tenant.
type tenantHandler func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint)

// failure answers a request that never reached its handler.
type failure func(w http.ResponseWriter, r *http.Request, e *oauth.Error)

func (s *Server) withTenant(h tenantHandler, fail failure) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, e := s.provider.Endpoint(r.Context(), s.baseURL(r), r.PathValue("tenant"))
		if e != nil {
			fail(w, r, e)
			return
		}
		ann := annotations(r.Context())
		ann.tenantID, ann.tenantName = ep.Tenant.ID, ep.Tenant.Name
		h(w, r, ep)
	})
}

func (s *Server) withDefaultTenant(h tenantHandler, fail failure) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.DefaultTenant == "" {
			fail(w, r, oauth.NotFound("No default tenant is configured; use /{tenant}/oauth2/v2.0/ endpoints."))
			return
		}
		ep, e := s.provider.Endpoint(r.Context(), s.baseURL(r), s.cfg.DefaultTenant)
		if e != nil {
			fail(w, r, e)
			return
		}
		ann := annotations(r.Context())
		ann.tenantID, ann.tenantName = ep.Tenant.ID, ep.Tenant.Name
		h(w, r, ep)
	})
}

// tenantErrorPage answers a browser page's unknown tenant as its other
// errors are answered: the error page for a browser, JSON for a script
// (errorPage). On the page it is a 404, for the page does not exist; the
// JSON keeps the 400 invalid_tenant that Entra's clients expect.
func (s *Server) tenantErrorPage(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	if e.Code == oauth.ErrInvalidTenant && acceptsHTML(r) {
		notFound := *e
		notFound.Status = http.StatusNotFound
		e = &notFound
	}
	s.errorPage(w, r, e)
}

// checkPublicURL refuses a public URL with "token" in it (in any case:
// host names are not case-sensitive, and a client may lower-case them).
// MSAL never reads device_authorization_endpoint: it derives the device
// code endpoint from the token endpoint, and MSAL Go does so by replacing
// every "token" in the URL with "devicecode". The tenant's token endpoint
// is {public URL}/{tenant}/oauth2/v2.0/token, so "token" may appear there
// only as its final segment: in https://tokens.example.com MSAL Go would
// post device code requests to https://devicecodes.example.com.
func checkPublicURL(publicURL string) error {
	if strings.Contains(strings.ToLower(publicURL), "token") {
		return fmt.Errorf("public URL %q contains \"token\": MSAL Go finds the device code endpoint by replacing every \"token\" in the token endpoint URL with \"devicecode\", so device code sign-in would break; serve Tessera under a host name and path without \"token\"", publicURL)
	}
	return nil
}

// baseURL is the public origin for issuers and links.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	if strings.Contains(strings.ToLower(r.Host), "token") && s.hostWarned.CompareAndSwap(false, true) {
		s.log.WarnContext(r.Context(), "the Host of a request contains \"token\": issuers and endpoints built from it break MSAL Go's device code flow, which replaces every \"token\" in the token endpoint URL; set a public URL without it (warned once)",
			"host", r.Host)
	}
	return scheme + "://" + r.Host
}

// allowMethods answers 405 in JSON unless r uses one of methods.
func (s *Server) allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	s.writeError(w, r, &oauth.Error{Code: oauth.ErrInvalidRequest, Status: http.StatusMethodNotAllowed, Number: oauth.CodeMalformedRequest,
		Description: "The method " + r.Method + " is not allowed here; use " + strings.Join(methods, " or ") + "."})
	return false
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodGet) {
		return
	}
	publicJSON(w, s.provider.Discovery(ep))
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodGet) {
		return
	}
	b, e := s.provider.JWKS(r.Context(), ep)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	setPublicCache(w)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// setPublicCache lets any CDN cache discovery and keys, for less time than
// a key is published before it signs, so no cache misses a new key.
func setPublicCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func publicJSON(w http.ResponseWriter, v any) {
	setPublicCache(w)
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// Said up front, so a response past net/http's 2 KiB buffer (a
	// refresh with access and ID token) is not sent chunked.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errorBody is RFC 6749 §5.2 plus the fields Entra ID clients read.
type errorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	SubError      string `json:"suberror,omitempty"`
}

// writeError renders a protocol error as JSON. Internal causes are logged
// here, once, and never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	s.writeErrorChallenge(w, r, e, `Basic realm="tessera", charset="UTF-8"`)
}

// writeErrorChallenge is writeError with the WWW-Authenticate challenge a
// 401 carries.
func (s *Server) writeErrorChallenge(w http.ResponseWriter, r *http.Request, e *oauth.Error, challenge string) {
	ids := requestIDs(r.Context())
	s.logError(r, e)
	body := errorBody{
		Error:         e.Code,
		Description:   e.Description,
		Timestamp:     time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		TraceID:       ids.trace,
		CorrelationID: ids.correlation,
		SubError:      e.SubError,
	}
	if e.Number != 0 {
		body.ErrorCodes = []int{e.Number}
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if status == http.StatusUnauthorized || (status == http.StatusForbidden && strings.HasPrefix(challenge, "Bearer")) {
		h.Set("WWW-Authenticate", challenge)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	writeJSON(w, status, body)
}

func (s *Server) logError(r *http.Request, e *oauth.Error) {
	if e.Cause != nil || e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "error", e.Code, "cause", e.Cause)
		return
	}
	s.log.DebugContext(r.Context(), "request refused", "path", r.URL.Path, "error", e.Code, "description", e.Description)
}
