package readcache_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/readcache"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/store/storetest"
)

func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The wrapper must keep every contract the conformance suite checks.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		// Handles stand for instances: a write through one flushes the
		// others, as PostgreSQL's notifications do between processes.
		path := filepath.Join(t.TempDir(), "tessera.db")
		var handles []*readcache.Store
		add := func() store.Store {
			h := readcache.New(openSQLite(t, path), time.Minute, nil)
			for _, o := range handles {
				h.OnWrite(o.Flush)
				o.OnWrite(h.Flush)
			}
			handles = append(handles, h)
			return h
		}
		return add(), add
	})
}

func TestCachesUntilToldOfAChange(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tessera.db")
	other := openSQLite(t, path) // another process, writing behind the cache's back
	changes := make(chan struct{})
	c := readcache.New(openSQLite(t, path), time.Hour, changes)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := other.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "one", SigningAlg: "RS256", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	app := store.App{TenantID: "t1", ClientID: "c1", Name: "before", IdentifierURI: "api://c1", ServicePrincipalID: "sp", CreatedAt: now, UpdatedAt: now}
	if err := other.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetApp(ctx, "t1", "c1"); err != nil || got.Name != "before" {
		t.Fatalf("%v %v", got, err)
	}
	app.Name = "after"
	if err := other.UpdateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetApp(ctx, "t1", "c1"); got.Name != "before" {
		t.Fatalf("not cached: %q", got.Name)
	}
	changes <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := c.GetApp(ctx, "t1", "c1"); got.Name == "after" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a change notification did not flush the cache")
		}
		time.Sleep(time.Millisecond)
	}
	// Misses are not cached: an app created later is found at once.
	if _, err := c.GetApp(ctx, "t1", "c2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	app.ClientID, app.IdentifierURI = "c2", "api://c2"
	if err := other.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetApp(ctx, "t1", "c2"); err != nil {
		t.Fatalf("a miss was cached: %v", err)
	}
}

