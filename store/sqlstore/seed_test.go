package sqlstore_test

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// TestSeed: rows loaded in bulk, more of them than one statement or one
// transaction holds, read back exactly as the one-row methods would have
// written them.
func TestSeed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		st := e.open(t, e.fresh(t))
		seed := st.(interface {
			SeedInTransactionsOf(int) sqlstore.Seed
		}).SeedInTransactionsOf(1000)
		ctx := t.Context()
		now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
		tenants := []store.Tenant{{ID: "t-1", Name: "one", SigningAlg: "EdDSA", CreatedAt: now},
			{ID: "t-2", Name: "two", SigningAlg: "RS256", CreatedAt: now, Lockout: store.LockoutSettings{Threshold: 3}}}
		if err := seed.Tenants(ctx, tenants); err != nil {
			t.Fatal(err)
		}
		key := store.SigningKey{TenantID: "t-1", ID: "k-1", Alg: "EdDSA", Status: store.KeyActive, PrivateKey: []byte("sealed"),
			PublicJWK: []byte(`{"kty":"OKP"}`), CreatedAt: now}
		if err := seed.SigningKeys(ctx, []store.SigningKey{key}); err != nil {
			t.Fatal(err)
		}
		apps := []store.App{{TenantID: "t-1", ClientID: "app-1", Name: "App", RedirectURIs: []string{"https://a.example/cb"},
			Scopes: []string{"read"}, Permissions: []store.Permission{{ResourceID: "app-1", Kind: store.KindScope, Value: "read"}},
			ServicePrincipalID: "sp-1", CreatedAt: now, UpdatedAt: now}}
		if err := seed.Apps(ctx, apps); err != nil {
			t.Fatal(err)
		}
		// The same app written one row at a time, for what reading it back
		// gives (an engine may give an empty list for none).
		oneByOne := apps[0]
		oneByOne.TenantID = "t-2"
		if err := st.CreateApp(ctx, oneByOne); err != nil {
			t.Fatal(err)
		}
		wantApp, err := st.GetApp(ctx, "t-2", "app-1")
		if err != nil {
			t.Fatal(err)
		}
		wantApp.TenantID = "t-1"
		// More users than one transaction holds, so the load spans several.
		const n = 2001
		users := make([]store.User, n)
		fams := make([]store.RefreshFamily, n)
		firsts := make([]store.RefreshToken, n)
		for i := range users {
			users[i] = store.User{ID: fmt.Sprintf("u-%d", i), TenantID: "t-1", Username: fmt.Sprintf("user-%d@example.test", i),
				PasswordHash: "$argon2id$hash", CreatedAt: now, UpdatedAt: now}
			fams[i] = store.RefreshFamily{ID: fmt.Sprintf("f-%d", i), TenantID: "t-1", ClientID: "app-1", UserID: users[i].ID,
				SessionID: "s", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
			h := sha256.Sum256([]byte(fams[i].ID))
			firsts[i] = store.RefreshToken{Hash: h[:], Grant: store.Grant{OIDCScopes: []string{"openid", "offline_access"}},
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		}
		if err := seed.Users(ctx, users); err != nil {
			t.Fatal(err)
		}
		if err := seed.RefreshFamilies(ctx, fams, firsts); err != nil {
			t.Fatal(err)
		}

		gotTenant, err := st.GetTenant(ctx, "two")
		if err != nil || !reflect.DeepEqual(gotTenant, tenants[1]) {
			t.Errorf("tenant: %+v %v", gotTenant, err)
		}
		keys, err := st.ListSigningKeys(ctx, "t-1", now)
		if err != nil || len(keys) != 1 || !reflect.DeepEqual(keys[0], key) {
			t.Errorf("keys: %+v %v", keys, err)
		}
		gotApp, err := st.GetApp(ctx, "t-1", "app-1")
		if err != nil || !reflect.DeepEqual(gotApp, wantApp) {
			t.Errorf("app: %+v %v", gotApp, err)
		}
		for _, i := range []int{0, n / 2, n - 1} {
			u, err := st.GetUserByUsername(ctx, "t-1", users[i].Username)
			if err != nil || !reflect.DeepEqual(u, users[i]) {
				t.Errorf("user %d: %+v %v", i, u, err)
			}
			tok, fam, err := st.GetRefreshToken(ctx, "t-1", firsts[i].Hash)
			want := firsts[i]
			want.TenantID, want.FamilyID = "t-1", fams[i].ID
			if err != nil || !reflect.DeepEqual(tok, want) || !reflect.DeepEqual(fam, fams[i]) {
				t.Errorf("family %d: %+v %+v %v", i, tok, fam, err)
			}
		}
		all, err := st.ListUsers(ctx, "t-1")
		if err != nil || len(all) != n {
			t.Errorf("%d users listed (%v), want %d", len(all), err, n)
		}
	})
}
