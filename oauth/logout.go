package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// LogoutRequest is a validated OpenID Connect RP-Initiated Logout 1.0
// request: what to end and where to go after.
type LogoutRequest struct {
	// Session is the browser's live SSO session, nil when it has none (then
	// there is nothing to end and nothing to ask).
	Session *store.Session
	// Username is the session's user, for the confirmation page.
	Username string
	// ClientName names the application that asked, when it is known.
	ClientName string
	// Confirmed is set when an id_token_hint of this tenant names the
	// session's user: the application proved it took part in the session,
	// so the user is not asked (§2). Without it anyone could sign users
	// out with a link, and revoke their refresh tokens with it.
	Confirmed bool
	// Redirect is the registered post_logout_redirect_uri with state, or ""
	// for Tessera's signed-out page.
	Redirect string
	// Carry are the request's parameters, to repeat in the confirmation
	// form so that the confirmed request is the same request.
	Carry []LogoutParam
}

// LogoutParam is one parameter of a logout request.
type LogoutParam struct{ Name, Value string }

// ParseLogout validates a logout request against the browser's session:
// id_token_hint, client_id and post_logout_redirect_uri must agree and the
// redirect be registered for the application, or nothing happens.
func (p *Provider) ParseLogout(ctx context.Context, ep Endpoint, params Params, sessionSecret string) (*LogoutRequest, *Error) {
	clientID := params.Get("client_id")
	var hinted *IDClaims
	if hint := params.Get("id_token_hint"); hint != "" {
		c, e := p.idTokenHint(ctx, ep, hint)
		if e != nil {
			return nil, e
		}
		if clientID != "" && clientID != c.Audience {
			return nil, invalidRequest(CodeMalformedRequest, "client_id does not match the audience of id_token_hint.")
		}
		clientID, hinted = c.Audience, &c
	}
	lr := &LogoutRequest{}
	// The RP-Initiated Logout parameters (§2) the confirmation form repeats.
	for _, name := range [...]string{"id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"} {
		if v := params.Get(name); v != "" {
			lr.Carry = append(lr.Carry, LogoutParam{name, v})
		}
	}
	var app *store.App
	if clientID != "" {
		a, err := p.store.GetApp(ctx, ep.Tenant.ID, clientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Without a redirect to check, an unknown (perhaps deleted)
			// application changes nothing: the user is asked as usual.
			if params.Get("post_logout_redirect_uri") != "" {
				return nil, invalidRequest(CodeAppNotFound, "Application '%s' was not found in the tenant.", truncate(clientID, 64))
			}
		case err != nil:
			return nil, ServerError(err)
		default:
			app, lr.ClientName = &a, a.Name
		}
	}
	if redirect := params.Get("post_logout_redirect_uri"); redirect != "" {
		if app == nil {
			return nil, invalidRequest(CodeMalformedRequest, "post_logout_redirect_uri needs id_token_hint or client_id to know the application.")
		}
		if !slices.Contains(app.PostLogoutRedirectURIs, redirect) {
			return nil, invalidRequest(CodeRedirectMismatch, "The post_logout_redirect_uri '%s' is not registered for application '%s'.", truncate(redirect, 300), app.ClientID)
		}
		u, err := url.Parse(redirect)
		if err != nil {
			return nil, ServerError(err)
		}
		if state := params.Get("state"); state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		lr.Redirect = u.String()
	}
	sess, err := p.session(ctx, ep, sessionSecret)
	if err != nil {
		return nil, ServerError(err)
	}
	if sess == nil {
		return lr, nil
	}
	lr.Session = sess
	// The hint must be of this very session: an ID token of an earlier one,
	// even the same user's, proves only that the application took part in
	// that one.
	lr.Confirmed = hinted != nil && hinted.Subject == sess.UserID && (hinted.SessionID == "" || hinted.SessionID == sess.ID)
	if user, err := p.store.GetUser(ctx, ep.Tenant.ID, sess.UserID); err == nil {
		lr.Username = user.Username
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, ServerError(err)
	}
	return lr, nil
}

// FrontChannelLogout is one app to tell that the session it took part in
// signed out: the page that follows loads URI in a hidden iframe (OpenID
// Connect Front-Channel Logout 1.0 §2). URI carries iss and sid, always,
// so the app can tell which of its sessions to end (§3).
type FrontChannelLogout struct {
	ClientID string
	URI      string
	// Origin is the URI's scheme, host and port, which the page must
	// allow to be framed.
	Origin string
}

