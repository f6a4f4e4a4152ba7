package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	a := store.Tenant{ID: "3f6c0d5e", Name: "contoso", SigningAlg: "RS256", CreatedAt: now}
	b := store.Tenant{ID: "9a1b2c3d", Name: "fabrikam", SigningAlg: "ES256", CreatedAt: now.Add(time.Hour)}
	ok(t, s.CreateTenant(ctx, a))
	ok(t, s.CreateTenant(ctx, b))

	for _, key := range []string{a.ID, a.Name} {
		got, err := s.GetTenant(ctx, key)
		ok(t, err)
		same(t, got, a)
	}
	_, err := s.GetTenant(ctx, "nope")
	isErr(t, err, store.ErrNotFound)

	isErr(t, s.CreateTenant(ctx, store.Tenant{ID: a.ID, Name: "other", SigningAlg: "RS256"}), store.ErrConflict)
	isErr(t, s.CreateTenant(ctx, store.Tenant{ID: "other", Name: a.Name, SigningAlg: "RS256"}), store.ErrConflict)

	all, err := s.ListTenants(ctx)
	ok(t, err)
	slices.SortFunc(all, func(x, y store.Tenant) int { return cmp.Compare(x.ID, y.ID) })
	same(t, all, []store.Tenant{a, b})
}

