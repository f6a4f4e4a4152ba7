// Package portal is the web portal, /{tenant}/portal/: the pages of the
// Entra portal's App registrations blade, rendered on the server, usable
// without JavaScript. It is an OpenID Connect client of its own server: it
// signs users in through the tenant's authorize endpoint with code and
// PKCE, as the tenant's built-in "Tessera Portal" app, keeps the tokens in
// server memory, and acts through the same admin core, authorized the same
// way, as the admin API. Pages decode forms, call admin and render.
package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
)

//go:embed templates/*.html
var templateFS embed.FS

// Limits of the in-memory state: a flood of sign-in attempts or sessions
// evicts the oldest rather than growing without end.
const (
	maxSessions    = 10000
	maxPending     = 10000
	pendingTTL     = 10 * time.Minute
	sessionCookie  = "tessera_portal"
	pendingCookie  = "tessera_portal_signin"
	maxFormBody    = 256 << 10
	csrfField      = "csrf"
	defaultLanding = "apps"
)

// Portal serves the portal of every tenant.
type Portal struct {
	provider *oauth.Provider
	admin    *admin.Admin
	log      *slog.Logger
	pages    *template.Template
	now      func() time.Time
	// defaultTenant is served by the /oauth2/ aliases, which the Overview
	// lists for it.
	defaultTenant string
	// publicURL is the origin the portal's redirect URIs are registered
	// under; "" leaves the portal unregistered (and unusable).
	publicURL string
	// secure marks the portal's cookies Secure: the public URL is https,
	// whether TLS ends here or at a proxy in front.
	secure bool

	mu       sync.Mutex
	sessions map[string]*session
	pending  map[string]*pendingSignIn
}

// session is a signed-in portal user of one tenant: the access token the
// portal got for them, kept here and never sent to the browser.
type session struct {
	tenantID    string
	accessToken string
	idToken     string // the logout request's id_token_hint
	username    string
	csrf        string
	expires     time.Time
}

// pendingSignIn is a sign-in sent to the authorize endpoint, awaiting its
// code.
type pendingSignIn struct {
	tenantID string
	verifier string
	nonce    string
	returnTo string
	expires  time.Time
}

// New returns the portal over the protocol core (which signs users in and
// verifies their tokens) and the admin core.
func New(p *oauth.Provider, a *admin.Admin, publicURL, defaultTenant string, log *slog.Logger) (*Portal, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"since": func(t time.Time) bool { return !t.IsZero() },
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("portal: parse templates: %w", err)
	}
	return &Portal{provider: p, admin: a, log: log, pages: t, now: time.Now, defaultTenant: defaultTenant, publicURL: strings.TrimSuffix(publicURL, "/"),
		secure:   strings.HasPrefix(publicURL, "https://"),
		sessions: map[string]*session{}, pending: map[string]*pendingSignIn{}}, nil
}

// RegisterApps registers (or updates) the portal app of every tenant.
func (p *Portal) RegisterApps(ctx context.Context) error {
	tenants, err := p.admin.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if _, err := p.registerApp(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// registerApp registers the portal app of one tenant, under the server's
// public URL: never one taken from a request, whose Host a client
// chooses.
func (p *Portal) registerApp(ctx context.Context, t store.Tenant) (store.App, error) {
	if p.publicURL == "" {
		return store.App{}, errors.New("portal: the server has no public URL")
	}
	base := p.publicURL + "/" + t.Name + "/portal/"
	return p.admin.EnsurePortal(ctx, t, base+"callback", base)
}

// app is the tenant's portal app, registered now if the registration at
// start has not reached this tenant yet.
func (p *Portal) app(ctx context.Context, t store.Tenant) (store.App, error) {
	app, err := p.admin.PortalApp(ctx, t)
	if errors.Is(err, admin.ErrNotFound) {
		return p.registerApp(ctx, t)
	}
	return app, err
}

// request is one page request of a signed-in user.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	ep      oauth.Endpoint
	admin   *admin.Admin
	session *session
	base    string // /{tenant}/portal
}

// Serve answers a request whose path below /{tenant}/portal is rest.
func (p *Portal) Serve(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, rest, address string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	clean := "/" + rest
	if path.Clean(clean) != clean && clean != "/" {
		http.NotFound(w, r)
		return
	}
	base := "/" + ep.Tenant.Name + "/portal"
	switch clean {
	case "/callback":
		p.callback(w, r, ep, base)
		return
	case "/signout":
		p.signOut(w, r, ep, base)
		return
	}
	s := p.currentSession(r, ep)
	if s == nil {
		p.signIn(w, r, ep, base, rest)
		return
	}
	q := &request{w: w, r: r, ep: ep, session: s, base: base}
	adm, err := p.authorize(r.Context(), ep, s, address)
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) {
			// The token stopped working (expired, revoked, user disabled):
			// sign in again.
			p.endSession(w, r)
			p.signIn(w, r, ep, base, rest)
			return
		}
		p.fail(q, err)
		return
	}
	q.admin = adm
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			p.fail(q, invalidForm("The form could not be read."))
			return
		}
		if got := r.PostForm.Get(csrfField); subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
			p.fail(q, forbiddenForm("The form is stale or did not come from this portal (its security token does not match). Go back, reload the page and try again."))
			return
		}
	}
	if err := p.route(q, strings.Trim(rest, "/")); err != nil {
		p.fail(q, err)
	}
}

