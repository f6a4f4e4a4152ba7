package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	usernames "github.com/tessera-id/tessera/internal/username"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Pending is an authorization request waiting for the user. It is kept by
// the browser, not the server: sealed (encrypted and authenticated) into
// the sign-in and consent pages' URLs and forms, bound to the browser that
// started it. Storing it would let anyone grow the database with anonymous
// authorization requests; sealed, a request costs a row only when a user
// signs in.
type Pending struct {
	// ID names this sign-in request, unique and unguessable, for what
	// counts attempts per request.
	ID string
	// Ref is the sealed request, to put in the pages' URLs and forms.
	Ref       string
	CSRF      string
	Request   AuthorizeRequest
	UserID    string
	SessionID string
}

// sealedPending is what Pending.Ref carries. The browser binding (a hash
// of the binding cookie's secret) and the CSRF token make a forged form
// submission fail: the cookie is HttpOnly, and a page of another site can
// read neither the cookie nor this page.
type sealedPending struct {
	ID        string           `json:"id"`
	Browser   []byte           `json:"b"`
	CSRF      string           `json:"c"`
	Expires   int64            `json:"e"` // Unix seconds
	UserID    string           `json:"u,omitempty"`
	SessionID string           `json:"s,omitempty"`
	Request   AuthorizeRequest `json:"r"`
}

// maxPendingRef bounds a sealed request presented to the pages before it is
// decoded: the largest authorization request Tessera accepts seals to far
// less.
const maxPendingRef = 48 << 10

// pendingLabel binds a sealed request to its purpose and tenant, so it does
// not open under another tenant's pages.
func pendingLabel(ep Endpoint) string { return "tessera pending sign-in v1\x00" + ep.Tenant.ID }

// pendingGone is shown when a sign-in page is used after its request
// expired, was finished, or from another browser.
func pendingGone() *Error {
	return newError(ErrInvalidRequest, http.StatusBadRequest, CodeMalformedRequest,
		"This sign-in request has expired or was started in another browser. Go back to the application and sign in again.")
}

// StartPending seals ar while the user signs in or consents. browser is
// the secret of the browser-binding cookie. sess is set when the user is
// already signed in and only consent is missing.
func (p *Provider) StartPending(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, browser string, sess *store.Session) (Pending, error) {
	sp := sealedPending{
		ID:      token.NewOpaque(),
		Browser: token.Hash(browser),
		CSRF:    token.NewOpaque(),
		Expires: p.now().Add(p.cfg.AuthRequestLifetime).Unix(),
		Request: *ar,
	}
	if sess != nil {
		sp.UserID, sp.SessionID = sess.UserID, sess.ID
	}
	return p.sealPending(ep, sp)
}

func (p *Provider) sealPending(ep Endpoint, sp sealedPending) (Pending, error) {
	raw, err := json.Marshal(sp)
	if err != nil {
		return Pending{}, fmt.Errorf("encode authorization request: %w", err)
	}
	return Pending{ID: sp.ID, Ref: p.state.Seal(pendingLabel(ep), raw), CSRF: sp.CSRF, Request: sp.Request,
		UserID: sp.UserID, SessionID: sp.SessionID}, nil
}

// LoadPending opens a sealed pending request if it is live and belongs to
// the browser. When checkCSRF is set (a form submission) csrf must match.
func (p *Provider) LoadPending(ctx context.Context, ep Endpoint, ref, browser, csrf string, checkCSRF bool) (Pending, *Error) {
	if ref == "" || browser == "" || len(ref) > maxPendingRef {
		return Pending{}, pendingGone()
	}
	raw, err := p.state.Open(pendingLabel(ep), ref)
	if err != nil {
		return Pending{}, pendingGone()
	}
	var sp sealedPending
	if err := json.Unmarshal(raw, &sp); err != nil {
		return Pending{}, ServerError(fmt.Errorf("decode sealed authorization request: %w", err))
	}
	if !p.now().Before(time.Unix(sp.Expires, 0)) || !token.Equal(token.Hash(browser), sp.Browser) {
		return Pending{}, pendingGone()
	}
	if checkCSRF && subtle.ConstantTimeCompare([]byte(csrf), []byte(sp.CSRF)) != 1 {
		return Pending{}, newError(ErrInvalidRequest, http.StatusForbidden, CodeMalformedRequest,
			"The form could not be verified. Reload the page and try again.")
	}
	return Pending{ID: sp.ID, Ref: ref, CSRF: sp.CSRF, Request: sp.Request, UserID: sp.UserID, SessionID: sp.SessionID}, nil
}