func testApps(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seedTenants(t, s)

	api := store.App{TenantID: t1, ClientID: "api-id", Name: "Orders API", IdentifierURI: "api://api-id",
		Scopes: []string{"orders.read", "orders.write"}, Roles: []string{"Orders.Admin"},
		ScopeDetails: map[string]store.ScopeDetail{
			"orders.read": {Type: store.ConsentByUser, AdminConsentDisplayName: "Read all orders",
				AdminConsentDescription: "Lets the app read every order in the organisation.",
				UserConsentDisplayName:  "Read your orders", UserConsentDescription: "Lets the app read the orders you placed: « Bestellungen » ✓"},
			"orders.write": {Type: store.ConsentByAdmin, AdminConsentDisplayName: `Write "all" orders <b>`},
		},
		ServicePrincipalID: "sp-api", CreatedAt: now, UpdatedAt: now}
	web := store.App{TenantID: t1, ClientID: "web-id", Name: "Web", IdentifierURI: "https://web.example",
		RedirectURIs:    []string{"https://web.example/cb", "http://localhost:8080/cb"},
		SPARedirectURIs: []string{"https://spa.example/"}, NativeRedirectURIs: []string{"http://localhost", "msal00000000://auth"},
		AllowPublicClientFlows: true,
		Permissions: []store.Permission{
			{ResourceID: "", Kind: store.KindScope, Value: "openid"},
			{ResourceID: "api-id", Kind: store.KindScope, Value: "orders.read"},
			{ResourceID: "api-id", Kind: store.KindRole, Value: "Orders.Admin"},
		},
		ServicePrincipalID: "sp-web", AllowPlainPKCE: true,
		PostLogoutRedirectURIs:   []string{"https://web.example/signed-out", "http://localhost:8080/"},
		LogoutKeepsRefreshTokens: true,
		FrontChannelLogoutURI:    "https://web.example/front-channel-logout?tab=1",
		AccessTokenLifetime:      30 * time.Minute, RefreshTokenLifetime: 90 * 24 * time.Hour,
		RefreshTokenIdleLifetime: 14 * 24 * time.Hour,
		CreatedAt:                now.Add(time.Second), UpdatedAt: now.Add(2 * time.Second)}
	ok(t, s.CreateApp(ctx, api))
	ok(t, s.CreateApp(ctx, web))

	for _, want := range []store.App{api, web} {
		got, err := s.GetApp(ctx, t1, want.ClientID)
		ok(t, err)
		same(t, got, want)
	}
	for id, want := range map[string]store.App{"api://api-id": api, "api-id": api, "web-id": web, "https://web.example": web} {
		got, err := s.GetAppByIdentifier(ctx, t1, id)
		ok(t, err)
		same(t, got, want)
	}
	for _, id := range []string{"nope", "api://nope", ""} {
		_, err := s.GetAppByIdentifier(ctx, t1, id)
		isErr(t, err, store.ErrNotFound)
	}
	_, err := s.GetApp(ctx, t1, "nope")
	isErr(t, err, store.ErrNotFound)

	// Client ids and identifier URIs are unique per tenant.
	dup := web
	dup.IdentifierURI = "https://other.example"
	isErr(t, s.CreateApp(ctx, dup), store.ErrConflict)
	dup = api
	dup.ClientID = "other-id"
	isErr(t, s.CreateApp(ctx, dup), store.ErrConflict)
	dup.TenantID = t2
	ok(t, s.CreateApp(ctx, dup))
	// Apps that expose no API have no identifier URI, and that is no conflict.
	for _, id := range []string{"cli-1", "cli-2"} {
		ok(t, s.CreateApp(ctx, store.App{TenantID: t1, ClientID: id, Name: id, Public: true, CreatedAt: now}))
	}
	_, err = s.GetAppByIdentifier(ctx, t1, "")
	isErr(t, err, store.ErrNotFound)

	all, err := s.ListApps(ctx, t1)
	ok(t, err)
	if len(all) != 4 {
		t.Fatalf("ListApps: got %d apps, want 4", len(all))
	}
	slices.SortFunc(all, func(x, y store.App) int { return cmp.Compare(x.ClientID, y.ClientID) })
	same(t, all[0], api)
	same(t, all[3], web)

	changed := web
	changed.Name = "Web (renamed)"
	changed.Public = true
	changed.RedirectURIs = []string{"https://web.example/callback"}
	changed.SPARedirectURIs, changed.NativeRedirectURIs = []string{"https://spa.example/app"}, nil
	changed.IdentifierURI = "api://web-id"
	changed.Scopes = []string{"profile.read"}
	changed.ScopeDetails = map[string]store.ScopeDetail{"profile.read": {Type: store.ConsentByAdmin, UserConsentDescription: "Read your profile"}}
	changed.Roles = []string{"Reader"}
	changed.Permissions = []store.Permission{{ResourceID: "api-id", Kind: store.KindScope, Value: "orders.write"}}
	changed.AllowPlainPKCE = false
	changed.PostLogoutRedirectURIs = []string{"https://web.example/bye"}
	changed.LogoutKeepsRefreshTokens = false
	changed.FrontChannelLogoutURI = ""
	changed.AccessTokenLifetime = time.Hour
	changed.RefreshTokenLifetime = 0
	changed.RefreshTokenIdleLifetime = 7 * 24 * time.Hour
	changed.UpdatedAt = now.Add(time.Hour)
	ok(t, s.UpdateApp(ctx, changed))
	got, err := s.GetApp(ctx, t1, web.ClientID)
	ok(t, err)
	same(t, got, changed)
	got, err = s.GetAppByIdentifier(ctx, t1, "api://web-id")
	ok(t, err)
	same(t, got, changed)
	_, err = s.GetAppByIdentifier(ctx, t1, "https://web.example")
	isErr(t, err, store.ErrNotFound)

	taken := changed
	taken.IdentifierURI = api.IdentifierURI
	isErr(t, s.UpdateApp(ctx, taken), store.ErrConflict)
	got, err = s.GetApp(ctx, t1, web.ClientID)
	ok(t, err)
	same(t, got, changed)

	// An app whose scopes no longer say anything reads back without details.
	plain := api
	plain.ScopeDetails = nil
	plain.UpdatedAt = now.Add(time.Hour)
	ok(t, s.UpdateApp(ctx, plain))
	got, err = s.GetApp(ctx, t1, api.ClientID)
	ok(t, err)
	same(t, got, plain)

	missing := changed
	missing.ClientID = "nope"
	isErr(t, s.UpdateApp(ctx, missing), store.ErrNotFound)
}

func testClientSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	a := store.ClientSecret{ID: "s1", TenantID: t1, ClientID: "web", Description: "CI", Hint: "Xy7",
		Hash: hash("secret one"), ExpiresAt: now.Add(180 * 24 * time.Hour), CreatedAt: now}
	b := store.ClientSecret{ID: "s2", TenantID: t1, ClientID: "web", Description: "never expires", Hint: "Q2w",
		Hash: hash("secret two"), CreatedAt: now.Add(time.Minute)}
	ok(t, s.AddClientSecret(ctx, a))
	ok(t, s.AddClientSecret(ctx, b))
	isErr(t, s.AddClientSecret(ctx, a), store.ErrConflict)

	list := func(tenantID, clientID string) []store.ClientSecret {
		t.Helper()
		cs, err := s.ListClientSecrets(ctx, tenantID, clientID)
		ok(t, err)
		slices.SortFunc(cs, func(x, y store.ClientSecret) int { return cmp.Compare(x.ID, y.ID) })
		return cs
	}
	same(t, list(t1, "web"), []store.ClientSecret{a, b})
	same(t, list(t1, "api"), nil)
	same(t, list(t2, "web"), nil)

	ok(t, s.RemoveClientSecret(ctx, t1, "web", "s1"))
	same(t, list(t1, "web"), []store.ClientSecret{b})
	isErr(t, s.RemoveClientSecret(ctx, t1, "web", "s1"), store.ErrNotFound)
	isErr(t, s.RemoveClientSecret(ctx, t1, "api", "s2"), store.ErrNotFound)
	same(t, list(t1, "web"), []store.ClientSecret{b})
}

func testAppCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	cert := store.AppCredential{ID: "x5t-s256-cert", TenantID: t1, ClientID: "web", Kind: store.CredentialCertificate,
		Description: "CI certificate", PublicKey: []byte{0x30, 0x82, 0x01, 0x0a}, SHA1Thumbprint: hash("sha1")[:20],
		SHA256Thumbprint: hash("cert"), ExpiresAt: now.Add(365 * 24 * time.Hour), CreatedAt: now}
	jwk := store.AppCredential{ID: "jwk-thumbprint", TenantID: t1, ClientID: "web", Kind: store.CredentialJWK,
		PublicKey: []byte(`{"kty":"EC","crv":"P-256","x":"...","y":"..."}`), SHA256Thumbprint: hash("jwk"),
		CreatedAt: now.Add(time.Minute)}
	ok(t, s.AddAppCredential(ctx, cert))
	ok(t, s.AddAppCredential(ctx, jwk))
	isErr(t, s.AddAppCredential(ctx, cert), store.ErrConflict)
	// The same key may serve two apps, or two tenants.
	shared := cert
	shared.ClientID = "api"
	ok(t, s.AddAppCredential(ctx, shared))
	other := cert
	other.TenantID = t2
	ok(t, s.AddAppCredential(ctx, other))

	list := func(tenantID, clientID string) []store.AppCredential {
		t.Helper()
		cs, err := s.ListAppCredentials(ctx, tenantID, clientID)
		ok(t, err)
		slices.SortFunc(cs, func(x, y store.AppCredential) int { return cmp.Compare(x.ID, y.ID) })
		return cs
	}
	same(t, list(t1, "web"), []store.AppCredential{jwk, cert})
	same(t, list(t1, "api"), []store.AppCredential{shared})
	same(t, list(t2, "web"), []store.AppCredential{other})
	same(t, list(t2, "api"), nil)

	ok(t, s.RemoveAppCredential(ctx, t1, "web", cert.ID))
	same(t, list(t1, "web"), []store.AppCredential{jwk})
	same(t, list(t1, "api"), []store.AppCredential{shared})
	same(t, list(t2, "web"), []store.AppCredential{other})
	isErr(t, s.RemoveAppCredential(ctx, t1, "web", cert.ID), store.ErrNotFound)
	isErr(t, s.RemoveAppCredential(ctx, t1, "api", jwk.ID), store.ErrNotFound)
	same(t, list(t1, "web"), []store.AppCredential{jwk})
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seedTenants(t, s)

	alice := store.User{ID: "u-alice", TenantID: t1, Username: "Alice@Example.com", Email: "alice@example.com",
		Name: "Alice", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", CreatedAt: now, UpdatedAt: now}
	bob := store.User{ID: "u-bob", TenantID: t1, Username: "bob", CreatedAt: now}
	ok(t, s.CreateUser(ctx, alice))
	ok(t, s.CreateUser(ctx, bob))

	got, err := s.GetUser(ctx, t1, alice.ID)
	ok(t, err)
	same(t, got, alice)
	for _, name := range []string{"Alice@Example.com", "alice@example.com", "ALICE@EXAMPLE.COM"} {
		got, err := s.GetUserByUsername(ctx, t1, name)
		ok(t, err)
		same(t, got, alice)
	}
	_, err = s.GetUser(ctx, t1, "nope")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, t1, "nope")
	isErr(t, err, store.ErrNotFound)

	isErr(t, s.CreateUser(ctx, store.User{ID: "u-other", TenantID: t1, Username: "aLiCe@example.COM"}), store.ErrConflict)
	isErr(t, s.CreateUser(ctx, store.User{ID: alice.ID, TenantID: t1, Username: "carol"}), store.ErrConflict)
	// Usernames are unique per tenant only.
	ok(t, s.CreateUser(ctx, store.User{ID: "u-alice-2", TenantID: t2, Username: "alice@example.com"}))

	all, err := s.ListUsers(ctx, t1)
	ok(t, err)
	slices.SortFunc(all, func(x, y store.User) int { return cmp.Compare(x.ID, y.ID) })
	same(t, all, []store.User{alice, bob})

	changed := alice
	changed.Email = "alice@contoso.com"
	changed.Name = "Alice A."
	changed.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3"
	changed.Disabled = true
	changed.Username = "mallory" // not one of the fields UpdateUser replaces
	changed.UpdatedAt = now.Add(time.Hour)
	ok(t, s.UpdateUser(ctx, changed))
	got, err = s.GetUserByUsername(ctx, t1, alice.Username)
	ok(t, err)
	want := alice
	want.Email, want.Name, want.PasswordHash, want.Disabled = changed.Email, changed.Name, changed.PasswordHash, true
	got.UpdatedAt = want.UpdatedAt // bookkeeping the contract leaves open
	same(t, got, want)
	_, err = s.GetUserByUsername(ctx, t1, "mallory")
	isErr(t, err, store.ErrNotFound)

	missing := changed
	missing.ID = "nope"
	isErr(t, s.UpdateUser(ctx, missing), store.ErrNotFound)
}

