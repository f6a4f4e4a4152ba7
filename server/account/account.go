// Package account is the signed-in user's own page, /{tenant}/account:
// their profile, their password, their sessions and the apps they allowed
// to use their account. It is rendered on the server and usable without
// JavaScript.
//
// It signs users in as the portal does (package firstparty): as the
// tenant's built-in "My Account" app, a public client that asks for the
// OpenID Connect scopes only, through the tenant's own authorize endpoint
// with code and PKCE. What it keeps is sealed in cookies (the user, the
// SSO session they signed in with, a CSRF token), never in memory, so a
// sign-in may start on one instance, finish on another, and the next
// request land on a third. Every request checks, in the store, that the
// SSO session is still live and its user enabled (admin.Self): a sign-out
// or revocation anywhere ends the account page's session too.
//
// Forms post a CSRF token bound to the sealed session, the cookies are
// SameSite=Lax (another site's form post carries none), and a post whose
// Origin is another site's is refused outright. Changing the password and
// signing out other sessions need a sign-in of the last ten minutes
// (admin.RecentSignIn); an older one is sent through the authorize
// endpoint again with prompt=login.
package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/cookieseal"
	"github.com/tessera-id/tessera/internal/firstparty"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/ui"
	"github.com/tessera-id/tessera/token"
)

// KeyPurpose names the key, derived from the server's master key
// (token.MasterKey.Derive), that seals the account page's cookies. Every
// instance on one store shares the master key, so each opens what another
// sealed; changing the name signs every account page user out.
const KeyPurpose = "account-cookie-encryption"

const (
	purposeSess   = "session"
	purposePend   = "pending-sign-in"
	sessionCookie = "tessera_account"
	pendingCookie = "tessera_account_signin"
	// sessionTTL bounds an account page session whatever its SSO session
	// does: a day's use, then a new sign-in (silent while the SSO session
	// lives).
	sessionTTL = 12 * time.Hour
	// maxFormBody bounds a form post: the largest legitimate one is the
	// password form, far below this.
	maxFormBody = 16 << 10
	csrfField   = "csrf"
)

// Account serves the account page of every tenant.
type Account struct {
	provider *oauth.Provider
	admin    *admin.Admin
	pages    *ui.Pages
	log      *slog.Logger
	now      func() time.Time
	// publicURL is the origin the account app's redirect URIs are
	// registered under; "" leaves it unregistered (and the page unusable).
	publicURL string
	// secure marks the cookies Secure: the public URL is https.
	secure  bool
	cookies *cookieseal.Sealer
	// client signs users in as the account app, and out.
	client *firstparty.Client
}

// Config is what the account page needs from the server.
type Config struct {
	// PublicURL is the origin the account app's redirect URIs are
	// registered under; "" leaves the page unusable.
	PublicURL string
	// CookieKey seals the cookies: 32 bytes derived from the master key
	// for KeyPurpose, the same on every instance of a store.
	CookieKey []byte
	// SSOCookiePrefix + tenant id names a tenant's SSO session cookie.
	SSOCookiePrefix string
	// Pages renders the page, in the sign-in pages' look.
	Pages *ui.Pages
	// SignedOut shows the page that calls the ended session's
	// front-channel logout URLs, then continues to redirect: the
	// server's, so signing out here tells the same applications the
	// logout endpoint would.
	SignedOut func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, redirect string, notify []oauth.FrontChannelLogout)
	Logger    *slog.Logger
}

