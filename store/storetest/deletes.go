package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testDeletes: deleting an app or a user takes everything it held with it
// in one go (secrets, credentials, grants, sessions) and revokes its
// refresh tokens; revoking a user's sessions ends them and their tokens;
// nothing of another app, user or tenant is touched.
func testDeletes(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	for _, tid := range []string{t1, t2} {
		ok(t, s.AddClientSecret(ctx, store.ClientSecret{ID: "sec", TenantID: tid, ClientID: "web", Hash: hash(tid + "sec"), CreatedAt: now}))
		ok(t, s.AddAppCredential(ctx, store.AppCredential{ID: "cred", TenantID: tid, ClientID: "web", Kind: store.CredentialJWK,
			PublicKey: []byte("{}"), SHA256Thumbprint: hash(tid + "cred"), CreatedAt: now}))
		ok(t, s.AddConsents(ctx, []store.Consent{
			{TenantID: tid, ClientID: "web", PrincipalID: "u1", Kind: store.KindScope, Value: "openid", CreatedAt: now},
			{TenantID: tid, ClientID: "api", PrincipalID: "u2", ResourceID: "web", Kind: store.KindScope, Value: "Web.Read", CreatedAt: now},
			{TenantID: tid, ClientID: "api", PrincipalID: "u1", Kind: store.KindScope, Value: "openid", CreatedAt: now},
		}))
		for _, uid := range []string{"u1", "u2"} {
			ok(t, s.CreateSession(ctx, store.Session{ID: tid + uid, Hash: hash(tid + uid + "session"), TenantID: tid, UserID: uid,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		}
	}
	newFamily := func(id, tid, user, client string) store.RefreshToken {
		f, rt := family(id, now)
		f.TenantID, f.UserID, f.ClientID, rt.TenantID = tid, user, client, tid
		ok(t, s.CreateRefreshFamily(ctx, f, rt))
		return rt
	}
	revoked := func(what, tid string, rt store.RefreshToken, want bool) {
		t.Helper()
		_, f, err := s.GetRefreshToken(ctx, tid, rt.Hash)
		ok(t, err)
		if got := !f.RevokedAt.IsZero(); got != want {
			t.Errorf("%s: family revoked %v, want %v", what, got, want)
		}
	}
	webU2 := newFamily("web-u2", t1, "u2", "web")
	apiU2 := newFamily("api-u2", t1, "u2", "api")
	apiU1 := newFamily("api-u1", t1, "u1", "api")
	otherTenant := newFamily("web-u2-t2", t2, "u2", "web")

	ok(t, s.DeleteApp(ctx, t1, "web", now))
	_, err := s.GetApp(ctx, t1, "web")
	isErr(t, err, store.ErrNotFound)
	secrets, err := s.ListClientSecrets(ctx, t1, "web")
	ok(t, err)
	creds, err := s.ListAppCredentials(ctx, t1, "web")
	ok(t, err)
	if len(secrets)+len(creds) != 0 {
		t.Errorf("the deleted app's secrets %d and credentials %d are left", len(secrets), len(creds))
	}
	apiGrants, err := s.ListConsents(ctx, t1, "api", "u2")
	ok(t, err)
	if len(apiGrants) != 0 {
		t.Errorf("grants on the deleted app's API are left: %+v", apiGrants)
	}
	revoked("the deleted app's family", t1, webU2, true)
	revoked("another app's family", t1, apiU2, false)
	isErr(t, s.DeleteApp(ctx, t1, "web", now), store.ErrNotFound)

	ok(t, s.RevokeUserSessions(ctx, t1, "u2", now))
	_, err = s.GetSession(ctx, t1, hash(t1+"u2session"))
	isErr(t, err, store.ErrNotFound)
	revoked("a family of the user whose sessions were revoked", t1, apiU2, true)
	revoked("another user's family", t1, apiU1, false)
	if _, err := s.GetUser(ctx, t1, "u2"); err != nil {
		t.Errorf("revoking sessions removed the user: %v", err)
	}

	ok(t, s.DeleteUser(ctx, t1, "u1", now))
	_, err = s.GetUser(ctx, t1, "u1")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetSession(ctx, t1, hash(t1+"u1session"))
	isErr(t, err, store.ErrNotFound)
	revoked("the deleted user's family", t1, apiU1, true)
	grants, err := s.ListConsents(ctx, t1, "api", "u1")
	ok(t, err)
	if len(grants) != 0 {
		t.Errorf("the deleted user's grants are left: %+v", grants)
	}
	isErr(t, s.DeleteUser(ctx, t1, "u1", now), store.ErrNotFound)

	// The other tenant's namesakes are whole.
	if _, err := s.GetApp(ctx, t2, "web"); err != nil {
		t.Errorf("tenant 2's app: %v", err)
	}
	if _, err := s.GetUser(ctx, t2, "u1"); err != nil {
		t.Errorf("tenant 2's user: %v", err)
	}
	for _, uid := range []string{"u1", "u2"} {
		if _, err := s.GetSession(ctx, t2, hash(t2+uid+"session")); err != nil {
			t.Errorf("tenant 2's session of %s: %v", uid, err)
		}
	}
	secrets, err = s.ListClientSecrets(ctx, t2, "web")
	ok(t, err)
	grants, err = s.ListConsents(ctx, t2, "api", "u2")
	ok(t, err)
	if len(secrets) != 1 || len(grants) != 1 {
		t.Errorf("tenant 2 lost secrets (%d left) or grants (%d left)", len(secrets), len(grants))
	}
	revoked("tenant 2's family", t2, otherTenant, false)

	all, err := s.ListClientConsents(ctx, t2, "api")
	ok(t, err)
	if len(all) != 2 || all[0].PrincipalID != "u1" || all[1].PrincipalID != "u2" {
		t.Errorf("every grant to api in tenant 2: %+v", all)
	}
	// One grant at a time.
	one := store.Consent{TenantID: t2, ClientID: "api", PrincipalID: "u2", ResourceID: "web", Kind: store.KindScope, Value: "Web.Read"}
	ok(t, s.RemoveConsent(ctx, one))
	isErr(t, s.RemoveConsent(ctx, one), store.ErrNotFound)
	grants, err = s.ListConsents(ctx, t2, "api", "u2")
	ok(t, err)
	if len(grants) != 0 {
		t.Errorf("RemoveConsent left %+v", grants)
	}
}

// testDeleteTenant: deleting a tenant takes everything of it in one go
// and nothing of another; its audit log stays until it expires.
func testDeleteTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	for _, tid := range []string{t1, t2} {
		ok(t, s.AddClientSecret(ctx, store.ClientSecret{ID: "sec", TenantID: tid, ClientID: "web", Hash: hash(tid + "sec"), CreatedAt: now}))
		ok(t, s.AddConsents(ctx, []store.Consent{{TenantID: tid, ClientID: "web", PrincipalID: "u1", Kind: store.KindScope, Value: "openid", CreatedAt: now}}))
		ok(t, s.AddDirectoryRole(ctx, store.RoleAssignment{TenantID: tid, UserID: "u1", Role: "Global Administrator", CreatedAt: now}))
		k := signingKey("k-"+tid, store.KeyActive)
		k.TenantID = tid
		ok(t, s.AddSigningKey(ctx, k))
		ok(t, s.CreateSession(ctx, store.Session{ID: tid, Hash: hash(tid + "session"), TenantID: tid, UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		ok(t, s.AppendAudit(ctx, auditEntry(tid, "e-"+tid, store.AuditDirectory, now)))
	}
	f, rt := family("fam", now)
	ok(t, s.CreateRefreshFamily(ctx, f, rt))

	ok(t, s.DeleteTenant(ctx, t1))
	_, err := s.GetTenant(ctx, t1)
	isErr(t, err, store.ErrNotFound)
	apps, err := s.ListApps(ctx, t1)
	ok(t, err)
	users, err := s.ListUsers(ctx, t1)
	ok(t, err)
	_, _, err = s.GetRefreshToken(ctx, t1, rt.Hash)
	if len(apps)+len(users) != 0 || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant 1 left %d apps, %d users, its refresh token: %v", len(apps), len(users), err)
	}
	if log, err := s.ListAudit(ctx, t1, store.AuditQuery{Kind: store.AuditDirectory}); err != nil || len(log) != 1 {
		t.Errorf("the deleted tenant's audit log: %d entries (%v), want it kept", len(log), err)
	}
	isErr(t, s.DeleteTenant(ctx, t1), store.ErrNotFound)
	if _, err := s.GetTenant(ctx, t2); err != nil {
		t.Errorf("tenant 2: %v", err)
	}
	apps, err = s.ListApps(ctx, t2)
	ok(t, err)
	roles, err := s.ListDirectoryRoles(ctx, t2, "")
	ok(t, err)
	keys, err := s.ListSigningKeys(ctx, t2, now)
	ok(t, err)
	if len(apps) != 2 || len(roles) != 1 || len(keys) != 1 {
		t.Errorf("tenant 2 lost rows: %d apps, %d roles, %d keys", len(apps), len(roles), len(keys))
	}
}
