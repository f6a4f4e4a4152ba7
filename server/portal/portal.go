// Package portal is the web portal, /{tenant}/portal/: the pages of the
// Entra portal's App registrations blade, rendered on the server, usable
// without JavaScript. It is an OpenID Connect client of its own server: it
// signs users in through the tenant's authorize endpoint with code and
// PKCE, as the tenant's built-in "Tessera Portal" app, keeps its access
// token sealed in a cookie (see cookies.go), and acts through the same
// admin core, authorized the same way, as the admin API. Pages decode
// forms, call admin and render.
//
// The portal keeps no state in memory: a sign-in may start on one
// instance and finish on another, the next request may land on a third,
// and a restart signs nobody out. Sign-out still reaches every instance:
// it ends the SSO session the token was issued in, and every request
// checks that session (authorize).
package portal

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/firstparty"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/token"
)

//go:embed templates/*.html
var templateFS embed.FS

const (
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
	// secure marks the portal's cookies Secure: the public URL is https,
	// whether TLS ends here or at a proxy in front.
	secure bool
	// cookies seals the session and pending sign-in cookies.
	cookies *sealer
	// client signs users in as the portal app, and out.
	client *firstparty.Client
}

// Config is what the portal needs from the server.
type Config struct {
	// PublicURL is the origin the portal's redirect URIs are registered
	// under; "" leaves the portal unusable.
	PublicURL string
	// DefaultTenant is served by the /oauth2/ aliases.
	DefaultTenant string
	// CookieKey seals the portal's cookies: 32 bytes derived from the
	// master key for KeyPurpose, the same on every instance of a store.
	CookieKey []byte
	// SSOCookiePrefix + tenant id names a tenant's SSO session cookie,
	// whose session sign-out ends.
	SSOCookiePrefix string
	// SignedOut shows the page that calls the ended session's
	// front-channel logout URLs, then continues to redirect: the
	// server's, so the portal's sign-out tells the same applications the
	// logout endpoint would.
	SignedOut func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, redirect string, notify []oauth.FrontChannelLogout)
	Logger    *slog.Logger
}

// session is a signed-in portal user of one tenant, opened from the
// session cookie.
type session struct {
	sealedSession
	username string // the user's name, read again on each request
}

// New returns the portal over the protocol core (which signs users in and
// verifies their tokens) and the admin core.
func New(p *oauth.Provider, a *admin.Admin, cfg Config) (*Portal, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"date":      func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"when":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"since":     func(t time.Time) bool { return !t.IsZero() },
		"platforms": platformSections,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("portal: parse templates: %w", err)
	}
	cookies, err := newSealer(cfg.CookieKey)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	secure := strings.HasPrefix(cfg.PublicURL, "https://")
	client := &firstparty.Client{Name: "portal", Provider: p, Admin: a, Log: log, PublicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		CallbackPath: "/portal/callback", SignedOutPath: "/portal/", LookupApp: a.PortalApp, EnsureApp: a.EnsurePortal,
		Cookies: cookies.s, PendingPurpose: purposePending, PendingCookie: pendingCookie, Secure: secure,
		SSOCookiePrefix: cfg.SSOCookiePrefix, SignedOut: cfg.SignedOut}
	return &Portal{provider: p, admin: a, log: log, pages: t, now: p.Now, defaultTenant: cfg.DefaultTenant,
		secure: secure, cookies: cookies, client: client}, nil
}

// RegisterApps registers (or updates) the portal app of every tenant.
func (p *Portal) RegisterApps(ctx context.Context) error {
	return p.client.RegisterApps(ctx)
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
			p.endSession(w)
			p.signIn(w, r, ep, base, rest)
			return
		}
		p.fail(q, err)
		return
	}
	q.admin = adm
	s.username = adm.Actor().Name
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			p.fail(q, invalidForm("The form could not be read."))
			return
		}
		if got := r.PostForm.Get(csrfField); subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
			p.fail(q, forbiddenForm("The form is stale or did not come from this portal (its security token does not match). Go back, reload the page and try again."))
			return
		}
	}
	if err := p.route(q, strings.Trim(rest, "/")); err != nil {
		p.fail(q, err)
	}
}