func TestWritesThroughTheWrapperFlush(t *testing.T) {
	ctx := context.Background()
	c := readcache.New(openSQLite(t, filepath.Join(t.TempDir(), "tessera.db")), time.Hour, nil)
	now := time.Now().UTC()
	_ = c.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "one", SigningAlg: "RS256", CreatedAt: now})
	_ = c.CreateApp(ctx, store.App{TenantID: "t1", ClientID: "c1", Name: "a", IdentifierURI: "api://c1", ServicePrincipalID: "sp", CreatedAt: now, UpdatedAt: now})
	if list, _ := c.ListClientSecrets(ctx, "t1", "c1"); len(list) != 0 {
		t.Fatal(list)
	}
	if err := c.AddClientSecret(ctx, store.ClientSecret{ID: "s1", TenantID: "t1", ClientID: "c1", Hash: []byte("h"), Hint: "abc", ExpiresAt: now.Add(time.Hour), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.ListClientSecrets(ctx, "t1", "c1"); len(list) != 1 {
		t.Fatalf("a secret added through the wrapper is not seen: %v", list)
	}
}

func TestVersionedSeesOtherProcessesWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tessera.db")
	other := openSQLite(t, path) // the admin CLI, in another process
	inner := openSQLite(t, path).(*sqlstore.SQLite)
	c := readcache.NewVersioned(inner, inner, time.Hour, 0)
	now := time.Now().UTC().Truncate(time.Millisecond)
	_ = other.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "one", SigningAlg: "RS256", CreatedAt: now})
	app := store.App{TenantID: "t1", ClientID: "c1", Name: "before", IdentifierURI: "api://c1", ServicePrincipalID: "sp", CreatedAt: now, UpdatedAt: now}
	_ = other.CreateApp(ctx, app)
	if got, err := c.GetApp(ctx, "t1", "c1"); err != nil || got.Name != "before" {
		t.Fatalf("%v %v", got, err)
	}
	app.Name = "after"
	if err := other.UpdateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetApp(ctx, "t1", "c1"); got.Name != "after" {
		t.Fatalf("a change by another process was hidden: %q", got.Name)
	}
	// Token writes do not move the version: the cache stays warm.
	before, _ := inner.DirectoryVersion(ctx)
	_ = other.CreateSession(ctx, store.Session{ID: "s", Hash: []byte("h"), TenantID: "t1", UserID: "u", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if after, _ := inner.DirectoryVersion(ctx); after != before {
		t.Errorf("a session write moved the directory version %d -> %d", before, after)
	}
}

// What the cache hands out is the caller's to change: changing a returned
// app's slices, a secret's hash or a key's bytes, then reading again,
// gives the stored values back, not the changed ones.
func TestHandedOutValuesAreCopies(t *testing.T) {
	ctx := t.Context()
	c := readcache.New(openSQLite(t, filepath.Join(t.TempDir(), "tessera.db")), time.Hour, nil)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := c.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "one", SigningAlg: "RS256", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	app := store.App{TenantID: "t1", ClientID: "c1", Name: "a", IdentifierURI: "api://c1", ServicePrincipalID: "sp",
		RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"read"}, Roles: []string{"admin"},
		Permissions:            []store.Permission{{ResourceID: "c1", Kind: store.KindScope, Value: "read"}},
		PostLogoutRedirectURIs: []string{"https://a.example/bye"}, CreatedAt: now, UpdatedAt: now,
		ScopeDetails: map[string]store.ScopeDetail{"read": {Type: store.ConsentByAdmin, UserConsentDisplayName: "Read"}}}
	if err := c.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := c.AddClientSecret(ctx, store.ClientSecret{ID: "s1", TenantID: "t1", ClientID: "c1", Hash: []byte("hash"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddSigningKey(ctx, store.SigningKey{TenantID: "t1", ID: "k1", Alg: "RS256", Status: store.KeyActive,
		PrivateKey: []byte("sealed"), PublicJWK: []byte("{}"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, get := range []func() (store.App, error){
		func() (store.App, error) { return c.GetApp(ctx, "t1", "c1") },
		func() (store.App, error) { return c.GetAppByIdentifier(ctx, "t1", "api://c1") },
	} {
		for range 2 { // a miss, then a hit
			got, err := get()
			if err != nil {
				t.Fatal(err)
			}
			got.RedirectURIs[0], got.Scopes[0], got.Roles[0] = "https://evil.example/cb", "write", "root"
			got.Permissions[0].Value = "write"
			got.PostLogoutRedirectURIs[0] = "https://evil.example/bye"
			got.ScopeDetails["read"] = store.ScopeDetail{Type: store.ConsentByUser, UserConsentDisplayName: "Anything"}
			got.ScopeDetails["write"] = store.ScopeDetail{}
			_ = append(got.RedirectURIs[:0], "https://evil.example/other")
		}
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if got.RedirectURIs[0] != app.RedirectURIs[0] || got.Scopes[0] != "read" || got.Roles[0] != "admin" ||
			got.Permissions[0].Value != "read" || got.PostLogoutRedirectURIs[0] != app.PostLogoutRedirectURIs[0] ||
			!maps.Equal(got.ScopeDetails, app.ScopeDetails) {
			t.Errorf("a caller's change reached the cache: %+v", got)
		}
	}
	for range 2 {
		secrets, err := c.ListClientSecrets(ctx, "t1", "c1")
		if err != nil || len(secrets) != 1 {
			t.Fatalf("%v %v", secrets, err)
		}
		secrets[0].Hash[0] = 'X'
		secrets[0].ID = "changed"
	}
	if secrets, _ := c.ListClientSecrets(ctx, "t1", "c1"); string(secrets[0].Hash) != "hash" || secrets[0].ID != "s1" {
		t.Errorf("a caller's change reached the cached secrets: %+v", secrets[0])
	}
	for range 2 {
		keys, err := c.ListSigningKeys(ctx, "t1", now)
		if err != nil || len(keys) != 1 {
			t.Fatalf("%v %v", keys, err)
		}
		keys[0].PrivateKey[0], keys[0].PublicJWK[0] = 'X', 'X'
	}
	if keys, _ := c.ListSigningKeys(ctx, "t1", now); string(keys[0].PrivateKey) != "sealed" || string(keys[0].PublicJWK) != "{}" {
		t.Errorf("a caller's change reached the cached keys: %+v", keys[0])
	}
}

// Wrap finds how a store tells of other processes' changes: SQLite's
// directory version here, checked on every read with a zero interval.
func TestWrapDiscoversTheDirectoryVersion(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	other := openSQLite(t, path)
	c := readcache.Wrap(ctx, openSQLite(t, path), time.Hour, 0)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := other.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "before", SigningAlg: "RS256", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetTenant(ctx, "t1"); err != nil || got.Name != "before" {
		t.Fatalf("%v %v", got, err)
	}
	if err := other.SetTenantLockout(ctx, "t1", store.LockoutSettings{Threshold: 3}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetTenant(ctx, "t1"); got.Lockout.Threshold != 3 {
		t.Errorf("a change by another process was hidden: %+v", got.Lockout)
	}
}

// A user's withdrawn consent stops counting at once: the token endpoint
// reads consents through the cache.
func TestWithdrawConsentFlushes(t *testing.T) {
	ctx := context.Background()
	c := readcache.New(openSQLite(t, filepath.Join(t.TempDir(), "tessera.db")), time.Hour, nil)
	now := time.Now().UTC()
	_ = c.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "one", SigningAlg: "RS256", CreatedAt: now})
	_ = c.CreateApp(ctx, store.App{TenantID: "t1", ClientID: "c1", Name: "a", IdentifierURI: "api://c1", ServicePrincipalID: "sp", CreatedAt: now, UpdatedAt: now})
	if err := c.AddConsents(ctx, []store.Consent{{TenantID: "t1", ClientID: "c1", PrincipalID: "u1", Kind: store.KindScope, Value: "openid", CreatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.ListConsents(ctx, "t1", "c1", "u1"); len(list) != 1 {
		t.Fatal(list)
	}
	if err := c.WithdrawConsent(ctx, "t1", "c1", "u1", now); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.ListConsents(ctx, "t1", "c1", "u1"); len(list) != 0 {
		t.Fatalf("a consent withdrawn through the wrapper is still served: %v", list)
	}
}
