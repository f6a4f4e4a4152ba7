package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/username"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// UserOptions describe a new user. An empty Password means "generate one".
type UserOptions struct {
	Username string
	Password string
	Email    string
	Name     string
}

// CreateUser creates a user and returns it with the password it was given
// (generated when none was supplied, so it can be shown once).
func (a *Admin) CreateUser(ctx context.Context, t store.Tenant, o UserOptions) (store.User, string, error) {
	if err := a.may(PermUserReadWrite); err != nil {
		return store.User{}, "", err
	}
	typed := strings.TrimSpace(o.Username)
	name, err := username.Normalize(typed)
	if err != nil {
		return store.User{}, "", invalid("username %q: use 1-%d letters, digits and ASCII symbols such as @ . - _ + (no spaces, other symbols or invisible characters)", typed, username.MaxLen)
	}
	if err := username.CheckScripts(name); err != nil {
		return store.User{}, "", invalid("username %q: %v", typed, err)
	}
	// The stored name is the normalised one, so that a name differing only
	// in case or width from an existing one is a duplicate, not a second
	// account, and sign-in (which normalises what is typed) finds it.
	o.Username = name
	if o.Email, err = validEmail(o.Email); err != nil {
		return store.User{}, "", err
	}
	o.Name = strings.TrimSpace(o.Name)
	if o.Name != "" {
		if err := validName("name", o.Name); err != nil {
			return store.User{}, "", err
		}
	}
	pw := o.Password
	if pw == "" {
		pw = GeneratePassword()
	}
	if err := checkPassword(pw, typed, name); err != nil {
		return store.User{}, "", err
	}
	hash, err := password.Hash(pw, a.pwParams)
	if err != nil {
		return store.User{}, "", fmt.Errorf("create user: %w", err)
	}
	now := a.now()
	u := store.User{ID: ids.New(), TenantID: t.ID, Username: o.Username, Email: o.Email, Name: o.Name,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	var c changes
	c.text("userPrincipalName", "", u.Username)
	c.text("mail", "", u.Email)
	c.text("displayName", "", u.Name)
	e := a.entry(catUser, "Add user", userTarget(u), c)
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.CreateUser(ctx, u) }); err != nil {
		if errors.Is(err, store.ErrConflict) {
			if typed != name {
				return store.User{}, "", invalid("username %q is the same as %q, and a user named %q already exists in tenant %s (usernames are compared ignoring case and width)", typed, name, name, t.Name)
			}
			return store.User{}, "", invalid("a user named %q already exists in tenant %s", name, t.Name)
		}
		return store.User{}, "", fmt.Errorf("create user: %w", err)
	}
	return u, pw, nil
}

// GeneratePassword returns a random password of about 128 bits.
func GeneratePassword() string { return token.NewOpaque()[:22] }

// User finds a user by id or username. A username is looked up in its
// normalised form, as sign-in does, then as given: rows created before
// usernames were normalised may hold a form that only the latter finds,
// and an operator must still be able to reach them (to disable them).
func (a *Admin) User(ctx context.Context, t store.Tenant, idOrUsername string) (store.User, error) {
	if err := a.may(PermUserReadWrite, PermDirectoryRead); err != nil {
		return store.User{}, err
	}
	idOrUsername = strings.TrimSpace(idOrUsername)
	if ids.IsUUID(idOrUsername) {
		u, err := a.store.GetUser(ctx, t.ID, strings.ToLower(idOrUsername))
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	if name, err := username.Normalize(idOrUsername); err == nil && name != idOrUsername {
		u, err := a.store.GetUserByUsername(ctx, t.ID, name)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	u, err := a.store.GetUserByUsername(ctx, t.ID, idOrUsername)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, notFound("no user %q in tenant %s", idOrUsername, t.Name)
	}
	return u, err
}

// Users lists a tenant's users.
func (a *Admin) Users(ctx context.Context, t store.Tenant) ([]store.User, error) {
	if err := a.may(PermUserReadWrite, PermDirectoryRead); err != nil {
		return nil, err
	}
	return a.store.ListUsers(ctx, t.ID)
}

// SetDisabled disables or enables a user (see PatchUser).
func (a *Admin) SetDisabled(ctx context.Context, u store.User, disabled bool) (store.User, error) {
	enabled := !disabled
	return a.PatchUser(ctx, u, UserPatch{Enabled: &enabled})
}

// updateUser stores u, a changed copy of old, with its audit entry, only
// if the stored user is still old; then runs also, in the same audited
// operation.
func (a *Admin) updateUser(ctx context.Context, old, u store.User, e store.AuditEntry, also func(ctx context.Context) error) (store.User, error) {
	if err := a.mayChangeUser(ctx, old); err != nil {
		return store.User{}, err
	}
	u.UpdatedAt = nextUpdate(a.now(), old.UpdatedAt)
	err := a.audited(ctx, e, func(ctx context.Context) error {
		if err := a.store.UpdateUserIf(ctx, u, old.UpdatedAt); err != nil {
			return err
		}
		if also != nil {
			return also(ctx)
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotLive):
		return store.User{}, stale("user " + u.Username)
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, notFound("no user %q: it was deleted", u.ID)
	case err != nil:
		return store.User{}, fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return u, nil
}

// checkPassword is the rule for every password a user is given: 8 to
// MaxLen characters, not on the list of common passwords and not the
// username (NIST SP 800-63B §5.1.1.2). The error says which, in words for
// the person choosing, and wraps both ErrInvalid and the password
// package's reason.
//
// names are the username's forms to compare with: as typed and as stored.
func checkPassword(pw string, names ...string) error {
	if len(pw) < 8 || len(pw) > password.MaxLen {
		return invalid("password: use 8 to %d characters", password.MaxLen)
	}
	for _, name := range names {
		if err := password.Check(pw, name); err != nil {
			return invalidBecause(err)
		}
	}
	return nil
}

// SetPassword replaces a user's password, under the same rule as a new
// user's (see PatchUser).
func (a *Admin) SetPassword(ctx context.Context, u store.User, pw string) (store.User, error) {
	return a.PatchUser(ctx, u, UserPatch{Password: &pw})
}

// validEmail trims an email address and checks that it looks like one;
// "" (none) is allowed.
func validEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email != "" && (len(email) > 256 || !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n") || invisibleIn(email)) {
		return "", invalid("email %q is not an email address", email)
	}
	return email, nil
}

func invisibleIn(s string) bool {
	for _, r := range s {
		if invisible(r) != "" {
			return true
		}
	}
	return false
}

// UserPage is one page of a tenant's users, in order of their lower-cased
// usernames: those after the key after, whose username or display name
// contains search (any case), at most n. Next is the key the following
// page starts after, "" on the last page.
type UserPage struct {
	Users []store.User
	Next  string
}

// UsersPage reads one page of users for a list that people page through
// (the portal, the admin API): from the store, one page at a time, so a
// tenant of a million users costs what a page does. The order is the
// store's (see store.Store.ListUsersPage).
func (a *Admin) UsersPage(ctx context.Context, t store.Tenant, search, after string, n int) (UserPage, error) {
	if err := a.may(PermDirectoryRead, PermUserReadWrite); err != nil {
		return UserPage{}, err
	}
	if n < 1 {
		return UserPage{}, invalid("a page holds at least one user")
	}
	users, err := a.store.ListUsersPage(ctx, t.ID, store.UserQuery{After: after, Search: search, Limit: n + 1})
	if err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}
	page := UserPage{Users: users}
	if len(users) > n {
		page.Users, page.Next = users[:n], store.UserKey(users[n-1].Username)
	}
	return page, nil
}