// authorize checks the session's token as the admin API checks a bearer
// token, and returns the admin core acting for its user. The check reads
// the store, not this instance's memory: the user must still be enabled
// and the SSO session named by the token's sid still live, so a sign-out
// or revocation on any instance ends the portal session here.
func (p *Portal) authorize(ctx context.Context, ep oauth.Endpoint, s *session, address string) (*admin.Admin, error) {
	api, err := p.admin.AdminAPI(ctx, ep.Tenant)
	if err != nil {
		return nil, err
	}
	c, e := p.provider.VerifyAPIToken(ctx, ep, s.AccessToken, api.ClientID)
	if e != nil {
		return nil, e
	}
	return p.admin.Authorize(ctx, ep.Tenant, admin.Caller{UserID: c.UserID, ClientID: c.ClientID, Scopes: c.Scopes, Address: address})
}

// currentSession is the browser's session for this tenant, if its cookie
// opens (sealed by an instance of this store, for this tenant, as a
// session) and has not expired. Whether its SSO session is still live is
// for authorize to tell.
func (p *Portal) currentSession(r *http.Request, ep oauth.Endpoint) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var s session
	if err := p.cookies.open(purposeSession, ep.Tenant.ID, c.Value, &s.sealedSession); err != nil {
		if !errors.Is(err, errBadCookie) {
			p.log.WarnContext(r.Context(), "portal: session cookie", "tenant", ep.Tenant.Name, "err", err)
		}
		return nil
	}
	if s.AccessToken == "" || s.SessionID == "" || s.CSRF == "" || !p.now().Before(unixTime(s.Expires)) {
		return nil
	}
	return &s
}

// signIn sends the browser to the tenant's authorize endpoint as the
// portal app, with PKCE; a request that was not a page view (a form post)
// comes back to the portal's landing page.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base, rest string) {
	ctx := r.Context()
	app, err := p.client.App(ctx, ep.Tenant)
	if err != nil {
		p.log.WarnContext(ctx, "portal: no portal app", "tenant", ep.Tenant.Name, "err", err)
		http.Error(w, "The portal is not set up for this tenant: start the server with a public URL (--public-url, or --dev).", http.StatusServiceUnavailable)
		return
	}
	returnTo := base + "/" + defaultLanding
	if r.Method == http.MethodGet && rest != "" {
		returnTo = base + "/" + rest
	}
	scopes := []string{"openid", "profile"}
	for _, perm := range admin.Permissions() {
		scopes = append(scopes, admin.AdminAPIIdentifier+"/"+perm)
	}
	authorize, err := p.client.StartSignIn(w, ep, app, base+"/", strings.Join(scopes, " "), returnTo, "")
	if err != nil {
		p.log.ErrorContext(ctx, "portal: sign-in", "tenant", ep.Tenant.Name, "err", err)
		http.Error(w, "Something went wrong on the server; it is logged. Try again.", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, authorize, http.StatusFound)
}

