package admin_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// Every way a user gets a password (created with one, or given a new one)
// refuses common passwords and the username, whatever the case.
func TestPasswordRules(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := admin.New(st, token.NewMasterKey(), nil, password.Params{Memory: 64, Time: 1, Threads: 1})
	ten, err := a.CreateTenant(ctx, "contoso", "")
	if err != nil {
		t.Fatal(err)
	}
	refused := func(what string, err error, why error) {
		t.Helper()
		if !errors.Is(err, admin.ErrInvalid) || !errors.Is(err, why) {
			t.Errorf("%s: %v, want %v", what, err, why)
		}
	}
	_, _, err = a.CreateUser(ctx, ten, admin.UserOptions{Username: "carol", Password: "Sunshine1"})
	refused("create with a common password", err, password.ErrCommon)
	_, _, err = a.CreateUser(ctx, ten, admin.UserOptions{Username: "carol@contoso.test", Password: "CAROL@CONTOSO.TEST"})
	refused("create with the username", err, password.ErrUsername)

	u, _, err := a.CreateUser(ctx, ten, admin.UserOptions{Username: "carol@contoso.test", Password: "a long uncommon one"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.SetPassword(ctx, u, "qwerty123")
	refused("reset to a common password", err, password.ErrCommon)
	_, err = a.SetPassword(ctx, u, "Carol@Contoso.test")
	refused("reset to the username", err, password.ErrUsername)
	if _, err := a.SetPassword(ctx, u, "another long uncommon one"); err != nil {
		t.Errorf("reset to an uncommon password: %v", err)
	}
	// The demo bootstrap's generated passwords pass the rules, fresh or not.
	if _, err := a.Bootstrap(ctx, false); err != nil {
		t.Fatal(err)
	}
	if d, err := a.Bootstrap(ctx, true); err != nil || d.Password == "" {
		t.Fatalf("fresh bootstrap: %v", err)
	}
}