// badCredentials is the one answer to any failed sign-in, so the page
// never tells whether a username exists or is disabled.
func badCredentials() *Error {
	return newError(ErrAccessDenied, http.StatusUnauthorized, CodeBadCredentials, "Incorrect username or password.")
}

// accountLocked is the answer for a locked account, whether the password
// was right or not (it is not checked), and for an unknown username locked
// the same way: it says nothing about the account but that it is locked.
func accountLocked() *Error {
	return newError(ErrAccessDenied, http.StatusTooManyRequests, CodeLocked,
		"Your account is temporarily locked to prevent unauthorized use. Try again later.")
}

func addressThrottled() *Error {
	return newError(ErrAccessDenied, http.StatusTooManyRequests, CodeLocked,
		"Too many failed sign-ins came from your network. Try again later.")
}

// signInStopped ends a pending request: the page must not offer the form
// again, since every further try would be refused.
func signInStopped() *Error {
	e := newError(ErrAccessDenied, http.StatusTooManyRequests, CodeLocked,
		"The sign-in was stopped after too many attempts. Go back to the application and sign in again.")
	e.endsSignIn = true
	return e
}

// Reasons a sign-in is refused, as logged.
const (
	reasonBadCredentials  = "bad_credentials"
	reasonAccountLocked   = "account_locked"
	reasonAddressLocked   = "address_throttled"
	reasonRequestExceeded = "request_attempts_exceeded"
)

// SignIn is one submission of the sign-in form.
type SignIn struct {
	// Pending is the id of the pending request the form belongs to: its
	// tries are counted by it, whatever stores the request itself.
	Pending  string
	Username string
	Password string
	Address  string // the client's IP address
}

// Throttle keys, per tenant. The account key is the username as typed, in
// the PRECIS form the store compares usernames in (lookup), so that every
// spelling of one account counts against it and an unknown username is
// counted, locked and answered exactly like a known one. A name PRECIS
// refuses (no account can have it) is keyed on its lower-cased self rather
// than on one bucket shared by all such names, which one guesser could
// lock for everyone who mistypes. The key is hashed, so that what people
// type into the username field (now and then a password) is not kept in
// the clear.
func accountKey(typed, lookup string) string {
	if lookup == "" {
		lookup = "\x00" + strings.ToLower(typed)
	}
	return "user:" + base64.RawURLEncoding.EncodeToString(token.Hash(lookup))
}

func addressKey(address string) string { return "addr:" + addressBucket(address) }

func requestKey(pendingID string) string { return "req:" + pendingID }