// authorize checks the session's token as the admin API checks a bearer
// token, and returns the admin core acting for its user.
func (p *Portal) authorize(ctx context.Context, ep oauth.Endpoint, s *session, address string) (*admin.Admin, error) {
	api, err := p.admin.AdminAPI(ctx, ep.Tenant)
	if err != nil {
		return nil, err
	}
	c, e := p.provider.VerifyAPIToken(ctx, ep, s.accessToken, api.ClientID)
	if e != nil {
		return nil, e
	}
	return p.admin.Authorize(ctx, ep.Tenant, admin.Caller{UserID: c.UserID, ClientID: c.ClientID, Scopes: c.Scopes, Address: address})
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("portal: %v", err)) // the system's random source failed
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// currentSession is the browser's session for this tenant, if it has a
// live one.
func (p *Portal) currentSession(r *http.Request, ep oauth.Endpoint) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sessions[c.Value]
	if s == nil || s.tenantID != ep.Tenant.ID || !p.now().Before(s.expires) {
		return nil
	}
	return s
}

// signIn sends the browser to the tenant's authorize endpoint as the
// portal app, with PKCE; a request that was not a page view (a form post)
// comes back to the portal's landing page.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base, rest string) {
	ctx := r.Context()
	app, err := p.app(ctx, ep.Tenant)
	if err != nil {
		p.log.WarnContext(ctx, "portal: no portal app", "tenant", ep.Tenant.Name, "err", err)
		http.Error(w, "The portal is not set up for this tenant: start the server with a public URL (--public-url, or --dev).", http.StatusServiceUnavailable)
		return
	}
	returnTo := base + "/" + defaultLanding
	if r.Method == http.MethodGet && rest != "" {
		returnTo = base + "/" + rest
	}
	ps := &pendingSignIn{tenantID: ep.Tenant.ID, verifier: randomString(), nonce: randomString(), returnTo: returnTo, expires: p.now().Add(pendingTTL)}
	state := randomString()
	p.mu.Lock()
	p.evict(p.now())
	p.pending[state] = ps
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: state, Path: base + "/", HttpOnly: true, Secure: p.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(pendingTTL.Seconds())})
	challenge := sha256.Sum256([]byte(ps.verifier))
	scopes := []string{"openid", "profile"}
	for _, perm := range admin.Permissions() {
		scopes = append(scopes, admin.AdminAPIIdentifier+"/"+perm)
	}
	v := url.Values{
		"client_id": {app.ClientID}, "response_type": {"code"}, "redirect_uri": {app.RedirectURIs[0]},
		"scope": {strings.Join(scopes, " ")}, "state": {state}, "nonce": {ps.nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(challenge[:])}, "code_challenge_method": {"S256"},
	}
	http.Redirect(w, r, "/"+ep.Tenant.Name+"/oauth2/v2.0/authorize?"+v.Encode(), http.StatusFound)
}

