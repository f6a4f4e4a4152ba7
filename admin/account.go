package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
)

// The account page (/{tenant}/account) signs users in as a built-in public
// client of each tenant, like the portal, but asks for nothing beyond the
// OpenID Connect scopes: what a user does there is done to their own
// account, through Self, whatever directory role they hold.
const (
	AccountIdentifier = "api://tessera-account"
	AccountName       = "My Account"
)

// RecentSignIn is how long after typing their password a user may change
// it or sign out their other sessions without signing in again: whoever
// finds a signed-in browser left open gets no further than this.
const RecentSignIn = 10 * time.Minute

// ErrSignInAgain marks an action refused because the user's sign-in is
// older than RecentSignIn: they must sign in again (prompt=login) first.
var ErrSignInAgain = errors.New("sign in again")

func signInAgain(what string) error {
	return &refusal{kinds: []error{ErrSignInAgain, ErrForbidden},
		reason: fmt.Sprintf("to %s, sign in again: your last sign-in was more than %d minutes ago", what, int(RecentSignIn.Minutes()))}
}

// EnsureAccountApp returns the tenant's account app, registering it or
// setting its redirect URIs to the ones given (the server's public URL
// decides them), with the OpenID Connect scopes granted tenant-wide so
// that nobody is asked to consent to their own account page.
func (a *Admin) EnsureAccountApp(ctx context.Context, t store.Tenant, redirectURI, postLogoutURI string) (store.App, error) {
	return a.ensureBuiltInClient(ctx, t, store.App{Name: AccountName, IdentifierURI: AccountIdentifier,
		RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{postLogoutURI}}, nil)
}

// AccountApp returns the tenant's account app. Anyone may ask: the account
// page needs it to sign a user in.
func (a *Admin) AccountApp(ctx context.Context, t store.Tenant) (store.App, error) {
	app, err := a.store.GetAppByIdentifier(ctx, t.ID, AccountIdentifier)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, notFound("tenant %s has no account app: it is registered when the server starts with a public URL", t.Name)
	}
	return app, err
}

// Self is the admin core acting for a signed-in user on their own account,
// in the SSO session they signed in with. It offers only what a user may
// do to themselves, so it needs no directory role; the audit log names the
// user as the actor of each change.
type Self struct {
	a       *Admin
	user    store.User
	session store.Session
}

// Self returns the admin core acting for the user userID, signed in with
// the SSO session sessionID, from address. It refuses (ErrForbidden) a
// user who is gone or disabled, and a session that is not that user's or
// no longer live: a sign-out or an administrator's revocation on any
// instance ends the account page's session too.
func (a *Admin) Self(ctx context.Context, t store.Tenant, userID, sessionID, address string) (*Self, error) {
	u, err := a.store.GetUser(ctx, t.ID, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, forbidden("the signed-in user is disabled or was removed")
	}
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	sess, err := a.store.GetSessionByID(ctx, t.ID, sessionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sess.UserID != u.ID || !a.now().Before(sess.ExpiresAt))) {
		return nil, forbidden("the session has ended")
	}
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	c := *a
	c.actor = Actor{Type: ActorUser, ID: u.ID, Name: u.Username, Address: address}
	c.allowed = func(string) bool { return false }
	c.operator = false
	return &Self{a: &c, user: u, session: sess}, nil
}

// User is the signed-in user, as read when Self was made.
func (s *Self) User() store.User { return s.user }

// SessionID is the SSO session the user signed in to the account page with.
func (s *Self) SessionID() string { return s.session.ID }

// SignedInAt is when the user last typed their password in this session.
func (s *Self) SignedInAt() time.Time { return s.session.AuthTime }

// SignedInRecently reports whether the user signed in less than
// RecentSignIn ago, as the sensitive actions require.
func (s *Self) SignedInRecently() bool {
	return s.a.now().Sub(s.session.AuthTime) < RecentSignIn
}

