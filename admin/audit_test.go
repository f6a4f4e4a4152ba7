package admin_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// Every change an administrator makes writes exactly one audit entry,
// naming who made it and what changed, and no entry holds a secret: not a
// client secret's value, not a password.
func TestEveryChangeIsAudited(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	alice := admin.Actor{Type: admin.ActorUser, ID: "u-alice", Name: "alice@contoso.test", Address: "192.0.2.1"}
	a := admin.New(st, token.NewMasterKey(), now, password.Params{Memory: 64, Time: 1, Threads: 1}).
		As(alice).WithAuditRetention(30 * 24 * time.Hour)

	var secrets []string
	var credentialID string
	var grp store.Group
	var assignment store.AppRoleAssignment
	steps := []struct {
		activity string
		target   string // the entry's target id; "" for whatever was just made
		do       func(ten *store.Tenant, app *store.App, user *store.User) error
	}{
		{"Add tenant", "", func(ten *store.Tenant, _ *store.App, _ *store.User) (err error) {
			*ten, err = a.CreateTenant(ctx, "contoso", "ES256")
			return err
		}},
		{"Add application", "", func(ten *store.Tenant, app *store.App, _ *store.User) (err error) {
			*app, err = a.RegisterApp(ctx, *ten, admin.RegisterOptions{Name: "Payroll", RedirectURIs: []string{"https://payroll.test/cb"}})
			return err
		}},
		{"Update application", "", func(_ *store.Tenant, app *store.App, _ *store.User) (err error) {
			*app, err = a.AddRedirectURIs(ctx, *app, []string{"http://localhost:8080"})
			return err
		}},
		{"Update application", "", func(_ *store.Tenant, app *store.App, _ *store.User) (err error) {
			*app, err = a.Expose(ctx, *app, "api://payroll", []string{"Payroll.Read"}, []string{"Payroll.Admin"})
			return err
		}},
		{"Update application", "", func(_ *store.Tenant, app *store.App, _ *store.User) (err error) {
			*app, err = a.AddPermission(ctx, *app, app.ClientID, []string{"Payroll.Read"}, nil)
			return err
		}},
		{"Update application", "", func(_ *store.Tenant, app *store.App, _ *store.User) (err error) {
			name, life := "Payroll 2", 2*time.Hour
			*app, err = a.Set(ctx, *app, admin.AppSettings{Name: &name, AccessTokenLifetime: &life})
			return err
		}},
		{"Update application – Certificates and secrets management", "", func(_ *store.Tenant, app *store.App, _ *store.User) error {
			value, s, err := a.AddSecret(ctx, *app, "app secret", clock.AddDate(0, 6, 0))
			// The hint (three characters) is left out of the check: three
			// characters turn up in a page of JSON by chance.
			secrets = append(secrets, value)
			if s.Hint == "" {
				t.Error("the secret has no hint")
			}
			return err
		}},
		{"Update application – Certificates and secrets management", "", func(_ *store.Tenant, app *store.App, _ *store.User) error {
			list, err := a.Secrets(ctx, *app)
			if err != nil {
				return err
			}
			return a.RemoveSecret(ctx, *app, list[0].ID)
		}},
		{"Update application – Certificates and secrets management", "", func(_ *store.Tenant, app *store.App, _ *store.User) error {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return err
			}
			jwk, err := jose.JSONWebKey{Key: key.Public()}.MarshalJSON()
			if err != nil {
				return err
			}
			c, err := a.AddCredential(ctx, *app, jwk, "signing key")
			credentialID = c.ID
			return err
		}},
		{"Update application – Certificates and secrets management", "", func(_ *store.Tenant, app *store.App, _ *store.User) error {
			return a.RemoveCredential(ctx, *app, credentialID)
		}},
		{"Consent to application", "", func(_ *store.Tenant, app *store.App, _ *store.User) error {
			_, err := a.GrantAdminConsent(ctx, *app)
			return err
		}},
		{"Remove delegated permission grant", "", func(_ *store.Tenant, app *store.App, _ *store.User) error {
			return a.RevokeConsent(ctx, *app, "")
		}},
		{"Add user", "user", func(ten *store.Tenant, _ *store.App, user *store.User) error {
			u, pw, err := a.CreateUser(ctx, *ten, admin.UserOptions{Username: "bob@contoso.test", Name: "Bob"})
			*user = u
			secrets = append(secrets, pw)
			return err
		}},
		{"Reset user password", "user", func(_ *store.Tenant, _ *store.App, user *store.User) (err error) {
			secrets = append(secrets, "a new long uncommon one")
			*user, err = a.SetPassword(ctx, *user, "a new long uncommon one")
			return err
		}},
		{"Disable account", "user", func(_ *store.Tenant, _ *store.App, user *store.User) (err error) {
			*user, err = a.SetDisabled(ctx, *user, true)
			return err
		}},
		{"Add group", "group", func(ten *store.Tenant, _ *store.App, _ *store.User) (err error) {
			grp, err = a.CreateGroup(ctx, *ten, admin.GroupOptions{Name: "Payroll clerks"})
			return err
		}},
		{"Update group", "group", func(_ *store.Tenant, _ *store.App, _ *store.User) (err error) {
			name := "Payroll staff"
			grp, err = a.PatchGroup(ctx, grp, admin.GroupPatch{Name: &name})
			return err
		}},
		{"Add member to group", "group", func(ten *store.Tenant, _ *store.App, user *store.User) error {
			_, err := a.AddGroupMember(ctx, *ten, grp, user.ID)
			return err
		}},
		{"Update application", "", func(_ *store.Tenant, app *store.App, _ *store.User) (err error) {
			required, claims := true, "SecurityGroup"
			*app, err = a.Set(ctx, *app, admin.AppSettings{AppRoleAssignmentRequired: &required, GroupMembershipClaims: &claims})
			return err
		}},
		{"Add app role assignment", "", func(ten *store.Tenant, app *store.App, _ *store.User) (err error) {
			assignment, err = a.AssignAppRole(ctx, *ten, *app, grp.ID, "Payroll.Admin")
			return err
		}},
		{"Remove app role assignment", "", func(ten *store.Tenant, app *store.App, _ *store.User) error {
			return a.UnassignAppRole(ctx, *ten, *app, assignment.ID)
		}},
		{"Remove member from group", "group", func(ten *store.Tenant, _ *store.App, user *store.User) error {
			return a.RemoveGroupMember(ctx, *ten, grp, user.ID)
		}},
		{"Delete group", "group", func(_ *store.Tenant, _ *store.App, _ *store.User) error {
			return a.DeleteGroup(ctx, grp)
		}},
		{"Update sign-in lockout policy", "tenant", func(ten *store.Tenant, _ *store.App, _ *store.User) (err error) {
			threshold := 7
			*ten, err = a.SetLockout(ctx, *ten, admin.LockoutOptions{Threshold: &threshold})
			return err
		}},
		{"Rotate signing keys", "tenant", func(ten *store.Tenant, _ *store.App, _ *store.User) error {
			return a.RotateKeys(ctx, *ten, time.Hour)
		}},
	}
	var ten store.Tenant
	var app store.App
	var user store.User
	for i, step := range steps {
		if err := step.do(&ten, &app, &user); err != nil {
			t.Fatalf("%s: %v", step.activity, err)
		}
		entries, err := a.AuditLog(ctx, ten, store.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		// A tenant is created with its admin API and the CLI's app, app
		// registrations of its own, and the CLI's consent: four entries.
		if want := i + 4; len(entries) != want {
			t.Fatalf("after %q the log holds %d entries, want %d", step.activity, len(entries), want)
		}
		e := entries[0]
		if i == 0 {
			e = entries[3]
			for j, want := range []string{admin.CLIName, admin.CLIName, admin.AdminAPIName} {
				if entries[j].TargetName != want {
					t.Errorf("entry %d of the tenant's creation is %q %q, want one for %s", j, entries[j].Activity, entries[j].TargetName, want)
				}
			}
		}
		if e.Activity != step.activity || e.Result != store.AuditSuccess {
			t.Errorf("entry %d: %q %s, want %q success", i, e.Activity, e.Result, step.activity)
		}
		if e.ActorType != admin.ActorUser || e.ActorID != alice.ID || e.ActorName != alice.Name || e.ActorAddress != alice.Address {
			t.Errorf("%s: actor %s %s %s %s, want alice", step.activity, e.ActorType, e.ActorID, e.ActorName, e.ActorAddress)
		}
		want := map[string]string{"": app.ClientID, "user": user.ID, "tenant": ten.ID, "group": grp.ID}[step.target]
		if i == 0 {
			want = ten.ID
		}
		if e.TargetID != want {
			t.Errorf("%s: target %s %q, want %q", step.activity, e.TargetType, e.TargetID, want)
		}
		if got := e.ExpiresAt.Sub(e.Time); got != 30*24*time.Hour {
			t.Errorf("%s: kept for %s, want the 30 days set", step.activity, got)
		}
	}

	entries, err := a.AuditLog(ctx, ten, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	dump, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if len(s) < 8 || strings.Contains(string(dump), s) {
			t.Errorf("a secret (%d characters) is in the audit log, or was not captured", len(s))
		}
	}
	// What changed is told, as Graph's modifiedProperties.
	byActivity := map[string][]store.AuditChange{}
	for _, e := range entries {
		byActivity[e.Activity] = append(byActivity[e.Activity], e.Changes...)
	}
	for _, want := range []store.AuditChange{
		{Property: "redirectUris", Old: "[https://payroll.test/cb]", New: "[https://payroll.test/cb, http://localhost:8080]"},
		{Property: "displayName", Old: "Payroll", New: "Payroll 2"},
		{Property: "accessTokenLifetime", Old: "default", New: "2h0m0s"},
		{Property: "identifierUris", Old: "api://" + app.ClientID, New: "api://payroll"},
		{Property: "accountEnabled", Old: "true", New: "false"},
		{Property: "threshold", Old: "0", New: "7"},
		{Property: "displayName", Old: "Payroll clerks", New: "Payroll staff"},
		{Property: "appRoleAssignmentRequired", Old: "false", New: "true"},
		{Property: "groupMembershipClaims", New: "SecurityGroup"},
	} {
		found := false
		for _, list := range byActivity {
			for _, c := range list {
				found = found || c == want
			}
		}
		if !found {
			t.Errorf("no entry tells the change %+v", want)
		}
	}
}