func testConsents(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	consent := func(client, principal, resource string, kind store.PermissionKind, value string) store.Consent {
		return store.Consent{TenantID: t1, ClientID: client, PrincipalID: principal, ResourceID: resource,
			Kind: kind, Value: value, CreatedAt: now}
	}
	u1 := []store.Consent{
		consent("web", "u1", "", store.KindScope, "openid"),
		consent("web", "u1", "", store.KindScope, "offline_access"),
		consent("web", "u1", "api", store.KindScope, "read"),
	}
	u2 := []store.Consent{consent("web", "u2", "api", store.KindScope, "write")}
	admin := []store.Consent{
		consent("web", "", "api", store.KindRole, "Orders.Admin"),
		consent("web", "", "api", store.KindScope, "read"),
	}
	otherClient := []store.Consent{consent("api", "u1", "", store.KindScope, "openid")}

	ok(t, s.AddConsents(ctx, u1))
	ok(t, s.AddConsents(ctx, u1))                                   // granting again is fine
	ok(t, s.AddConsents(ctx, []store.Consent{u1[0], u1[0], u2[0]})) // even twice in one call
	ok(t, s.AddConsents(ctx, admin))
	ok(t, s.AddConsents(ctx, otherClient))
	ok(t, s.AddConsents(ctx, nil))

	list := func(client, principal string) []store.Consent {
		t.Helper()
		cs, err := s.ListConsents(ctx, t1, client, principal)
		ok(t, err)
		return sortConsents(cs)
	}
	same(t, list("web", "u1"), sortConsents(slices.Concat(u1, admin)))
	same(t, list("web", "u2"), sortConsents(slices.Concat(u2, admin)))
	same(t, list("web", "u3"), sortConsents(admin))
	same(t, list("web", ""), sortConsents(admin))
	same(t, list("api", "u1"), otherClient)
	cs, err := s.ListConsents(ctx, t2, "web", "u1")
	ok(t, err)
	same(t, cs, nil)

	ok(t, s.RemoveConsents(ctx, t1, "web", "u1"))
	same(t, list("web", "u1"), sortConsents(admin))
	same(t, list("web", "u2"), sortConsents(slices.Concat(u2, admin)))
	same(t, list("api", "u1"), otherClient)

	ok(t, s.RemoveConsents(ctx, t1, "web", ""))
	same(t, list("web", "u2"), u2)
	same(t, list("web", ""), nil)
}