// ChangePassword replaces the user's password with next, under the rules
// every password follows (length, the list of common passwords, not the
// username), once verify has accepted current as the password they have:
// verify is the sign-in's check, throttled as sign-in guesses are. The
// new password is checked first, so a rejected one costs no guess. The
// audit entry says only that the password changed.
func (s *Self) ChangePassword(ctx context.Context, current, next string, verify func(ctx context.Context, current string) error) error {
	if !s.SignedInRecently() {
		return signInAgain("change your password")
	}
	if current == "" {
		return invalid("type your current password")
	}
	if err := checkPassword(next, s.user.Username); err != nil {
		return err
	}
	if next == current {
		return invalid("the new password is the one you have; choose another")
	}
	if err := verify(ctx, current); err != nil {
		return err
	}
	hash, err := password.Hash(next, s.a.pwParams)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	old := s.user
	u := old
	u.PasswordHash = hash
	u.UpdatedAt = nextUpdate(s.a.now(), old.UpdatedAt)
	e := s.a.entry(catUser, "Change user password", userTarget(u), []store.AuditChange{{Property: "passwordProfile", New: "(changed by the user)"}})
	err = s.a.audited(ctx, e, func(ctx context.Context) error { return s.a.store.UpdateUserIf(ctx, u, old.UpdatedAt) })
	switch {
	case errors.Is(err, store.ErrNotLive):
		return stale("your account")
	case errors.Is(err, store.ErrNotFound):
		return notFound("your account was deleted")
	case err != nil:
		return fmt.Errorf("change password: %w", err)
	}
	s.user = u
	return nil
}

// SessionInfo is one of the user's live SSO sessions.
type SessionInfo struct {
	ID         string
	CreatedAt  time.Time
	SignedInAt time.Time // when the password was last typed in it
	ExpiresAt  time.Time
	Current    bool // the session of the browser asking
}

// Sessions lists the user's live sessions: the current one first, then
// the others newest first.
func (s *Self) Sessions(ctx context.Context) ([]SessionInfo, error) {
	ss, err := s.a.store.ListUserSessions(ctx, s.user.TenantID, s.user.ID, s.a.now())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]SessionInfo, 0, len(ss))
	for _, x := range ss {
		info := SessionInfo{ID: x.ID, CreatedAt: x.CreatedAt, SignedInAt: x.AuthTime, ExpiresAt: x.ExpiresAt, Current: x.ID == s.session.ID}
		if info.Current {
			out = slices.Insert(out, 0, info)
		} else {
			out = append(out, info)
		}
	}
	return out, nil
}