// AuthenticateUser checks a username and password, under the tenant's
// lockout policy: a pending request that has used up its tries, a locked
// source address and a locked account are refused without checking the
// password, so the right password gives nothing during a lockout. Unknown
// and disabled users cost the same argon2id work as a wrong password and
// are counted like one. Every refusal is logged once ("sign-in refused").
func (p *Provider) AuthenticateUser(ctx context.Context, ep Endpoint, in SignIn) (store.User, *Error) {
	refuse := func(user store.User, reason string, e *Error, locked string) (store.User, *Error) {
		attrs := []slog.Attr{slog.String("tenant", ep.Tenant.ID), slog.String("address", in.Address), slog.String("reason", reason)}
		if user.ID != "" {
			attrs = append(attrs, slog.String("user", user.ID))
		}
		level := slog.LevelInfo
		if locked != "" {
			attrs = append(attrs, slog.String("locked", locked))
		}
		if reason != reasonBadCredentials || locked != "" {
			level = slog.LevelWarn
		}
		p.log.LogAttrs(ctx, level, "sign-in refused", attrs...)
		return store.User{}, e
	}
	if in.Username == "" || in.Password == "" || len(in.Username) > 256 || len(in.Password) > password.MaxLen {
		return refuse(store.User{}, reasonBadCredentials, badCredentials(), "")
	}
	// Usernames are stored in their PRECIS form (see internal/username), so
	// "ＡＬＩＣＥ" finds alice. A name PRECIS refuses cannot exist: it is
	// looked up as "", which no user has, so it gets the same answer after
	// the same work (one read, one hash) as any unknown name.
	lookup, nerr := usernames.Normalize(in.Username)
	if nerr != nil {
		lookup = ""
	}
	user, err := p.store.GetUserByUsername(ctx, ep.Tenant.ID, lookup)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, ServerError(err)
	}
	known := err == nil

	pol := p.signInPolicies(ep.Tenant)
	now := p.now()
	// The three keys an attempt counts under, in the order their locks are
	// reported: a stopped request first (the page then offers no form),
	// then the account, then the address.
	const request, account, address = 0, 1, 2
	keys := []counted{
		request: {pol: pol.request, key: requestKey(in.Pending), reason: reasonRequestExceeded, locked: signInStopped, what: "request"},
		account: {pol: pol.account, key: accountKey(in.Username, lookup), reason: reasonAccountLocked, locked: accountLocked, what: "account"},
		address: {pol: pol.address, key: addressKey(in.Address), reason: reasonAddressLocked, locked: addressThrottled, what: "address"},
	}
	// A key already locked is refused on a read alone: a flood against a
	// locked account or from a locked address writes nothing.
	for i := range keys {
		t, e := p.throttle(ctx, ep.Tenant.ID, keys[i].key)
		if e != nil {
			return store.User{}, e
		}
		if _, locked := keys[i].pol.Locked(t, now); locked {
			return refuse(user, keys[i].reason, keys[i].locked(), "")
		}
		keys[i].prev = t
	}
	// The attempt is counted as a failure on every key before its password
	// is checked, and the count taken back if it was right. Counting after
	// the check let any number of attempts sent at once pass the lock
	// checks together, each before the others' failures were stored: of
	// attempts sent at once, now no more are checked than the limits allow.
	for i := range keys {
		prev, next, locked, e := p.reserve(ctx, keys[i].pol, keys[i].prev, now)
		if e != nil {
			p.release(ctx, keys[:i])
			return store.User{}, e
		}
		if locked {
			p.release(ctx, keys[:i])
			return refuse(user, keys[i].reason, keys[i].locked(), "")
		}
		keys[i].prev, keys[i].next = prev, next
	}

	hash := user.PasswordHash
	if !known || hash == "" {
		hash = p.dummyHash
	}
	select {
	case p.passwordSlots <- struct{}{}:
	case <-ctx.Done():
		p.release(ctx, keys)
		return store.User{}, ServerError(ctx.Err())
	}
	ok, verr := password.Verify(in.Password, hash)
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
	if known && ok && verr == nil && !user.Disabled {
		// Success forgets the account's failures. Not the address's: one
		// account the guesser owns must not reset a spray's count; only
		// this attempt's own count is taken back there. The request is
		// signed in and asks for no more passwords.
		if err := p.store.DeleteThrottle(ctx, ep.Tenant.ID, keys[account].key); err != nil {
			return store.User{}, ServerError(err)
		}
		p.release(ctx, keys[address:])
		return user, nil
	}
	// The answer says the worst of what this failure brought about.
	for _, k := range keys {
		if _, locked := k.pol.Locked(k.next, now); locked {
			return refuse(user, reasonBadCredentials, k.locked(), k.what)
		}
	}
	return refuse(user, reasonBadCredentials, badCredentials(), "")
}

// counted is one key a sign-in attempt is counted under, with its state
// before and after this attempt's failure was counted.
type counted struct {
	pol        LockoutPolicy
	key        string
	reason     string        // logged when the key refuses an attempt
	locked     func() *Error // the answer while it is locked
	what       string        // logged as what a failure locked
	prev, next store.Throttle
}

