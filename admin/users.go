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
	o.Email = strings.TrimSpace(o.Email)
	if o.Email != "" && (len(o.Email) > 256 || !strings.Contains(o.Email, "@") || strings.ContainsAny(o.Email, " \t\r\n")) {
		return store.User{}, "", invalid("email %q is not an email address", o.Email)
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
		return store.User{}, invalid("no user %q in tenant %s", idOrUsername, t.Name)
	}
	return u, err
}

// Users lists a tenant's users.
func (a *Admin) Users(ctx context.Context, t store.Tenant) ([]store.User, error) {
	return a.store.ListUsers(ctx, t.ID)
}

// SetDisabled disables or enables a user. Disabling also revokes every
// refresh token of the user at once, rather than at its next use.
func (a *Admin) SetDisabled(ctx context.Context, u store.User, disabled bool) (store.User, error) {
	activity := "Enable account"
	if disabled {
		activity = "Disable account"
	}
	var c changes
	c.flag("accountEnabled", !u.Disabled, !disabled)
	u.Disabled = disabled
	u.UpdatedAt = a.now()
	err := a.audited(ctx, a.entry(catUser, activity, userTarget(u), c), func(ctx context.Context) error {
		if err := a.store.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if disabled {
			if err := a.store.RevokeUserRefreshFamilies(ctx, u.TenantID, u.ID, "", a.now()); err != nil {
				return fmt.Errorf("revoke user tokens: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
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
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

// SetPassword replaces a user's password, under the same rule as a new
// user's.
func (a *Admin) SetPassword(ctx context.Context, u store.User, pw string) (store.User, error) {
	if err := checkPassword(pw, u.Username); err != nil {
		return store.User{}, err
	}
	hash, err := password.Hash(pw, a.pwParams)
	if err != nil {
		return store.User{}, fmt.Errorf("set password: %w", err)
	}
	u.PasswordHash, u.UpdatedAt = hash, a.now()
	// The entry says that the password changed, never to what.
	e := a.entry(catUser, "Reset user password", userTarget(u), nil)
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.UpdateUser(ctx, u) }); err != nil {
		return store.User{}, fmt.Errorf("set password: %w", err)
	}
	return u, nil
}