// callback redeems the code the authorize endpoint sent back, in process,
// and starts a session under a new cookie (a session id fixed by someone
// else before sign-in is never used after it).
func (p *Portal) callback(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base string) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(pendingCookie)
	p.mu.Lock()
	ps := p.pending[state]
	delete(p.pending, state)
	p.mu.Unlock()
	if err != nil || ps == nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 ||
		ps.tenantID != ep.Tenant.ID || !p.now().Before(ps.expires) {
		p.message(w, r, http.StatusBadRequest, "Sign-in expired", "This sign-in is unknown, expired or was started in another browser.", base+"/")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: base + "/", MaxAge: -1, HttpOnly: true, Secure: p.secure})
	if e := q.Get("error"); e != "" {
		p.message(w, r, http.StatusForbidden, "Sign-in failed", q.Get("error_description"), base+"/")
		return
	}
	app, err := p.admin.PortalApp(ctx, ep.Tenant)
	if err != nil {
		p.message(w, r, http.StatusServiceUnavailable, "Sign-in failed", "The portal is not set up for this tenant.", base+"/")
		return
	}
	params, e := oauth.ParseForm(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "client_id": {app.ClientID},
		"redirect_uri": {app.RedirectURIs[0]}, "code_verifier": {ps.verifier}}.Encode())
	var resp *oauth.TokenResponse
	if e == nil {
		resp, e = p.provider.Token(ctx, ep, oauth.TokenRequest{Params: params})
	}
	if e != nil {
		p.message(w, r, http.StatusBadRequest, "Sign-in failed", e.Description, base+"/")
		return
	}
	s := &session{tenantID: ep.Tenant.ID, accessToken: resp.AccessToken, idToken: resp.IDToken, csrf: randomString(),
		expires: p.now().Add(time.Duration(resp.ExpiresIn) * time.Second)}
	adm, err := p.authorize(ctx, ep, s, "")
	if err == nil {
		_, err = adm.RoleCatalogue()
	}
	if errors.Is(err, admin.ErrForbidden) {
		p.message(w, r, http.StatusForbidden, "You can't use the portal",
			"Your account holds no directory role that lets it read this tenant's directory. Ask a Global Administrator to assign you one.", "")
		return
	}
	if err != nil {
		p.log.ErrorContext(ctx, "portal: sign-in failed", "tenant", ep.Tenant.Name, "err", err)
		p.message(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong on the server; it is logged. Try again.", base+"/")
		return
	}
	s.username = adm.Actor().Name
	id := randomString()
	p.mu.Lock()
	p.evict(p.now())
	p.sessions[id] = s
	p.mu.Unlock()
	p.endSession(w, r)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, ps.returnTo, http.StatusSeeOther)
}

// signOut ends the portal session and then the tenant's SSO session.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base string) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, base+"/", http.StatusSeeOther)
		return
	}
	s := p.currentSession(r, ep)
	if s == nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(s.csrf)) != 1 {
		http.Redirect(w, r, base+"/", http.StatusSeeOther)
		return
	}
	p.endSession(w, r)
	app, err := p.admin.PortalApp(r.Context(), ep.Tenant)
	if err != nil || len(app.PostLogoutRedirectURIs) == 0 {
		http.Redirect(w, r, base+"/", http.StatusSeeOther)
		return
	}
	// The ID token shows the logout endpoint that the portal took part in
	// the session, so it signs out without asking again.
	v := url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {app.PostLogoutRedirectURIs[0]}, "id_token_hint": {s.idToken}}
	http.Redirect(w, r, "/"+ep.Tenant.Name+"/oauth2/v2.0/logout?"+v.Encode(), http.StatusSeeOther)
}

// endSession forgets the browser's session, if any, and its cookie.
func (p *Portal) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		p.mu.Lock()
		delete(p.sessions, c.Value)
		p.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secure})
}

// evict drops what has expired and, past the limits, the entries that
// expire first. The caller holds p.mu.
func (p *Portal) evict(now time.Time) {
	for k, s := range p.sessions {
		if !now.Before(s.expires) {
			delete(p.sessions, k)
		}
	}
	for k, ps := range p.pending {
		if !now.Before(ps.expires) {
			delete(p.pending, k)
		}
	}
	evictOldest(p.sessions, maxSessions, func(s *session) time.Time { return s.expires })
	evictOldest(p.pending, maxPending, func(ps *pendingSignIn) time.Time { return ps.expires })
}

// evictOldest deletes the entries of m that expire first until fewer than
// limit are left.
func evictOldest[T any](m map[string]T, limit int, expires func(T) time.Time) {
	for len(m) >= limit {
		oldest := ""
		for k, v := range m {
			if oldest == "" || expires(v).Before(expires(m[oldest])) {
				oldest = k
			}
		}
		delete(m, oldest)
	}
}
