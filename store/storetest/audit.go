package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

func auditEntry(tenant, id string, kind store.AuditKind, at time.Time) store.AuditEntry {
	return store.AuditEntry{
		TenantID: tenant, ID: id, Kind: kind, Time: at,
		Category: "ApplicationManagement", Activity: "Update application", Result: store.AuditSuccess,
		ActorType: "user", ActorID: "u1", ActorName: "admin@example.com", ActorAddress: "192.0.2.7",
		TargetType: "application", TargetID: "web", TargetName: "Web ✓ 'quoted' \"app\"",
		Changes:   []store.AuditChange{{Property: "web.redirectUris", Old: "[]", New: `["http://localhost:8080"]`}, {Property: "displayName", New: "Web"}},
		ExpiresAt: at.Add(90 * 24 * time.Hour),
	}
}

// testAuditLog: entries come back whole, newest first, one log at a time,
// a page at a time from a cursor, filtered, and only the tenant's own.
func testAuditLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	var written []store.AuditEntry
	for i := range 7 {
		// Two entries share each millisecond, so the cursor's id breaks ties.
		e := auditEntry(t1, fmt.Sprintf("e%d", i), store.AuditDirectory, now.Add(time.Duration(i/2)*time.Millisecond))
		if i == 3 {
			e.Result, e.Reason, e.Activity = store.AuditFailure, "the App ID URI is taken", "Add application"
		}
		ok(t, s.AppendAudit(ctx, e))
		written = append(written, e)
	}
	ok(t, s.AppendAudit(ctx, auditEntry(t1, "signin", store.AuditSignIn, now)))
	ok(t, s.AppendAudit(ctx, auditEntry(t2, "other", store.AuditDirectory, now)))

	all, err := s.ListAudit(ctx, t1, store.AuditQuery{Kind: store.AuditDirectory})
	ok(t, err)
	var want []store.AuditEntry
	for i := len(written) - 1; i >= 0; i-- {
		want = append(want, written[i])
	}
	same(t, all, want)

	var paged []store.AuditEntry
	q := store.AuditQuery{Kind: store.AuditDirectory, Limit: 3}
	for range 5 {
		page, err := s.ListAudit(ctx, t1, q)
		ok(t, err)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		last := page[len(page)-1]
		q.Before, q.BeforeID = last.Time, last.ID
	}
	same(t, paged, want)

	signIns, err := s.ListAudit(ctx, t1, store.AuditQuery{Kind: store.AuditSignIn})
	ok(t, err)
	if len(signIns) != 1 || signIns[0].ID != "signin" {
		t.Errorf("sign-in log: got %+v", signIns)
	}
	for _, tc := range []struct {
		q    store.AuditQuery
		want int
	}{
		{store.AuditQuery{Result: store.AuditFailure}, 1},
		{store.AuditQuery{Activity: "Update application"}, 6},
		{store.AuditQuery{ActorID: "u1", TargetID: "web"}, 7},
		{store.AuditQuery{TargetID: "api"}, 0},
		{store.AuditQuery{Category: "UserManagement"}, 0},
	} {
		tc.q.Kind = store.AuditDirectory
		got, err := s.ListAudit(ctx, t1, tc.q)
		ok(t, err)
		if len(got) != tc.want {
			t.Errorf("%+v: got %d entries, want %d", tc.q, len(got), tc.want)
		}
	}
	other, err := s.ListAudit(ctx, t2, store.AuditQuery{Kind: store.AuditDirectory})
	ok(t, err)
	if len(other) != 1 || other[0].ID != "other" {
		t.Errorf("tenant 2 sees %+v", other)
	}
	isErr(t, s.AppendAudit(ctx, written[0]), store.ErrConflict)
}