// SignInStopped returns the answer for a pending request that has used up
// its tries, or nil while it may still be tried: the sign-in page asks
// before showing the form.
func (p *Provider) SignInStopped(ctx context.Context, ep Endpoint, pendingID string) *Error {
	req, e := p.throttle(ctx, ep.Tenant.ID, requestKey(pendingID))
	if e != nil {
		return e
	}
	if _, locked := p.signInPolicies(ep.Tenant).request.Locked(req, p.now()); locked {
		return signInStopped()
	}
	return nil
}

// throttle reads a key's history; a key without one has the zero history,
// version 0.
func (p *Provider) throttle(ctx context.Context, tenantID, key string) (store.Throttle, *Error) {
	t, err := p.store.GetThrottle(ctx, tenantID, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Throttle{TenantID: tenantID, Key: key}, nil
	}
	if err != nil {
		return store.Throttle{}, ServerError(err)
	}
	return t, nil
}

// throttleTries bounds the compare-and-swap loops of reserve and release.
// Each round one of the writers racing on a key wins, so this is far more
// than is needed.
const throttleTries = 100

// reserve counts one failure against t's key under pol, unless the key is
// locked by the time the write lands, and returns the states before and
// after. The write is a compare-and-swap: a writer that lost to another
// instance or request reads the row again and counts on top of it, so no
// failure is lost and no lock is missed.
func (p *Provider) reserve(ctx context.Context, pol LockoutPolicy, t store.Throttle, now time.Time) (prev, next store.Throttle, locked bool, e *Error) {
	for range throttleTries {
		if _, locked := pol.Locked(t, now); locked {
			return t, t, true, nil
		}
		next, _ := pol.Fail(t, now)
		err := p.store.PutThrottle(ctx, next)
		if err == nil {
			next.Version++
			return t, next, false, nil
		}
		if !errors.Is(err, store.ErrNotLive) {
			return t, t, false, ServerError(fmt.Errorf("count sign-in attempt: %w", err))
		}
		if t, e = p.throttle(ctx, t.TenantID, t.Key); e != nil {
			return t, t, false, e
		}
	}
	return t, t, false, ServerError(fmt.Errorf("count sign-in attempt: lost %d races in a row on %s", throttleTries, t.Key))
}

// release takes back the failures reserve counted for an attempt that did
// not fail: it was right, or it was refused on another key, or the server
// could not finish it. Where the attempt's own count locked the key and
// nothing locked it again since, the lock goes with it. Release is best
// effort: a count it could not take back only errs on the strict side.
func (p *Provider) release(ctx context.Context, keys []counted) {
	for _, k := range keys {
		t := k.next
		for range throttleTries {
			u := t
			if k.next.Lockouts > k.prev.Lockouts && t.LockedUntil.Equal(k.next.LockedUntil) {
				u.Lockouts, u.LockedUntil, u.Failures = k.prev.Lockouts, k.prev.LockedUntil, k.prev.Failures
			} else if u.Failures > 0 {
				u.Failures--
			} else {
				break
			}
			err := p.store.PutThrottle(ctx, u)
			if err == nil || !errors.Is(err, store.ErrNotLive) {
				if err != nil {
					p.log.WarnContext(ctx, "take back a sign-in attempt's count", "key", k.key, "err", err)
				}
				break
			}
			cur, err := p.store.GetThrottle(ctx, t.TenantID, t.Key)
			if err != nil {
				break
			}
			t = cur
		}
	}
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

// SignedIn records in pending that its user signed in with sess: the
// request is sealed again with them, for the consent page that follows.
func (p *Provider) SignedIn(ctx context.Context, ep Endpoint, pending *Pending, sess store.Session, browser string) error {
	next, err := p.sealPending(ep, sealedPending{
		ID: pending.ID, Browser: token.Hash(browser), CSRF: pending.CSRF,
		Expires: p.now().Add(p.cfg.AuthRequestLifetime).Unix(),
		UserID:  sess.UserID, SessionID: sess.ID, Request: pending.Request,
	})
	if err != nil {
		return err
	}
	*pending = next
	return nil
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
