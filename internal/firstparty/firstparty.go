// Package firstparty is the OpenID Connect client side that Tessera's own
// web pages (the portal, the account page) share: each signs users in as
// a built-in app of the tenant, registered under the server's public URL,
// through the tenant's authorize endpoint with code, PKCE, state and
// nonce, and signs them out by ending the SSO session they signed in
// with.
//
// The pending half of a sign-in waits sealed in a cookie, never in
// memory, so a sign-in may start on one instance and finish on another.
// What a page's session holds, its session cookie, its pages and what
// follows a sign-in stay with the page: they differ.
package firstparty

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/cookieseal"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Client is one page's side of the flow. Its fields are set once, before
// the first request, and only read after.
type Client struct {
	// Name ("account", "portal") opens the client's errors and log lines,
	// as the page's own do.
	Name     string
	Provider *oauth.Provider
	Admin    *admin.Admin
	Log      *slog.Logger
	// PublicURL is the origin, without a trailing slash, the app's
	// redirect URIs are registered under; "" leaves the app unregistered
	// (and the page unusable).
	PublicURL string
	// CallbackPath and SignedOutPath, below /{tenant}, are the app's
	// redirect URI and post-logout redirect URI.
	CallbackPath, SignedOutPath string
	// LookupApp reads the tenant's built-in app; EnsureApp registers it,
	// or updates it to these URIs.
	LookupApp func(ctx context.Context, t store.Tenant) (store.App, error)
	EnsureApp func(ctx context.Context, t store.Tenant, redirectURI, postLogoutURI string) (store.App, error)
	// Cookies seals the pending sign-in, as PendingPurpose, into the
	// cookie named PendingCookie.
	Cookies        *cookieseal.Sealer
	PendingPurpose string
	PendingCookie  string
	// Secure marks the pending sign-in cookie Secure: the public URL is
	// https, whether TLS ends here or at a proxy in front.
	Secure bool
	// SSOCookiePrefix + tenant id names the tenant's SSO session cookie,
	// whose session sign-out ends.
	SSOCookiePrefix string
	// SignedOut shows the page that calls the ended session's
	// front-channel logout URLs, then continues to its redirect: signing
	// out of a page tells the same applications the logout endpoint
	// would. nil redirects at once.
	SignedOut func(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, redirect string, notify []oauth.FrontChannelLogout)
}

// PendingTTL is how long a sign-in may take at the authorize endpoint.
const PendingTTL = 10 * time.Minute

// Pending is a sign-in sent to the authorize endpoint, awaiting its code,
// as the pending sign-in cookie carries it. The tenant is in the sealed
// cookie's additional data, not here.
type Pending struct {
	State    string `json:"st"`
	Verifier string `json:"cv"`
	Nonce    string `json:"n"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"exp"` // Unix seconds
}

