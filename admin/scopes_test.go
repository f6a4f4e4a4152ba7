package admin_test

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// A scope's consent type and texts are checked like an app's name, kept
// with the scope while it is exposed, dropped with it, and audited.
func TestScopeDetails(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	a := admin.New(st, token.NewMasterKey(), now, password.Params{Memory: 64, Time: 1, Threads: 1}).
		As(admin.Actor{Type: admin.ActorUser, ID: "u-alice", Name: "alice@contoso.test"})
	ten, err := a.CreateTenant(ctx, "contoso", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	app, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Payroll"})
	if err != nil {
		t.Fatal(err)
	}

	read := store.ScopeDetail{Type: store.ConsentByAdmin, AdminConsentDisplayName: "  Read all payslips ",
		AdminConsentDescription: "Lets the app read every payslip.", UserConsentDisplayName: "Read your payslips",
		UserConsentDescription: "Lets the app read your payslips."}
	if app, err = a.ExposeScope(ctx, app, "Payroll.Read", read); err != nil {
		t.Fatal(err)
	}
	read.Type, read.AdminConsentDisplayName = store.ConsentByAdmin, "Read all payslips"
	want := map[string]store.ScopeDetail{"Payroll.Read": read}
	stored, err := a.App(ctx, ten, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(stored.ScopeDetails, want) || len(stored.Scopes) != 1 {
		t.Fatalf("stored %v %v, want %v", stored.Scopes, stored.ScopeDetails, want)
	}

	// Exposing more scopes keeps what the first one says; a scope that
	// says only the defaults has no entry.
	if app, err = a.Expose(ctx, app, "", []string{"Payroll.Write"}, nil); err != nil {
		t.Fatal(err)
	}
	if app, err = a.ExposeScope(ctx, app, "Payroll.List", store.ScopeDetail{Type: store.ConsentByUser}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(app.ScopeDetails, want) {
		t.Fatalf("details %v, want %v", app.ScopeDetails, want)
	}

	refused := []struct {
		name string
		d    store.ScopeDetail
		want string
	}{
		{"unknown type", store.ScopeDetail{Type: "Everyone"}, "use User"},
		{"long name", store.ScopeDetail{UserConsentDisplayName: strings.Repeat("x", 121)}, "at most 120"},
		{"long description", store.ScopeDetail{AdminConsentDescription: strings.Repeat("x", 401)}, "at most 400"},
		{"line break", store.ScopeDetail{UserConsentDescription: "one\ntwo"}, "control character"},
		{"bidi override", store.ScopeDetail{AdminConsentDisplayName: "Read \u202eevil"}, "bidirectional"},
		{"invalid UTF-8", store.ScopeDetail{UserConsentDisplayName: "bad \xff"}, "printable"},
	}
	for _, c := range refused {
		_, err := a.ExposeScope(ctx, app, "Payroll.Read", c.d)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
	// Details of a scope the app does not expose are refused, not kept.
	orphan := map[string]store.ScopeDetail{"Payroll.Delete": {Type: store.ConsentByAdmin}}
	if _, err := a.PatchApp(ctx, app, admin.AppPatch{ScopeDetails: &orphan}); err == nil {
		t.Error("details of a scope the app does not expose were accepted")
	}
	if stored, err = a.App(ctx, ten, app.ClientID); err != nil || !maps.Equal(stored.ScopeDetails, want) {
		t.Fatalf("a refused change was written: %v %v", stored.ScopeDetails, err)
	}

	// Removing a scope drops what it said.
	rest := []string{"Payroll.Write", "Payroll.List"}
	if app, err = a.PatchApp(ctx, app, admin.AppPatch{Scopes: &rest}); err != nil {
		t.Fatal(err)
	}
	if app.ScopeDetails != nil {
		t.Errorf("the removed scope's details stayed: %v", app.ScopeDetails)
	}

	entries, err := a.AuditLog(ctx, ten, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var audited []store.AuditChange
	for _, e := range entries {
		for _, c := range e.Changes {
			if c.Property == "api.oauth2PermissionScopes[Payroll.Read]" {
				audited = append(audited, c)
			}
		}
	}
	wantText := `type=Admin adminConsentDisplayName="Read all payslips" adminConsentDescription="Lets the app read every payslip." userConsentDisplayName="Read your payslips" userConsentDescription="Lets the app read your payslips."`
	if len(audited) != 2 || audited[1].Old != "" || audited[1].New != wantText || audited[0].Old != wantText || audited[0].New != "" {
		t.Errorf("audited changes of the scope's details: %+v", audited)
	}
}

// A grant of a scope only admins may consent to is tenant-wide or
// refused: the server would not honour one for a single user.
func TestAdminOnlyScopeGrantIsTenantWide(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := admin.New(st, token.NewMasterKey(), time.Now, password.Params{Memory: 64, Time: 1, Threads: 1}).
		As(admin.Actor{Type: admin.ActorUser, ID: "u-alice", Name: "alice@contoso.test"})
	ten, err := a.CreateTenant(ctx, "contoso", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	api, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Payroll API", Scopes: []string{"Payroll.Read"},
		ScopeDetails: map[string]store.ScopeDetail{"Payroll.Read": {Type: store.ConsentByAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Payroll client"})
	if err != nil {
		t.Fatal(err)
	}
	user, _, err := a.CreateUser(ctx, ten, admin.UserOptions{Username: "bob@contoso.test", Password: "a long and unusual passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.GrantDelegated(ctx, client, user.ID, api.ClientID, []string{"Payroll.Read"}); err == nil || !strings.Contains(err.Error(), "tenant-wide") {
		t.Errorf("a grant for one user: %v", err)
	}
	if _, err := a.GrantDelegated(ctx, client, "", api.ClientID, []string{"Payroll.Read"}); err != nil {
		t.Errorf("a tenant-wide grant: %v", err)
	}
}