// New returns the account page over the protocol core (which signs users
// in and checks their passwords) and the admin core.
func New(p *oauth.Provider, a *admin.Admin, cfg Config) (*Account, error) {
	cookies, err := cookieseal.New(cfg.CookieKey, cookieseal.Labels{Key: "tessera account", AAD: "tessera account cookie v1"}, purposeSess, purposePend)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	if cfg.Pages == nil {
		return nil, errors.New("account: no pages to render")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	publicURL, secure := strings.TrimSuffix(cfg.PublicURL, "/"), strings.HasPrefix(cfg.PublicURL, "https://")
	client := &firstparty.Client{Name: "account", Provider: p, Admin: a, Log: log, PublicURL: publicURL,
		CallbackPath: "/account/callback", SignedOutPath: "/account/signedout", LookupApp: a.AccountApp, EnsureApp: a.EnsureAccountApp,
		Cookies: cookies, PendingPurpose: purposePend, PendingCookie: pendingCookie, Secure: secure,
		SSOCookiePrefix: cfg.SSOCookiePrefix, SignedOut: cfg.SignedOut}
	return &Account{provider: p, admin: a, pages: cfg.Pages, log: log, now: p.Now,
		publicURL: publicURL, secure: secure, cookies: cookies, client: client}, nil
}

// RegisterApps registers (or updates) the account app of every tenant.
func (a *Account) RegisterApps(ctx context.Context) error {
	return a.client.RegisterApps(ctx)
}

// sealedSession is a signed-in user of the account page, as the session
// cookie carries it. The tenant is in the additional data.
type sealedSession struct {
	UserID    string `json:"uid"`
	SessionID string `json:"sid"` // the SSO session signed in with
	CSRF      string `json:"csrf"`
	Expires   int64  `json:"exp"` // Unix seconds
}

// request is one request of a signed-in user.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	ep      oauth.Endpoint
	self    *admin.Self
	session sealedSession
	address string
	base    string // /{tenant}/account
}

// Serve answers a request whose path below /{tenant}/account is rest.
func (a *Account) Serve(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, rest, address string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// script-src 'self' is passkey.js, which runs the passkey
	// registration of Security info.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	base := "/" + ep.Tenant.Name + "/account"
	clean := "/" + rest
	if rest != "" && path.Clean(clean) != clean {
		a.message(w, r, http.StatusNotFound, "Page not found", "There is no such page.", base)
		return
	}
	rest = strings.Trim(rest, "/")
	switch rest {
	case "callback":
		if !a.method(w, r, base, http.MethodGet) {
			return
		}
		a.callback(w, r, ep, base)
		return
	case "signedout":
		if !a.method(w, r, base, http.MethodGet) {
			return
		}
		a.render(w, r, http.StatusOK, "account_message", ui.AccountMessage{Title: "You're signed out",
			Text: "You have signed out of this browser's session. Apps you used in it ask you to sign in again.", Link: base, LinkText: "Sign in again"})
		return
	case "", "reauth":
		if !a.method(w, r, base, http.MethodGet) {
			return
		}
	case "security/totp":
		// The page (GET) and its first code (POST).
		if r.Method != http.MethodPost && !a.method(w, r, base, http.MethodGet) {
			return
		}
	case "signout", "password", "sessions/signout", "apps/withdraw", "security/passkey", "security/remove", "security/recovery":
		if !a.method(w, r, base, http.MethodPost) {
			return
		}
	default:
		a.message(w, r, http.StatusNotFound, "Page not found", "There is no such page.", base)
		return
	}
	if r.Method == http.MethodPost && !a.sameOrigin(r) {
		a.message(w, r, http.StatusForbidden, "Request refused",
			"The form came from another site. Go to your account page and try again there.", base)
		return
	}
	if rest == "signout" {
		a.signOut(w, r, ep, base)
		return
	}
	s, ok := a.currentSession(r, ep)
	if !ok {
		a.startSignIn(w, r, ep, base, base, false)
		return
	}
	self, err := a.admin.Self(r.Context(), ep.Tenant, s.UserID, s.SessionID, address)
	if errors.Is(err, admin.ErrForbidden) {
		// The SSO session ended or the user was disabled: sign in again.
		a.dropSession(w, base)
		a.startSignIn(w, r, ep, base, base, false)
		return
	}
	if err != nil {
		a.log.ErrorContext(r.Context(), "account: open the session", "tenant", ep.Tenant.Name, "err", err)
		a.message(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on the server; it is logged. Try again.", base)
		return
	}
	q := &request{w: w, r: r, ep: ep, self: self, session: s, address: address, base: base}
	if r.Method == http.MethodPost && !a.readForm(q) {
		return
	}
	switch rest {
	case "":
		a.page(q, http.StatusOK, pageState{Notice: notices(r.URL.Query().Get("done"))})
	case "reauth":
		to := r.URL.Query().Get("to")
		returnTo := base
		switch to {
		case "password":
			returnTo += "#change-password"
		case "sessions":
			returnTo += "#sessions"
		case "security":
			returnTo += "#security-info"
		}
		a.startSignIn(w, r, ep, base, returnTo, true)
	case "password":
		a.changePassword(q)
	case "sessions/signout":
		a.signOutSessions(q)
	case "apps/withdraw":
		a.withdraw(q)
	case "security/totp":
		if r.Method == http.MethodPost {
			a.confirmTOTP(q)
		} else {
			a.totpPage(q)
		}
	case "security/passkey":
		a.addPasskey(q)
	case "security/remove":
		a.removeFactor(q)
	case "security/recovery":
		a.newRecoveryCodes(q)
	}
}

// method answers 405 with a page unless r uses m (GET allows HEAD).
func (a *Account) method(w http.ResponseWriter, r *http.Request, base, m string) bool {
	if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", m)
	a.message(w, r, http.StatusMethodNotAllowed, "Not allowed", "This page does not answer "+r.Method+" requests.", base)
	return false
}

// sameOrigin reports whether a form post came from a page of this server,
// as far as the browser says: a post that names another origin is
// refused before its cookies or fields are read. A browser that sends no
// Origin, or "null" (what Chromium sends from the pages' own forms, which
// are served with Referrer-Policy: no-referrer), is left to the CSRF
// token.
func (a *Account) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return true
	}
	if a.publicURL != "" {
		return origin == a.publicURL
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// readForm reads a post's form, bounded in size, and checks its CSRF token
// against the session's; on failure it has answered.
func (a *Account) readForm(q *request) bool {
	r := q.r
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		a.message(q.w, r, http.StatusUnsupportedMediaType, "Request refused", "The form could not be read.", q.base)
		return false
	}
	r.Body = http.MaxBytesReader(q.w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			a.message(q.w, r, http.StatusRequestEntityTooLarge, "Request refused", "The form is larger than any this page sends.", q.base)
			return false
		}
		a.message(q.w, r, http.StatusBadRequest, "Request refused", "The form could not be read.", q.base)
		return false
	}
	if got := r.PostForm.Get(csrfField); subtle.ConstantTimeCompare([]byte(got), []byte(q.session.CSRF)) != 1 {
		a.message(q.w, r, http.StatusForbidden, "Request refused",
			"The form is stale or did not come from your account page (its security token does not match). Go back, reload the page and try again.", q.base)
		return false
	}
	return true
}

