package admin_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// What a signed-in user may do to their own account, and only to theirs.
func TestSelf(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a := admin.New(st, token.NewMasterKey(), func() time.Time { return now }, password.Params{Memory: 64, Time: 1, Threads: 1})
	ten, err := a.CreateTenant(ctx, "contoso", "")
	if err != nil {
		t.Fatal(err)
	}
	alice, _, err := a.CreateUser(ctx, ten, admin.UserOptions{Username: "alice", Password: "alice's long password"})
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := a.CreateUser(ctx, ten, admin.UserOptions{Username: "bob", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}
	session := func(id string, u store.User, life time.Duration) {
		t.Helper()
		if err := st.CreateSession(ctx, store.Session{ID: id, Hash: token.Hash(id), TenantID: ten.ID, UserID: u.ID,
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(life)}); err != nil {
			t.Fatal(err)
		}
	}
	session("a1", alice, time.Hour)
	session("a2", alice, time.Hour)
	session("b1", bob, time.Hour)
	session("old", alice, -time.Second)

	for name, c := range map[string]struct{ user, session string }{
		"another user's session": {alice.ID, "b1"},
		"an expired session":     {alice.ID, "old"},
		"no session":             {alice.ID, "none"},
		"no user":                {"nobody", "a1"},
	} {
		if _, err := a.Self(ctx, ten, c.user, c.session, ""); !errors.Is(err, admin.ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", name, err)
		}
	}
	self, err := a.Self(ctx, ten, alice.ID, "a1", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.SignOutOthers(ctx, []string{"b1"}); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("ending bob's session: %v", err)
	}
	if _, err := self.SignOutOthers(ctx, []string{"a1"}); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("ending the current session as another: %v", err)
	}
	if _, err := self.WithdrawConsent(ctx, admin.CLIClientID); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("withdrawing consent never given (the CLI's, tenant-wide): %v", err)
	}

	calls := 0
	verify := func(err error) func(context.Context, string) error {
		return func(context.Context, string) error { calls++; return err }
	}
	if err := self.ChangePassword(ctx, "alice's long password", "Password123", verify(nil)); !errors.Is(err, password.ErrCommon) || calls != 0 {
		t.Errorf("a common new password: %v, %d checks of the current one", err, calls)
	}
	wrong := errors.New("wrong")
	if err := self.ChangePassword(ctx, "guess", "a new long passphrase", verify(wrong)); !errors.Is(err, wrong) {
		t.Errorf("a refused current password: %v", err)
	}
	if u, _ := st.GetUser(ctx, ten.ID, alice.ID); u.PasswordHash != alice.PasswordHash {
		t.Error("the password changed though the current one was refused")
	}
	if err := self.ChangePassword(ctx, "alice's long password", "a new long passphrase", verify(nil)); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.GetUser(ctx, ten.ID, alice.ID); u.PasswordHash == alice.PasswordHash {
		t.Error("the password did not change")
	}

	sessions, err := self.Sessions(ctx)
	if err != nil || len(sessions) != 2 || !sessions[0].Current || sessions[0].ID != "a1" {
		t.Fatalf("alice's sessions: %+v %v", sessions, err)
	}
	if n, err := self.SignOutOthers(ctx, nil); err != nil || n != 1 {
		t.Errorf("sign out others: %d %v", n, err)
	}
	if left, _ := st.ListUserSessions(ctx, ten.ID, bob.ID, now); len(left) != 1 {
		t.Error("bob's session ended with alice's others")
	}

	// Ten minutes on, both sensitive actions want a new sign-in.
	now = now.Add(admin.RecentSignIn)
	self, err = a.Self(ctx, ten, alice.ID, "a1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := self.ChangePassword(ctx, "a new long passphrase", "yet another passphrase", verify(nil)); !errors.Is(err, admin.ErrSignInAgain) {
		t.Errorf("a password change 10 minutes after sign-in: %v", err)
	}
	if _, err := self.SignOutOthers(ctx, nil); !errors.Is(err, admin.ErrSignInAgain) {
		t.Errorf("signing out others 10 minutes after sign-in: %v", err)
	}

	entries, err := a.AuditLog(ctx, ten, store.AuditQuery{ActorID: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	var activities []string
	for _, e := range entries {
		activities = append(activities, e.Activity)
	}
	if want := []string{"Sign out of other sessions", "Change user password"}; !slices.Equal(activities, want) {
		t.Errorf("alice's audit entries: %v, want %v", activities, want)
	}
}

// The account app is built in: public, consented tenant-wide for the
// OpenID Connect scopes only, and its App ID URI cannot be taken.
func TestAccountApp(t *testing.T) {
	a, ten := newAdmin(t)
	ctx := t.Context()
	app, err := a.EnsureAccountApp(ctx, ten, "https://id.example/contoso/account/callback", "https://id.example/contoso/account/signedout")
	if err != nil {
		t.Fatal(err)
	}
	if !app.Public || !admin.IsBuiltIn(app) || len(app.Permissions) != 0 {
		t.Errorf("the account app: %+v", app)
	}
	again, err := a.EnsureAccountApp(ctx, ten, "https://id.example/contoso/account/callback", "https://id.example/contoso/account/signedout")
	if err != nil || again.ClientID != app.ClientID {
		t.Errorf("registered twice: %v %v", again.ClientID, err)
	}
	if got, err := a.AccountApp(ctx, ten); err != nil || got.ClientID != app.ClientID {
		t.Errorf("AccountApp: %v %v", got.ClientID, err)
	}
	web, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Expose(ctx, web, admin.AccountIdentifier, nil, nil); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("an app took the account app's App ID URI: %v", err)
	}
}
