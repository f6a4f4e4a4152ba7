package admin_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// The CLI's App ID URI is reserved, and an app that took it before it was
// (a tenant older than the CLI's app) is not adopted as the built-in one:
// it keeps what it was, and the CLI's registration fails loudly.
func TestBuiltInCLIAppIsNotAdopted(t *testing.T) {
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
	cli, err := st.GetApp(ctx, ten.ID, admin.CLIClientID)
	if err != nil || !cli.Public || !admin.IsBuiltIn(cli) || !slices.Equal(cli.RedirectURIs, []string{admin.CLIRedirectURI}) {
		t.Fatalf("the tenant's CLI app: %+v (%v)", cli, err)
	}
	web, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Expose(ctx, web, admin.CLIIdentifier, nil, nil); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("an app took the CLI's App ID URI: %v", err)
	}

	// A tenant from before the CLI's app: its URI held by a confidential app.
	if err := st.DeleteApp(ctx, ten.ID, admin.CLIClientID, time.Now()); err != nil {
		t.Fatal(err)
	}
	squatter := web
	squatter.IdentifierURI = admin.CLIIdentifier
	if err := st.UpdateApp(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	if _, err := a.EnsureCLI(ctx, ten); err == nil || !strings.Contains(err.Error(), "held by app "+web.ClientID) {
		t.Fatalf("EnsureCLI over another app: %v", err)
	}
	after, err := st.GetApp(ctx, ten.ID, web.ClientID)
	if err != nil || after.Public || len(after.RedirectURIs) != 0 || len(after.Permissions) != 0 {
		t.Errorf("the app holding the URI was changed: %+v (%v)", after, err)
	}
	if consents, _ := st.ListConsents(ctx, ten.ID, web.ClientID, ""); len(consents) != 0 {
		t.Errorf("the app holding the URI was consented: %v", consents)
	}
}