func sortConsents(cs []store.Consent) []store.Consent {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(x, y store.Consent) int {
		return cmp.Or(cmp.Compare(x.ClientID, y.ClientID), cmp.Compare(x.PrincipalID, y.PrincipalID),
			cmp.Compare(x.ResourceID, y.ResourceID), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Value, y.Value))
	})
	return cs
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seedTenants(t, s)

	key := func(tenant, id string, status store.KeyStatus, created, expires time.Time) store.SigningKey {
		return store.SigningKey{TenantID: tenant, ID: id, Alg: "RS256", Status: status,
			PrivateKey: []byte("sealed " + id), PublicJWK: []byte(`{"kid":"` + id + `"}`),
			CreatedAt: created, ExpiresAt: expires}
	}
	day := 24 * time.Hour
	gone := key(t1, "k1", store.KeyRetired, now.Add(-90*day), now.Add(-time.Hour))
	edge := key(t1, "k2", store.KeyRetired, now.Add(-60*day), now) // expires exactly now: gone
	retired := key(t1, "k3", store.KeyRetired, now.Add(-30*day), now.Add(time.Hour))
	active := key(t1, "k4", store.KeyActive, now.Add(-day), time.Time{})
	next := key(t1, "k5", store.KeyNext, now, time.Time{})
	only := key(t2, "k6", store.KeyActive, now, time.Time{})
	for _, k := range []store.SigningKey{gone, edge, retired, active, next, only} {
		ok(t, s.AddSigningKey(ctx, k))
	}
	isErr(t, s.AddSigningKey(ctx, key(t1, "k3", store.KeyRetired, now, now)), store.ErrConflict)

	list := func(tenant string, at time.Time) []store.SigningKey {
		t.Helper()
		ks, err := s.ListSigningKeys(ctx, tenant, at)
		ok(t, err)
		slices.SortFunc(ks, func(x, y store.SigningKey) int { return cmp.Compare(x.ID, y.ID) })
		return ks
	}
	same(t, list(t1, now), []store.SigningKey{retired, active, next})
	same(t, list(t1, now.Add(2*time.Hour)), []store.SigningKey{active, next})
	same(t, list(t2, now), []store.SigningKey{only})

	newNext := key(t1, "k7", store.KeyNext, now.Add(time.Minute), time.Time{})
	ok(t, s.RotateSigningKeys(ctx, t1, newNext, now.Add(2*day)))
	wasActive, wasNext := active, next
	wasActive.Status, wasActive.ExpiresAt = store.KeyRetired, now.Add(2*day)
	wasNext.Status = store.KeyActive
	same(t, list(t1, now), []store.SigningKey{retired, wasActive, wasNext, newNext})
	same(t, list(t1, now.Add(3*day)), []store.SigningKey{wasNext, newNext})

	// t2 has no next key to activate: nothing changes.
	if err := s.RotateSigningKeys(ctx, t2, key(t2, "k8", store.KeyNext, now, time.Time{}), now.Add(day)); err == nil {
		t.Fatal("RotateSigningKeys without a next key: got nil error")
	}
	same(t, list(t2, now), []store.SigningKey{only})
}

// testUsersPage: pages of users follow one another without a gap or a
// repeat, whatever the engine's order; search finds usernames and display
// names in any case and takes LIKE's wildcards literally; other tenants'
// users never appear.
func testUsersPage(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seedTenants(t, s)
	names := []string{"Zoe", "adam", "Émile", "bob_smith", "bob.smith", "Carol", "dave%", "eve", "Frank", "grace"}
	for i, n := range names {
		u := store.User{ID: fmt.Sprintf("u-page-%d", i), TenantID: t1, Username: n, Name: "Person " + strings.ToUpper(n),
			PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateUser(ctx, store.User{ID: "u-page-other", TenantID: t2, Username: "adam2", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(names) {
			t.Fatal("paging does not end")
		}
		page, err := s.ListUsersPage(ctx, t1, store.UserQuery{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("a page of 3 holds %d users", len(page))
		}
		for _, u := range page {
			seen = append(seen, u.Username)
		}
		if len(page) < 3 {
			break
		}
		after = store.UserKey(page[len(page)-1].Username)
	}
	got, want := slices.Clone(seen), slices.Clone(names)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("pages held %v, want each of %v once", seen, names)
	}
	search := func(text string) []string {
		t.Helper()
		page, err := s.ListUsersPage(ctx, t1, store.UserQuery{Search: text, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range page {
			out = append(out, u.Username)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		search string
		want   []string
	}{
		{"BOB", []string{"bob.smith", "bob_smith"}},
		{"b_s", []string{"bob_smith"}},
		{"%", []string{"dave%"}},
		{"person car", []string{"Carol"}},
		{"PERSON ÉMILE", []string{"Émile"}},
		{"person émile", []string{"Émile"}},
		{"adam", []string{"adam"}},
		{"nobody", nil},
	} {
		if got := search(c.search); !slices.Equal(got, c.want) {
			t.Errorf("search %q found %v, want %v", c.search, got, c.want)
		}
	}
	if page, err := s.ListUsersPage(ctx, t1, store.UserQuery{Limit: 0}); err != nil || len(page) != 0 {
		t.Errorf("a page of 0: %v %v", page, err)
	}
}
