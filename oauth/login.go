package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	usernames "github.com/tessera-id/tessera/internal/username"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Pending is an authorization request waiting for the user, bound to the
// browser that started it: its id travels in URLs, so the binding cookie
// and the CSRF token are what make a forged form submission fail.
type Pending struct {
	ID        string
	CSRF      string
	Request   AuthorizeRequest
	UserID    string
	SessionID string
}

// pendingGone is shown when a sign-in page is used after its request
// expired, was finished, or from another browser.
func pendingGone() *Error {
	return newError(ErrInvalidRequest, http.StatusBadRequest, CodeMalformedRequest,
		"This sign-in request has expired or was started in another browser. Go back to the application and sign in again.")
}

// StartPending stores ar while the user signs in or consents. browser is
// the secret of the browser-binding cookie. user and sess are set when the
// user is already signed in and only consent is missing.
func (p *Provider) StartPending(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, browser string, sess *store.Session) (Pending, error) {
	raw, err := json.Marshal(ar)
	if err != nil {
		return Pending{}, fmt.Errorf("encode authorization request: %w", err)
	}
	now := p.now()
	r := store.AuthRequest{
		ID:          token.NewOpaque(),
		TenantID:    ep.Tenant.ID,
		ClientID:    ar.ClientID,
		Params:      raw,
		BrowserHash: token.Hash(browser),
		CSRF:        token.NewOpaque(),
		CreatedAt:   now,
		ExpiresAt:   now.Add(p.cfg.AuthRequestLifetime),
	}
	if sess != nil {
		r.UserID, r.SessionID, r.AuthTime = sess.UserID, sess.ID, sess.AuthTime
	}
	if err := p.store.CreateAuthRequest(ctx, r); err != nil {
		return Pending{}, fmt.Errorf("store authorization request: %w", err)
	}
	return Pending{ID: r.ID, CSRF: r.CSRF, Request: *ar, UserID: r.UserID, SessionID: r.SessionID}, nil
}

// LoadPending returns the pending request id if it is live and belongs to
// the browser. When csrf is not empty (a form submission) it must match.
func (p *Provider) LoadPending(ctx context.Context, ep Endpoint, id, browser, csrf string, checkCSRF bool) (Pending, *Error) {
	if id == "" || browser == "" {
		return Pending{}, pendingGone()
	}
	r, err := p.store.GetAuthRequest(ctx, ep.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Pending{}, pendingGone()
	}
	if err != nil {
		return Pending{}, ServerError(err)
	}
	if !p.now().Before(r.ExpiresAt) || !token.Equal(token.Hash(browser), r.BrowserHash) {
		return Pending{}, pendingGone()
	}
	if checkCSRF && subtle.ConstantTimeCompare([]byte(csrf), []byte(r.CSRF)) != 1 {
		return Pending{}, newError(ErrInvalidRequest, http.StatusForbidden, CodeMalformedRequest,
			"The form could not be verified. Reload the page and try again.")
	}
	var ar AuthorizeRequest
	if err := json.Unmarshal(r.Params, &ar); err != nil {
		return Pending{}, ServerError(fmt.Errorf("decode authorization request %s: %w", r.ID, err))
	}
	return Pending{ID: r.ID, CSRF: r.CSRF, Request: ar, UserID: r.UserID, SessionID: r.SessionID}, nil
}