// SignOutOthers ends the user's other sessions as signing out ends one:
// each session goes, with the refresh tokens issued in it, except those of
// apps set to keep theirs (LogoutKeepsRefreshTokens), in one transaction
// with one audit entry. ids names the sessions to end, or, empty, every
// other one. The current session is never among them: signing out of it
// is the sign-out button's. Ids that are not the user's live sessions are
// skipped, and when none named is, the call is refused (ErrNotFound),
// whoever's session it was. Front-channel logout is not sent: the pages
// that would call it are in those other browsers.
func (s *Self) SignOutOthers(ctx context.Context, ids []string) (int, error) {
	if !s.SignedInRecently() {
		return 0, signInAgain("sign out of your other sessions")
	}
	// Only the user's live sessions are ended (the store checks the user
	// again), so an id of someone else's is refused like a gone one.
	ss, err := s.a.store.ListUserSessions(ctx, s.user.TenantID, s.user.ID, s.a.now())
	if err != nil {
		return 0, fmt.Errorf("sign out other sessions: %w", err)
	}
	var end []string
	for _, x := range ss {
		if x.ID != s.session.ID && (len(ids) == 0 || slices.Contains(ids, x.ID)) {
			end = append(end, x.ID)
		}
	}
	if len(end) == 0 {
		if len(ids) > 0 {
			return 0, notFound("no such session of yours: it has ended already, or is the one you are using")
		}
		return 0, nil
	}
	apps, err := s.a.store.ListApps(ctx, s.user.TenantID)
	if err != nil {
		return 0, fmt.Errorf("sign out other sessions: %w", err)
	}
	var keep []string
	for _, app := range apps {
		if app.LogoutKeepsRefreshTokens {
			keep = append(keep, app.ClientID)
		}
	}
	ended := 0
	e := s.a.entry(catUser, "Sign out of other sessions", userTarget(s.user), []store.AuditChange{{Property: "sessions", Old: listText(end)}})
	err = s.a.audited(ctx, e, func(ctx context.Context) error {
		var err error
		ended, err = s.a.store.EndUserSessions(ctx, s.user.TenantID, s.user.ID, end, keep, s.a.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sign out other sessions: %w", err)
	}
	return ended, nil
}

// AppAccess is an app the user consented to, with what they granted it.
type AppAccess struct {
	ClientID    string
	Name        string
	GrantedAt   time.Time // the earliest of its grants
	Permissions []GrantedPermission
}

// GrantedPermission is one delegated permission the user granted an app:
// an OpenID Connect scope (Resource nil) or a scope of a resource app.
type GrantedPermission struct {
	Resource *store.App // nil for the OpenID Connect scopes
	Value    string
	Detail   store.ScopeDetail // the resource's texts for the scope
}

// AppsWithAccess lists the apps the user consented to, by name, with the
// permissions each holds through the user's own consent. Tenant-wide
// grants by an administrator are not the user's to withdraw and are not
// listed.
func (s *Self) AppsWithAccess(ctx context.Context) ([]AppAccess, error) {
	cs, err := s.a.store.ListUserConsents(ctx, s.user.TenantID, s.user.ID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	apps := map[string]*store.App{}
	app := func(id string) (*store.App, error) {
		if a, ok := apps[id]; ok {
			return a, nil
		}
		a, err := s.a.store.GetApp(ctx, s.user.TenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			apps[id] = nil
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list consents: %w", err)
		}
		apps[id] = &a
		return &a, nil
	}
	var out []AppAccess
	for _, c := range cs {
		if c.Kind != store.KindScope {
			continue
		}
		client, err := app(c.ClientID)
		if err != nil {
			return nil, err
		}
		if client == nil {
			continue
		}
		if len(out) == 0 || out[len(out)-1].ClientID != c.ClientID {
			out = append(out, AppAccess{ClientID: c.ClientID, Name: client.Name, GrantedAt: c.CreatedAt})
		}
		acc := &out[len(out)-1]
		if c.CreatedAt.Before(acc.GrantedAt) {
			acc.GrantedAt = c.CreatedAt
		}
		p := GrantedPermission{Value: c.Value}
		if c.ResourceID != "" {
			if p.Resource, err = app(c.ResourceID); err != nil {
				return nil, err
			}
			if p.Resource == nil {
				continue
			}
			p.Detail = p.Resource.ScopeDetails[c.Value]
		}
		acc.Permissions = append(acc.Permissions, p)
	}
	slices.SortStableFunc(out, func(x, y AppAccess) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	return out, nil
}

// WithdrawConsent removes every permission the user granted the app
// (client id clientID) and ends the app's refresh tokens for them, in one
// transaction with one audit entry: the app's next refresh fails, and it
// must ask the user's consent again. An app the user granted nothing is
// refused as not found, whoever's it is.
func (s *Self) WithdrawConsent(ctx context.Context, clientID string) (store.App, error) {
	client, err := s.a.store.GetApp(ctx, s.user.TenantID, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, notFound("you have not given that app any permission")
	}
	if err != nil {
		return store.App{}, fmt.Errorf("withdraw consent: %w", err)
	}
	cs, err := s.a.store.ListUserConsents(ctx, s.user.TenantID, s.user.ID)
	if err != nil {
		return store.App{}, fmt.Errorf("withdraw consent: %w", err)
	}
	var granted []string
	for _, c := range cs {
		if c.ClientID == clientID {
			granted = append(granted, store.PermissionText(c.ResourceID, c.Kind, c.Value))
		}
	}
	e := s.a.entry(catApplication, "Remove delegated permission grant", appTarget(client), []store.AuditChange{
		{Property: "principal", Old: "user " + s.user.ID}, {Property: "permissions", Old: listText(granted)}})
	err = s.a.audited(ctx, e, func(ctx context.Context) error {
		return s.a.store.WithdrawConsent(ctx, s.user.TenantID, clientID, s.user.ID, s.a.now())
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, notFound("you have not given that app any permission")
	}
	if err != nil {
		return store.App{}, fmt.Errorf("withdraw consent: %w", err)
	}
	return client, nil
}