// EndSession signs the browser's session out and revokes the refresh
// tokens that came from it, except for apps set to keep them
// (LogoutKeepsRefreshTokens). It returns the apps of the session to tell
// in the front channel.
func (p *Provider) EndSession(ctx context.Context, ep Endpoint, lr *LogoutRequest) ([]FrontChannelLogout, *Error) {
	if lr.Session == nil {
		return nil, nil
	}
	return p.endSession(ctx, ep, *lr.Session)
}

// EndSessionByID ends the session with the public id sid, as EndSession
// does, for a first-party app that holds the session's id but not the
// browser's cookie (the portal, whose sign-out may arrive from a browser
// whose SSO cookie is another session's). Ending a session that is gone
// already is not an error. There is no page to call the session's
// front-channel logout URLs from: that browser is not this one.
func (p *Provider) EndSessionByID(ctx context.Context, ep Endpoint, sid string) *Error {
	sess, err := p.store.GetSessionByID(ctx, ep.Tenant.ID, sid)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return ServerError(err)
	}
	_, e := p.endSession(ctx, ep, sess)
	return e
}

// LogoutCSRF is the anti-forgery token of the logout confirmation form:
// derived from the session cookie's secret, which a cross-site page can
// neither read nor guess, so only a page the server showed to this browser
// can confirm.
func LogoutCSRF(sessionSecret string) string {
	sum := sha256.Sum256([]byte("tessera logout confirmation\x00" + sessionSecret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CheckLogoutCSRF reports whether csrf is the logout form token of the
// session.
func CheckLogoutCSRF(sessionSecret, csrf string) bool {
	return sessionSecret != "" && subtle.ConstantTimeCompare([]byte(LogoutCSRF(sessionSecret)), []byte(csrf)) == 1
}

func (p *Provider) endSession(ctx context.Context, ep Endpoint, sess store.Session) ([]FrontChannelLogout, *Error) {
	if err := p.store.DeleteSession(ctx, ep.Tenant.ID, sess.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, ServerError(err)
	}
	apps, err := p.store.ListApps(ctx, ep.Tenant.ID)
	if err != nil {
		return nil, ServerError(err)
	}
	var keep []string
	var notify []FrontChannelLogout
	for _, a := range apps {
		if a.LogoutKeepsRefreshTokens {
			keep = append(keep, a.ClientID)
		}
		// The app's URI as it is now: one removed since sign-in is not
		// called.
		if a.FrontChannelLogoutURI != "" && slices.Contains(sess.FrontChannelClients, a.ClientID) {
			if f, ok := frontChannelLogout(ep, sess, a); ok {
				notify = append(notify, f)
			}
		}
	}
	if err := p.store.RevokeSessionRefreshFamilies(ctx, ep.Tenant.ID, sess.ID, keep, p.now()); err != nil {
		return nil, ServerError(err)
	}
	return notify, nil
}

// frontChannelLogout is the request that tells app that sess ended: its
// URI with iss and sid added to whatever query it was registered with.
// A URI that no longer parses (registered under older rules) is skipped.
func frontChannelLogout(ep Endpoint, sess store.Session, app store.App) (FrontChannelLogout, bool) {
	u, err := url.Parse(app.FrontChannelLogoutURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return FrontChannelLogout{}, false
	}
	add := url.Values{"iss": {ep.Issuer}, "sid": {sess.ID}}.Encode()
	if u.RawQuery != "" {
		add = u.RawQuery + "&" + add
	}
	u.RawQuery, u.Fragment = add, ""
	return FrontChannelLogout{ClientID: app.ClientID, URI: u.String(), Origin: u.Scheme + "://" + u.Host}, true
}

// idTokenHint verifies an ID token this tenant issued (expired ones are
// fine as hints) and returns its claims.
func (p *Provider) idTokenHint(ctx context.Context, ep Endpoint, hint string) (IDClaims, *Error) {
	bad := invalidRequest(CodeMalformedRequest, "id_token_hint is not an ID token issued by this tenant.")
	if len(hint) > MaxJWTLen {
		return IDClaims{}, bad
	}
	payload, err := p.keys.VerifyType(ctx, ep.Tenant.ID, hint, "JWT")
	if errors.Is(err, token.ErrInvalidToken) {
		return IDClaims{}, bad
	}
	if err != nil {
		return IDClaims{}, ServerError(err)
	}
	var c IDClaims
	if json.Unmarshal(payload, &c) != nil || !slices.Contains(ep.issuers(), c.Issuer) || c.Audience == "" {
		return IDClaims{}, bad
	}
	return c, nil
}
