package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	usernames "github.com/tessera-id/tessera/internal/username"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

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

// signInBusy answers an attempt that came while as many others of the
// same key were being checked as the key has failures left: a burst of
// guesses, or, rarely, one person signing in from several places at once.
// Nothing is locked; the next attempt after those may go ahead.
func signInBusy() *Error {
	return newError(ErrAccessDenied, http.StatusTooManyRequests, CodeLocked,
		"Too many sign-ins are in progress for this account or from your network. Wait a moment and try again.")
}

// signInStopped ends a sign-in interaction: the page must not offer the
// form again, since every further try would be refused.
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
	reasonBusy            = "too_many_at_once"
)

// signIn is one submission of the sign-in form.
type signIn struct {
	// interaction is the id of the interaction the form belongs to: its
	// tries are counted by it, whatever keeps the interaction itself.
	interaction string
	username    string
	password    string
	address     string // the client's IP address
	client      string // the app the user signs in to
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

func requestKey(interactionID string) string { return "req:" + interactionID }

// authenticate checks a username and password, under the tenant's
// lockout policy: a sign-in that has used up its tries, a locked
// source address and a locked account are refused without checking the
// password, so the right password gives nothing during a lockout. Unknown
// and disabled users cost the same argon2id work as a wrong password and
// are counted like one. Every refusal is logged once ("sign-in refused").
func (p *Provider) authenticate(ctx context.Context, ep Endpoint, in signIn) (store.User, *Error) {
	// refuseUnrecorded logs a refusal; refuse also records it in the
	// sign-in log.
	refuseUnrecorded := func(user store.User, reason string, e *Error, locked string) (store.User, *Error) {
		attrs := []slog.Attr{slog.String("tenant", ep.Tenant.ID), slog.String("address", in.address), slog.String("reason", reason)}
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
	refuse := func(user store.User, reason string, e *Error, locked string) (store.User, *Error) {
		p.recordSignIn(ctx, ep, in, user, reason, locked)
		return refuseUnrecorded(user, reason, e, locked)
	}
	if in.username == "" || in.password == "" || len(in.username) > usernames.MaxLen || len(in.password) > password.MaxLen {
		// Refused before anything is counted, so nothing is written either.
		return refuseUnrecorded(store.User{}, reasonBadCredentials, badCredentials(), "")
	}
	// Usernames are stored in their PRECIS form (see internal/username), so
	// "ＡＬＩＣＥ" finds alice. A name PRECIS refuses cannot exist: it is
	// looked up as "", which no user has, so it gets the same answer after
	// the same work (one read, one hash) as any unknown name.
	lookup, nerr := usernames.Normalize(in.username)
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
		request: {pol: pol.request, key: requestKey(in.interaction), reason: reasonRequestExceeded, locked: signInStopped, what: "request"},
		account: {pol: pol.account, key: accountKey(in.username, lookup), reason: reasonAccountLocked, locked: accountLocked, what: "account"},
		address: {pol: pol.address, key: addressKey(in.address), reason: reasonAddressLocked, locked: addressThrottled, what: "address"},
	}
	// The attempt is counted in flight on every key before its password is
	// checked, and settled after: a failure then counts as one, anything
	// else is taken back. Counting only after the check let any number of
	// attempts sent at once pass the lock checks together, each before the
	// others' failures were stored; now a key admits no more attempts at
	// once than its policy has failures left before it locks.
	r, e := p.admit(ctx, ep.Tenant.ID, keys, now)
	switch {
	case e != nil:
		return store.User{}, e
	case r != nil && r.early:
		return refuseUnrecorded(user, keys[r.key].reason, keys[r.key].locked(), "")
	case r != nil && r.locked:
		return refuse(user, keys[r.key].reason, keys[r.key].locked(), "")
	case r != nil:
		return refuse(user, reasonBusy, signInBusy(), "")
	}

	hash := user.PasswordHash
	if !known || hash == "" {
		hash = p.dummyHash
	}
	p.passwordWaiting.Add(1)
	select {
	case p.passwordSlots <- struct{}{}:
		p.passwordWaiting.Add(-1)
	case <-ctx.Done():
		p.passwordWaiting.Add(-1)
		_, _ = p.settle(ctx, ep.Tenant.ID, keys, every(takeBack, len(keys)), now)
		return store.User{}, ServerError(ctx.Err())
	}
	ok, verr := password.Verify(in.password, hash)
	<-p.passwordSlots
	p.collectPasswordGarbage(hash)
	if verr != nil {
		p.log.WarnContext(ctx, "unreadable password hash", "tenant", ep.Tenant.ID, "user", user.ID, "err", verr)
	}
	if known && ok && verr == nil && !user.Disabled {
		// Success forgets the account's failures. Not the address's: one
		// account the guesser owns must not reset a spray's count; only
		// this attempt is taken back there. The request is signed in and
		// asks for no more passwords, so its count can stay.
		if _, err := p.settle(ctx, ep.Tenant.ID, keys, []ending{request: leave, account: forget, address: takeBack}, now); err != nil {
			return store.User{}, ServerError(err)
		}
		p.recordSignIn(ctx, ep, in, user, "", "")
		return user, nil
	}
	settled, _ := p.settle(ctx, ep.Tenant.ID, keys, every(countFailure, len(keys)), now)
	// The answer says the worst of what this failure brought about.
	if i := lockedBy(keys, settled, now); i >= 0 {
		return refuse(user, reasonBadCredentials, keys[i].locked(), keys[i].what)
	}
	return refuse(user, reasonBadCredentials, badCredentials(), "")
}

// collectPasswordGarbage counts the argon2 memory a check of hash left
// behind, and collects once the checks since the last collection have left
// the budget's worth. Each check's block (7 MiB by default) is garbage the
// moment it returns, but the collector, paced by a live heap of a few MiB,
// would let blocks pile up in a burst of sign-ins, setting the server's
// memory by sign-ins rather than by its live state. Collecting after every
// check held it to one block but cost a collection per sign-in; once per
// budget holds it to the budget.
func (p *Provider) collectPasswordGarbage(hash string) {
	used := password.MemoryOf(hash)
	if p.passwordGarbage.Add(used) < p.cfg.PasswordMemory {
		return
	}
	// One of the checks that crossed the budget collects; the others go on.
	if p.passwordGarbage.Swap(0) >= p.cfg.PasswordMemory {
		runtime.GC()
	}
}

// stopped returns the answer for a sign-in step that has used up its
// tries (key: the request's key, or its second factor's), or nil while it
// may still be tried: the step's page asks before showing the form.
func (p *Provider) stopped(ctx context.Context, ep Endpoint, key string) *Error {
	req, e := p.throttle(ctx, ep.Tenant.ID, key)
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

// startSession creates an SSO session for user, signed in with the
// methods amr, and returns the cookie secret (only its hash is stored)
// with the session.
func (p *Provider) startSession(ctx context.Context, ep Endpoint, user store.User, amr []string) (string, store.Session, error) {
	now := p.now()
	secret := token.NewOpaque()
	s := store.Session{
		ID:        ids.New(),
		Hash:      token.Hash(secret),
		TenantID:  ep.Tenant.ID,
		UserID:    user.ID,
		AuthTime:  now,
		AMR:       amr,
		CreatedAt: now,
		ExpiresAt: now.Add(p.cfg.SessionLifetime),
	}
	if err := p.store.CreateSession(ctx, s); err != nil {
		return "", store.Session{}, fmt.Errorf("create session: %w", err)
	}
	return secret, s, nil
}

// renewOrStartSession gives user a session signed in with amr, and
// returns its new cookie secret. Signing in again in a browser whose
// session is already this user's (prompt=login, max_age, the account
// page's "Sign in again") renews that session in place, under a new
// secret and for a full lifetime, as a new sign-in gets: the same id, so
// that what was issued in it still ends with it at sign-out, and one
// session in the user's list rather than an abandoned one beside a new
// one. Anyone else gets a new session, as does a browser whose session
// another tab renewed or ended meanwhile.
func (p *Provider) renewOrStartSession(ctx context.Context, ep Endpoint, user store.User, amr []string, b Browser) (string, store.Session, error) {
	cur, err := p.session(ctx, ep, b.Session)
	if err != nil {
		return "", store.Session{}, fmt.Errorf("read the browser's session: %w", err)
	}
	if cur == nil || cur.UserID != user.ID {
		return p.startSession(ctx, ep, user, amr)
	}
	now := p.now()
	secret := token.NewOpaque()
	renewed := *cur
	renewed.Hash, renewed.AMR, renewed.AuthTime, renewed.ExpiresAt = token.Hash(secret), amr, now, now.Add(p.cfg.SessionLifetime)
	err = p.store.RenewSession(ctx, ep.Tenant.ID, cur.Hash, renewed)
	if errors.Is(err, store.ErrNotFound) {
		return p.startSession(ctx, ep, user, amr)
	}
	if err != nil {
		return "", store.Session{}, fmt.Errorf("renew session: %w", err)
	}
	return secret, renewed, nil
}

// session returns the live session behind a cookie secret, or nil.
func (p *Provider) session(ctx context.Context, ep Endpoint, secret string) (*store.Session, error) {
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

// addConsents records the user's consent to everything ar asks for.
func (p *Provider) addConsents(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, user store.User, address string) error {
	userID := user.ID
	now := p.now()
	var rows []store.Consent
	for _, s := range ar.Grant.OIDCScopes {
		rows = append(rows, store.Consent{TenantID: ep.Tenant.ID, ClientID: ar.ClientID, PrincipalID: userID, Kind: store.KindScope, Value: s, CreatedAt: now})
	}
	for _, s := range ar.Grant.Scopes {
		rows = append(rows, store.Consent{TenantID: ep.Tenant.ID, ClientID: ar.ClientID, PrincipalID: userID, ResourceID: ar.Grant.ResourceID, Kind: store.KindScope, Value: s, CreatedAt: now})
	}
	if len(rows) == 0 {
		return nil
	}
	granted := make([]string, 0, len(rows))
	for _, r := range rows {
		granted = append(granted, store.PermissionText(r.ResourceID, r.Kind, r.Value))
	}
	return p.store.AddConsents(store.WithAudit(ctx, p.consentEntry(ctx, ep, ar, user, address, granted)), rows)
}

// signedInUser checks that the session is the one that signed in for the
// interaction and that its user may still sign in.
func (p *Provider) signedInUser(ctx context.Context, ep Endpoint, in Interaction, sess store.Session) (store.User, *Error) {
	if in.userID == "" || in.userID != sess.UserID {
		return store.User{}, interactionGone()
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

// consentView describes what in asks for: the client's name and each
// permission by name.
func (p *Provider) consentView(ctx context.Context, ep Endpoint, in Interaction) (ConsentView, *Error) {
	ar := in.request
	client, err := p.store.GetApp(ctx, ep.Tenant.ID, ar.ClientID)
	if err != nil {
		return ConsentView{}, ServerError(err)
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, in.userID)
	if err != nil {
		return ConsentView{}, ServerError(err)
	}
	info := ConsentView{ClientName: client.Name, Username: user.Username}
	if ar.Grant.ResourceID != "" {
		resource, err := p.store.GetApp(ctx, ep.Tenant.ID, ar.Grant.ResourceID)
		if err != nil {
			return ConsentView{}, ServerError(err)
		}
		granted, err := p.loadConsents(ctx, ep.Tenant.ID, ar.ClientID, in.userID)
		if err != nil {
			return ConsentView{}, ServerError(err)
		}
		for _, s := range ar.Grant.Scopes {
			d := resource.ScopeDetails[s]
			line := PermissionView{Scope: s, Description: d.UserConsentDisplayName, Detail: d.UserConsentDescription, AdminOnly: d.AdminOnly()}
			if line.Description == "" {
				line.Description = fmt.Sprintf("Access %s as you (%s)", resource.Name, s)
			}
			if line.AdminOnly && !granted.hasScope(resource.ClientID, s) {
				info.NeedsAdmin = true
			}
			info.Permissions = append(info.Permissions, line)
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

// clientName is the display name of a client, for the sign-in page.
func (p *Provider) clientName(ctx context.Context, ep Endpoint, clientID string) string {
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