// currentSession opens the browser's session cookie for this tenant, if
// it opens and has not expired. Whether its SSO session is still live is
// admin.Self's to tell.
func (a *Account) currentSession(r *http.Request, ep oauth.Endpoint) (sealedSession, bool) {
	var s sealedSession
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return s, false
	}
	if err := a.cookies.Open(purposeSess, ep.Tenant.ID, c.Value, &s); err != nil {
		if !errors.Is(err, cookieseal.ErrBadCookie) {
			a.log.WarnContext(r.Context(), "account: session cookie", "tenant", ep.Tenant.Name, "err", err)
		}
		return s, false
	}
	ok := s.UserID != "" && s.SessionID != "" && s.CSRF != "" && a.now().Before(time.Unix(s.Expires, 0))
	return s, ok
}

func (a *Account) dropSession(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: base, MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// startSignIn sends the browser to the tenant's authorize endpoint as the
// account app, with PKCE, to come back to returnTo. again asks for a
// fresh sign-in (prompt=login): the sensitive actions' recent sign-in.
func (a *Account) startSignIn(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base, returnTo string, again bool) {
	ctx := r.Context()
	app, err := a.client.App(ctx, ep.Tenant)
	if err != nil {
		a.log.WarnContext(ctx, "account: no account app", "tenant", ep.Tenant.Name, "err", err)
		a.message(w, r, http.StatusServiceUnavailable, "Account page unavailable",
			"The account page is not set up for this tenant: start the server with a public URL (--public-url, or --dev).", "")
		return
	}
	prompt := ""
	if again {
		prompt = "login"
	}
	authorize, err := a.client.StartSignIn(w, ep, app, base, "openid profile", returnTo, prompt)
	if err != nil {
		a.log.ErrorContext(ctx, "account: sign-in", "tenant", ep.Tenant.Name, "err", err)
		a.message(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on the server; it is logged. Try again.", "")
		return
	}
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, authorize, status)
}

// callback redeems the code the authorize endpoint sent back, in process,
// and starts a session under a new cookie, sealed afresh with a new CSRF
// token.
func (a *Account) callback(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base string) {
	ctx := r.Context()
	q := r.URL.Query()
	// A cookie that opens but does not decode is refused unlogged, like
	// any other that does not open.
	ps, ok, _ := a.client.Pending(r, ep, q.Get("state"))
	// The pending sign-in is spent whatever the outcome; its code is
	// single-use and PKCE ties any other code to another verifier.
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: base, MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	if !ok {
		a.message(w, r, http.StatusBadRequest, "Sign-in expired", "This sign-in is unknown, expired or was started in another browser.", base)
		return
	}
	if e := q.Get("error"); e != "" {
		a.message(w, r, http.StatusForbidden, "Sign-in failed", q.Get("error_description"), base)
		return
	}
	app, err := a.admin.AccountApp(ctx, ep.Tenant)
	if err != nil {
		a.message(w, r, http.StatusServiceUnavailable, "Sign-in failed", "The account page is not set up for this tenant.", "")
		return
	}
	resp, e := a.client.Redeem(ctx, ep, app, q.Get("code"), ps.Verifier)
	if e != nil {
		a.message(w, r, http.StatusBadRequest, "Sign-in failed", e.Description, base)
		return
	}
	var claims oauth.IDClaims
	if !firstparty.Claims(resp.IDToken, &claims) || claims.ObjectID == "" || claims.SessionID == "" || subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(ps.Nonce)) != 1 {
		a.log.ErrorContext(ctx, "account: the ID token names no user, no session (sid) or another nonce", "tenant", ep.Tenant.Name)
		a.message(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong on the server; it is logged. Try again.", base)
		return
	}
	s := sealedSession{UserID: claims.ObjectID, SessionID: claims.SessionID, CSRF: token.NewOpaque(), Expires: a.now().Add(sessionTTL).Unix()}
	value, err := a.cookies.Seal(purposeSess, ep.Tenant.ID, s)
	if err != nil {
		a.log.ErrorContext(ctx, "account: sign-in", "tenant", ep.Tenant.Name, "err", err)
		a.message(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong on the server; it is logged. Try again.", base)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: base, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(sessionTTL.Seconds())})
	returnTo := ps.ReturnTo
	if returnTo != base && !strings.HasPrefix(returnTo, base+"#") {
		returnTo = base
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// signOut ends the account page's session and the SSO session it was
// signed in with, on every instance (each request checks that session).
// The posted CSRF token is the user's confirmation, and the sealed cookie
// shows that this browser took part in that very session.
func (a *Account) signOut(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, base string) {
	ctx := r.Context()
	s, ok := a.currentSession(r, ep)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if !ok || subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(s.CSRF)) != 1 {
		a.message(w, r, http.StatusForbidden, "Request refused",
			"The form is stale or did not come from your account page (its security token does not match). Go back, reload the page and try again.", base)
		return
	}
	a.dropSession(w, base)
	if a.client.EndSSOSession(w, r, ep, s.SessionID, base+"/signedout") {
		return
	}
	// This browser's SSO session is another one, or none: the account
	// page's own session ends by its id, so a copy of its cookie is worth
	// nothing from now on.
	if e := a.provider.EndSessionByID(ctx, ep, s.SessionID); e != nil {
		a.log.WarnContext(ctx, "account: end the account page's session", "tenant", ep.Tenant.Name, "err", e)
	}
	http.Redirect(w, r, base+"/signedout", http.StatusSeeOther)
}