// callback redeems the code the authorize endpoint sent back, in process,
// and starts a session under a new cookie (a session fixed by someone else
// before sign-in is never used after it: the new value is sealed afresh).
func (p *Portal) callback(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base string) {
	ctx := r.Context()
	q := r.URL.Query()
	ps, ok, err := p.client.Pending(r, ep, q.Get("state"))
	if err != nil {
		p.log.WarnContext(ctx, "portal: pending sign-in cookie", "tenant", ep.Tenant.Name, "err", err)
	}
	// The pending sign-in is spent whatever the outcome. A copy of the
	// cookie replayed before it expires gains nothing: its code is spent
	// too, and PKCE ties any other code to another verifier.
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: base + "/", MaxAge: -1, HttpOnly: true, Secure: p.secure})
	if !ok {
		p.message(w, r, http.StatusBadRequest, "Sign-in expired", "This sign-in is unknown, expired or was started in another browser.", base+"/")
		return
	}
	if e := q.Get("error"); e != "" {
		p.message(w, r, http.StatusForbidden, "Sign-in failed", q.Get("error_description"), base+"/")
		return
	}
	app, err := p.admin.PortalApp(ctx, ep.Tenant)
	if err != nil {
		p.message(w, r, http.StatusServiceUnavailable, "Sign-in failed", "The portal is not set up for this tenant.", base+"/")
		return
	}
	resp, e := p.client.Redeem(ctx, ep, app, q.Get("code"), ps.Verifier)
	if e != nil {
		p.message(w, r, http.StatusBadRequest, "Sign-in failed", e.Description, base+"/")
		return
	}
	// The ID token is not kept: it would double the cookie, and sign-out
	// ends the SSO session in process instead of sending it as a hint.
	s := &session{sealedSession: sealedSession{AccessToken: resp.AccessToken, SessionID: tokenSessionID(resp.AccessToken),
		CSRF: token.NewOpaque(), Expires: p.now().Add(time.Duration(resp.ExpiresIn) * time.Second).Unix()}}
	var adm *admin.Admin
	if s.SessionID == "" {
		// Without it neither sign-out nor a revocation would reach the
		// session on other instances.
		err = errors.New("portal: the access token names no SSO session (sid)")
	} else if adm, err = p.authorize(ctx, ep, s, ""); err == nil {
		_, err = adm.RoleCatalogue()
	}
	if errors.Is(err, admin.ErrForbidden) {
		p.message(w, r, http.StatusForbidden, "You can't use the portal",
			"Your account holds no directory role that lets it read this tenant's directory. Ask a Global Administrator to assign you one.", "")
		return
	}
	var value string
	if err == nil {
		value, err = p.cookies.seal(purposeSession, ep.Tenant.ID, s.sealedSession)
	}
	if err != nil {
		p.log.ErrorContext(ctx, "portal: sign-in failed", "tenant", ep.Tenant.Name, "err", err)
		p.message(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong on the server; it is logged. Try again.", base+"/")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, ps.ReturnTo, http.StatusSeeOther)
}

// signOut ends the portal session and the SSO session it was signed in
// with. Ending the SSO session is what signs the portal out on every
// instance: the cookie is gone from this browser only, but each request
// checks that its SSO session is live (authorize).
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base string) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, base+"/", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	s := p.currentSession(r, ep)
	if s == nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(s.CSRF)) != 1 {
		http.Redirect(w, r, base+"/", http.StatusSeeOther)
		return
	}
	p.endSession(w)
	// The posted CSRF token is the user's confirmation.
	if p.client.EndSSOSession(w, r, ep, s.SessionID, base+"/") {
		return
	}
	// This browser's SSO session is another one, or none: the portal's own
	// session ends by its id, so a copy of the portal's cookie is worth
	// nothing from now on, and the logout endpoint asks the user about
	// the browser's current one.
	if e := p.provider.EndSessionByID(ctx, ep, s.SessionID); e != nil {
		p.log.WarnContext(ctx, "portal: end the portal's session", "tenant", ep.Tenant.Name, "err", e)
	}
	app, err := p.admin.PortalApp(ctx, ep.Tenant)
	if err != nil || len(app.PostLogoutRedirectURIs) == 0 {
		http.Redirect(w, r, base+"/", http.StatusSeeOther)
		return
	}
	v := url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {app.PostLogoutRedirectURIs[0]}}
	http.Redirect(w, r, "/"+ep.Tenant.Name+"/oauth2/v2.0/logout?"+v.Encode(), http.StatusSeeOther)
}

// endSession drops the browser's session cookie.
func (p *Portal) endSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secure})
}