// testAuditWithChange: a change made under store.WithAudit records its
// entry in its own transaction: once, only if the change commits, and for
// every kind of write an administrator makes.
func testAuditWithChange(t *testing.T, s store.Store) {
	seed(t, s)
	now := epoch()
	n := 0
	audited := func(name string, change func(ctx context.Context) error) (recorded bool, err error) {
		t.Helper()
		n++
		e := auditEntry(t1, fmt.Sprintf("%02d-%s", n, name), store.AuditDirectory, now.Add(time.Duration(n)*time.Second))
		ctx := store.WithAudit(t.Context(), e)
		err = change(ctx)
		got, lerr := s.ListAudit(t.Context(), t1, store.AuditQuery{Kind: store.AuditDirectory, Limit: 1})
		ok(t, lerr)
		inLog := len(got) == 1 && got[0].ID == e.ID
		if inLog != store.AuditRecorded(ctx) {
			t.Errorf("%s: entry in the log %v, but marked recorded %v", name, inLog, store.AuditRecorded(ctx))
		}
		return inLog, err
	}
	key := func(id string, status store.KeyStatus) store.SigningKey {
		k := signingKey(id, status)
		k.TenantID = t1
		return k
	}
	app := store.App{TenantID: t1, ClientID: "new", Name: "New", IdentifierURI: "api://new", ServicePrincipalID: "sp-new", CreatedAt: now}
	user := store.User{ID: "u9", TenantID: t1, Username: "u9@example.com", CreatedAt: now}
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context) error
	}{
		{"create tenant", func(ctx context.Context) error {
			return s.CreateTenant(ctx, store.Tenant{ID: "t9", Name: "t9", SigningAlg: "RS256"})
		}},
		{"lockout", func(ctx context.Context) error {
			return s.SetTenantLockout(ctx, t1, store.LockoutSettings{Threshold: 3})
		}},
		{"create app", func(ctx context.Context) error { return s.CreateApp(ctx, app) }},
		{"update app", func(ctx context.Context) error {
			app.RedirectURIs = []string{"http://localhost:8080"}
			return s.UpdateApp(ctx, app)
		}},
		{"add secret", func(ctx context.Context) error {
			return s.AddClientSecret(ctx, store.ClientSecret{ID: "s1", TenantID: t1, ClientID: "new", Hash: hash("s1"), CreatedAt: now})
		}},
		{"remove secret", func(ctx context.Context) error { return s.RemoveClientSecret(ctx, t1, "new", "s1") }},
		{"add credential", func(ctx context.Context) error {
			return s.AddAppCredential(ctx, store.AppCredential{ID: "c1", TenantID: t1, ClientID: "new", Kind: store.CredentialJWK,
				PublicKey: []byte("{}"), SHA256Thumbprint: hash("c1"), CreatedAt: now})
		}},
		{"remove credential", func(ctx context.Context) error { return s.RemoveAppCredential(ctx, t1, "new", "c1") }},
		{"create user", func(ctx context.Context) error { return s.CreateUser(ctx, user) }},
		{"update user", func(ctx context.Context) error {
			user.Disabled = true
			return s.UpdateUser(ctx, user)
		}},
		{"add consents", func(ctx context.Context) error {
			return s.AddConsents(ctx, []store.Consent{{TenantID: t1, ClientID: "new", ResourceID: "", Kind: store.KindScope, Value: "openid", CreatedAt: now}})
		}},
		{"remove consents", func(ctx context.Context) error { return s.RemoveConsents(ctx, t1, "new", "") }},
		{"add signing key", func(ctx context.Context) error { return s.AddSigningKey(ctx, key("k1", store.KeyActive)) }},
		{"rotate signing keys", func(ctx context.Context) error {
			if err := s.AddSigningKey(t.Context(), key("k2", store.KeyNext)); err != nil {
				return err
			}
			return s.RotateSigningKeys(ctx, t1, key("k3", store.KeyNext), now.Add(time.Hour))
		}},
		{"revoke user tokens", func(ctx context.Context) error {
			f, rt := family("f1", now)
			if err := s.CreateRefreshFamily(t.Context(), f, rt); err != nil {
				return err
			}
			return s.RevokeUserRefreshFamilies(ctx, t1, "u1", "", now)
		}},
		{"update app if unchanged", func(ctx context.Context) error {
			prev := app.UpdatedAt
			app.Name, app.UpdatedAt = "Renamed", now.Add(time.Hour)
			return s.UpdateAppIf(ctx, app, prev)
		}},
		{"delete user", func(ctx context.Context) error { return s.DeleteUser(ctx, t1, "u2", now) }},
		{"revoke user sessions", func(ctx context.Context) error { return s.RevokeUserSessions(ctx, t1, "u1", now) }},
		{"add directory role", func(ctx context.Context) error {
			return s.AddDirectoryRole(ctx, store.RoleAssignment{TenantID: t1, UserID: "u1", Role: "Global Administrator"})
		}},
		{"remove directory role", func(ctx context.Context) error {
			return s.RemoveDirectoryRole(ctx, t1, "u1", "Global Administrator")
		}},
		{"delete app", func(ctx context.Context) error { return s.DeleteApp(ctx, t1, "new", now) }},
	} {
		recorded, err := audited(tc.name, tc.change)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !recorded {
			t.Errorf("%s: the change committed without its audit entry", tc.name)
		}
	}

	// A change that fails, or finds nothing to change, records nothing.
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context) error
		want   error
	}{
		{"duplicate user", func(ctx context.Context) error { return s.CreateUser(ctx, user) }, store.ErrConflict},
		{"missing secret", func(ctx context.Context) error { return s.RemoveClientSecret(ctx, t1, "web", "nope") }, store.ErrNotFound},
		{"stale app", func(ctx context.Context) error {
			web, err := s.GetApp(t.Context(), t1, "web")
			if err != nil {
				return err
			}
			return s.UpdateAppIf(ctx, web, now.Add(-time.Minute))
		}, store.ErrNotLive},
		{"missing app", func(ctx context.Context) error { return s.UpdateAppIf(ctx, app, app.UpdatedAt) }, store.ErrNotFound},
	} {
		recorded, err := audited(tc.name, tc.change)
		isErr(t, err, tc.want)
		if recorded {
			t.Errorf("%s: a refused change left its audit entry", tc.name)
		}
	}
	// An operation of several writes is one entry.
	ctx := store.WithAudit(t.Context(), auditEntry(t1, "once", store.AuditDirectory, now.Add(time.Hour)))
	ok(t, s.CreateUser(ctx, store.User{ID: "u10", TenantID: t1, Username: "u10@example.com", CreatedAt: now}))
	ok(t, s.CreateUser(ctx, store.User{ID: "u11", TenantID: t1, Username: "u11@example.com", CreatedAt: now}))
	got, err := s.ListAudit(t.Context(), t1, store.AuditQuery{Kind: store.AuditDirectory, TargetID: "web"})
	ok(t, err)
	if len(got) != n-4+1 {
		t.Errorf("the log holds %d entries, want %d: one per committed change, one for the operation of two writes", len(got), n-4+1)
	}
}

// testAuditExpiry: entries past their retention are collected like every
// other expired row, in bounded batches.
func testAuditExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	for i := range 5 {
		e := auditEntry(t1, fmt.Sprintf("old%d", i), store.AuditSignIn, now.Add(-100*24*time.Hour))
		e.ExpiresAt = now.Add(-time.Duration(i+1) * time.Hour)
		ok(t, s.AppendAudit(ctx, e))
	}
	ok(t, s.AppendAudit(ctx, auditEntry(t1, "kept", store.AuditSignIn, now)))
	n, err := s.DeleteExpired(ctx, now, 3)
	ok(t, err)
	if n != 3 {
		t.Errorf("first batch removed %d, want 3", n)
	}
	_, err = s.DeleteExpired(ctx, now, 3)
	ok(t, err)
	got, err := s.ListAudit(ctx, t1, store.AuditQuery{Kind: store.AuditSignIn})
	ok(t, err)
	if len(got) != 1 || got[0].ID != "kept" {
		t.Errorf("after collection: %+v", got)
	}
}