// FinishPending forgets a pending request once answered.
func (p *Provider) FinishPending(ctx context.Context, ep Endpoint, id string) error {
	err := p.store.DeleteAuthRequest(ctx, ep.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// badCredentials is the one answer to any failed sign-in, so the page
// never tells whether a username exists or is disabled.
func badCredentials() *Error {
	return newError(ErrAccessDenied, http.StatusUnauthorized, 50126, "Incorrect username or password.")
}

// AuthenticateUser checks a username and password. Unknown and disabled
// users cost the same argon2id work as a wrong password.
func (p *Provider) AuthenticateUser(ctx context.Context, ep Endpoint, username, pw string) (store.User, *Error) {
	if username == "" || pw == "" || len(username) > 256 || len(pw) > password.MaxLen {
		return store.User{}, badCredentials()
	}
	// Usernames are stored in their PRECIS form (see internal/username), so
	// "ＡＬＩＣＥ" finds alice. A name PRECIS refuses cannot exist: it is
	// looked up as "", which no user has, so it gets the same answer after
	// the same work (one read, one hash) as any unknown name.
	lookup, nerr := usernames.Normalize(username)
	if nerr != nil {
		lookup = ""
	}
	user, err := p.store.GetUserByUsername(ctx, ep.Tenant.ID, lookup)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, ServerError(err)
	}
	hash := user.PasswordHash
	if err != nil || hash == "" {
		hash = p.dummyHash
	}
	select {
	case p.passwordSlots <- struct{}{}:
	case <-ctx.Done():
		return store.User{}, ServerError(ctx.Err())
	}
	ok, verr := password.Verify(pw, hash)
	// Each check's 7 MiB of argon2 memory is garbage the moment it returns,
	// but the collector, paced by a heap of a few MiB, lets several such
	// blocks pile up in a burst of sign-ins: the server's memory would be
	// set by sign-ins rather than by its live state. Collecting before the
	// next check may start costs about a millisecond against tens for the
	// hash, and keeps the peak at one block.
	runtime.GC()
	<-p.passwordSlots
	if verr != nil {
		p.log.WarnContext(ctx, "unreadable password hash", "tenant", ep.Tenant.ID, "user", user.ID, "err", verr)
	}
	if err != nil || !ok || verr != nil || user.Disabled {
		return store.User{}, badCredentials()
	}
	return user, nil
}

// StartSession creates an SSO session for user and returns the cookie
// secret (only its hash is stored) with the session.
func (p *Provider) StartSession(ctx context.Context, ep Endpoint, user store.User) (string, store.Session, error) {
	now := p.now()
	secret := token.NewOpaque()
	s := store.Session{
		ID:        ids.New(),
		Hash:      token.Hash(secret),
		TenantID:  ep.Tenant.ID,
		UserID:    user.ID,
		AuthTime:  now,
		CreatedAt: now,
		ExpiresAt: now.Add(p.cfg.SessionLifetime),
	}
	if err := p.store.CreateSession(ctx, s); err != nil {
		return "", store.Session{}, fmt.Errorf("create session: %w", err)
	}
	return secret, s, nil
}

// Session returns the live session behind a cookie secret, or nil.
func (p *Provider) Session(ctx context.Context, ep Endpoint, secret string) (*store.Session, error) {
	if secret == "" || len(secret) > 128 {
		return nil, nil
	}
	s, err := p.store.GetSession(ctx, ep.Tenant.ID, token.Hash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !p.now().Before(s.ExpiresAt) {
		return nil, nil
	}
	return &s, nil
}

// SignedIn records that the pending request's user signed in.
func (p *Provider) SignedIn(ctx context.Context, ep Endpoint, pending *Pending, sess store.Session) error {
	pending.UserID, pending.SessionID = sess.UserID, sess.ID
	return p.store.SetAuthRequestUser(ctx, ep.Tenant.ID, pending.ID, sess.UserID, sess.ID, sess.AuthTime)
}

// Consent records the user's consent to everything pending asks for and
// issues the code.
func (p *Provider) Consent(ctx context.Context, ep Endpoint, pending Pending, sess store.Session) (*AuthorizeResponse, *Error) {
	user, e := p.pendingUser(ctx, ep, pending, sess)
	if e != nil {
		return nil, e
	}
	ar := &pending.Request
	now := p.now()
	var rows []store.Consent
	for _, s := range ar.Grant.OIDCScopes {
		rows = append(rows, store.Consent{TenantID: ep.Tenant.ID, ClientID: ar.ClientID, PrincipalID: user.ID, Kind: store.KindScope, Value: s, CreatedAt: now})
	}
	for _, s := range ar.Grant.Scopes {
		rows = append(rows, store.Consent{TenantID: ep.Tenant.ID, ClientID: ar.ClientID, PrincipalID: user.ID, ResourceID: ar.Grant.ResourceID, Kind: store.KindScope, Value: s, CreatedAt: now})
	}
	if len(rows) > 0 {
		if err := p.store.AddConsents(ctx, rows); err != nil {
			return nil, ServerError(err)
		}
	}
	return p.Complete(ctx, ep, ar, user, sess)
}

// pendingUser checks that the session is the one that signed in for the
// pending request and that its user may still sign in.
func (p *Provider) pendingUser(ctx context.Context, ep Endpoint, pending Pending, sess store.Session) (store.User, *Error) {
	if pending.UserID == "" || pending.UserID != sess.UserID {
		return store.User{}, pendingGone()
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return store.User{}, badCredentials()
	}
	if err != nil {
		return store.User{}, ServerError(err)
	}
	return user, nil
}

// Deny answers a pending request whose user cancelled consent: the client
// gets access_denied, and a waiting device is told so when it polls.
func (p *Provider) Deny(ctx context.Context, ep Endpoint, pending Pending) *AuthorizeFailure {
	ar := &pending.Request
	denied := newError(ErrAccessDenied, http.StatusBadRequest, CodeUserCancelled, "The user declined to consent to the requested permissions.")
	if ar.DeviceCode != "" {
		resp, e := p.decideDevice(ctx, ep, ar, store.DeviceDecision{Status: store.DeviceDenied})
		if e != nil {
			return FailureFor(ep, ar, e)
		}
		return &AuthorizeFailure{Err: denied, Redirect: resp}
	}
	return FailureFor(ep, ar, denied)
}

// PermissionView is one line of the consent page.
type PermissionView struct {
	Scope       string
	Description string
}

// ConsentInfo is what the consent page shows.
type ConsentInfo struct {
	ClientName  string
	Username    string
	Permissions []PermissionView
}

// ConsentView describes what the pending request asks for: the client's
// name and each permission by name.
func (p *Provider) ConsentView(ctx context.Context, ep Endpoint, pending Pending) (ConsentInfo, *Error) {
	ar := pending.Request
	client, err := p.store.GetApp(ctx, ep.Tenant.ID, ar.ClientID)
	if err != nil {
		return ConsentInfo{}, ServerError(err)
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, pending.UserID)
	if err != nil {
		return ConsentInfo{}, ServerError(err)
	}
	info := ConsentInfo{ClientName: client.Name, Username: user.Username}
	if ar.Grant.ResourceID != "" {
		resource, err := p.store.GetApp(ctx, ep.Tenant.ID, ar.Grant.ResourceID)
		if err != nil {
			return ConsentInfo{}, ServerError(err)
		}
		for _, s := range ar.Grant.Scopes {
			info.Permissions = append(info.Permissions, PermissionView{Scope: s, Description: fmt.Sprintf("Access %s as you (%s)", resource.Name, s)})
		}
		if len(ar.Grant.Scopes) == 0 {
			info.Permissions = append(info.Permissions, PermissionView{Scope: ".default", Description: fmt.Sprintf("Access %s as you", resource.Name)})
		}
	}
	for _, s := range ar.Grant.OIDCScopes {
		info.Permissions = append(info.Permissions, PermissionView{Scope: s, Description: oidcScopeDescription(s)})
	}
	return info, nil
}

// ClientName is the display name of a client, for the sign-in page.
func (p *Provider) ClientName(ctx context.Context, ep Endpoint, clientID string) string {
	app, err := p.store.GetApp(ctx, ep.Tenant.ID, clientID)
	if err != nil {
		return clientID
	}
	return app.Name
}

func oidcScopeDescription(s string) string {
	switch s {
	case ScopeOpenID:
		return "Sign you in"
	case ScopeProfile:
		return "View your basic profile (name and username)"
	case ScopeEmail:
		return "View your email address"
	case ScopeOfflineAccess:
		return "Maintain access to data you have given it access to"
	}
	return s
}