// RegisterApps registers (or updates) the app of every tenant.
func (c *Client) RegisterApps(ctx context.Context) error {
	tenants, err := c.Admin.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if _, err := c.registerApp(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// registerApp registers the app of one tenant under the server's public
// URL: never one taken from a request, whose Host a client chooses.
func (c *Client) registerApp(ctx context.Context, t store.Tenant) (store.App, error) {
	if c.PublicURL == "" {
		return store.App{}, errors.New(c.Name + ": the server has no public URL")
	}
	base := c.PublicURL + "/" + t.Name
	return c.EnsureApp(ctx, t, base+c.CallbackPath, base+c.SignedOutPath)
}

// App is the tenant's app, registered now if the registration at start
// has not reached this tenant yet (one created since).
func (c *Client) App(ctx context.Context, t store.Tenant) (store.App, error) {
	app, err := c.LookupApp(ctx, t)
	if errors.Is(err, admin.ErrNotFound) {
		return c.registerApp(ctx, t)
	}
	return app, err
}

// StartSignIn seals a new pending sign-in, to come back to returnTo, into
// its cookie under cookiePath, and returns the tenant's authorize URL to
// send the browser to as app, asking for scope with PKCE. prompt, unless
// "", is sent as the prompt parameter.
func (c *Client) StartSignIn(w http.ResponseWriter, ep oauth.Endpoint, app store.App, cookiePath, scope, returnTo, prompt string) (string, error) {
	ps := Pending{State: token.NewOpaque(), Verifier: token.NewOpaque(), Nonce: token.NewOpaque(), ReturnTo: returnTo,
		Expires: c.Provider.Now().Add(PendingTTL).Unix()}
	value, err := c.Cookies.Seal(c.PendingPurpose, ep.Tenant.ID, ps)
	if err != nil {
		// Unwrapped: cookieseal's errors name themselves, and the pages
		// log them as they always have.
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: c.PendingCookie, Value: value, Path: cookiePath, HttpOnly: true, Secure: c.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(PendingTTL.Seconds())})
	challenge := sha256.Sum256([]byte(ps.Verifier))
	v := url.Values{
		"client_id": {app.ClientID}, "response_type": {"code"}, "redirect_uri": {app.RedirectURIs[0]},
		"scope": {scope}, "state": {ps.State}, "nonce": {ps.Nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(challenge[:])}, "code_challenge_method": {"S256"},
	}
	if prompt != "" {
		v.Set("prompt", prompt)
	}
	return "/" + ep.Tenant.Name + "/oauth2/v2.0/authorize?" + v.Encode(), nil
}

// Pending opens the browser's pending sign-in cookie for this tenant and
// reports whether state is the one it was sent with, before it expired: a
// callback this browser did not start, or started for another tenant, is
// refused. err is a cookie that opened but did not decode (a change of
// format), which a page may log; one that does not open is just refused.
func (c *Client) Pending(r *http.Request, ep oauth.Endpoint, state string) (Pending, bool, error) {
	var ps Pending
	ck, err := r.Cookie(c.PendingCookie)
	if err != nil {
		return ps, false, nil
	}
	if err := c.Cookies.Open(c.PendingPurpose, ep.Tenant.ID, ck.Value, &ps); err != nil {
		if errors.Is(err, cookieseal.ErrBadCookie) {
			return ps, false, nil
		}
		return ps, false, err
	}
	ok := ps.State != "" && subtle.ConstantTimeCompare([]byte(ps.State), []byte(state)) == 1 &&
		c.Provider.Now().Before(time.Unix(ps.Expires, 0))
	return ps, ok, nil
}

// Redeem redeems code, which the authorize endpoint sent back for app,
// in process, with the pending sign-in's PKCE verifier.
func (c *Client) Redeem(ctx context.Context, ep oauth.Endpoint, app store.App, code, verifier string) (*oauth.TokenResponse, *oauth.Error) {
	params, e := oauth.ParseForm(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ClientID},
		"redirect_uri": {app.RedirectURIs[0]}, "code_verifier": {verifier}}.Encode())
	if e != nil {
		return nil, e
	}
	return c.Provider.Token(ctx, ep, oauth.TokenRequest{Params: params})
}

// EndSSOSession ends the browser's SSO session if it is sessionID, the
// one the page signed in with, and answers with redirect (through
// SignedOut where applications are to be told). The browser's SSO cookie
// finds the session, as at the logout endpoint; the page's own sealed
// cookie shows that the browser took part in that very session, which is
// what an id_token_hint would prove there. false: the browser's SSO
// session is another one, or none, or did not end; nothing is answered.
func (c *Client) EndSSOSession(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, sessionID, redirect string) bool {
	ctx := r.Context()
	ssoCookie := c.SSOCookiePrefix + ep.Tenant.ID
	var secret string
	if ck, err := r.Cookie(ssoCookie); err == nil {
		secret = ck.Value
	}
	lr, e := c.Provider.ParseLogout(ctx, ep, oauth.Params{}, secret)
	if e == nil && lr.Session != nil && subtle.ConstantTimeCompare([]byte(lr.Session.ID), []byte(sessionID)) == 1 {
		var notify []oauth.FrontChannelLogout
		if notify, e = c.Provider.EndSession(ctx, ep, lr); e == nil {
			http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
			if len(notify) > 0 && c.SignedOut != nil {
				c.SignedOut(w, r, ep, redirect, notify)
				return true
			}
			http.Redirect(w, r, redirect, http.StatusSeeOther)
			return true
		}
	}
	if e != nil {
		c.Log.WarnContext(ctx, c.Name+": end the SSO session", "tenant", ep.Tenant.Name, "err", e)
	}
	return false
}

// Claims reads the claims of a JWT the provider has just issued in
// process into v. The signature is not checked: the token never left
// this process.
func Claims(jwt string, v any) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	return json.Unmarshal(payload, v) == nil
}
