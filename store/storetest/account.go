package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testUserSessions: a user's live sessions are listed newest first, and
// ending some of them by id ends only that user's, with the refresh
// families started in them (but those of the clients kept), in one go.
func testUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	sess := func(id, user string, created time.Time, life time.Duration) store.Session {
		return store.Session{ID: id, Hash: hash("cookie " + id), TenantID: t1, UserID: user,
			AuthTime: created, CreatedAt: created, ExpiresAt: created.Add(life)}
	}
	for _, ss := range []store.Session{
		sess("a", "u1", now.Add(-2*time.Hour), 24*time.Hour),
		sess("b", "u1", now.Add(-time.Hour), 24*time.Hour),
		sess("c", "u1", now.Add(-3*time.Hour), time.Hour), // expired
		sess("d", "u2", now, 24*time.Hour),
	} {
		ok(t, s.CreateSession(ctx, ss))
	}
	ok(t, s.CreateSession(ctx, store.Session{ID: "e", Hash: hash("cookie e"), TenantID: t2, UserID: "u1",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	ids := func(ss []store.Session) []string {
		var out []string
		for _, x := range ss {
			out = append(out, x.ID)
		}
		return out
	}
	got, err := s.ListUserSessions(ctx, t1, "u1", now)
	ok(t, err)
	if want := []string{"b", "a"}; !slices.Equal(ids(got), want) {
		t.Fatalf("u1's live sessions are %v, want %v", ids(got), want)
	}
	same(t, got[0], sess("b", "u1", now.Add(-time.Hour), 24*time.Hour))

	famA, rtA := family("fa", now)
	famA.SessionID = "a"
	famKept, rtKept := family("fk", now)
	famKept.SessionID, famKept.ClientID = "a", "api"
	famD, rtD := family("fd", now)
	famD.SessionID, famD.UserID = "d", "u2"
	for _, f := range []struct {
		f  store.RefreshFamily
		rt store.RefreshToken
	}{{famA, rtA}, {famKept, rtKept}, {famD, rtD}} {
		ok(t, s.CreateRefreshFamily(ctx, f.f, f.rt))
	}

	// d is u2's, e another tenant's, x nobody's: none of them ends.
	n, err := s.EndUserSessions(ctx, t1, "u1", []string{"a", "d", "e", "x"}, []string{"api"}, now)
	ok(t, err)
	if n != 1 {
		t.Errorf("ended %d sessions, want 1", n)
	}
	got, err = s.ListUserSessions(ctx, t1, "u1", now)
	ok(t, err)
	if want := []string{"b"}; !slices.Equal(ids(got), want) {
		t.Errorf("u1's sessions after ending a: %v, want %v", ids(got), want)
	}
	_, err = s.GetSession(ctx, t1, hash("cookie a"))
	isErr(t, err, store.ErrNotFound)
	for _, c := range []struct {
		rt      store.RefreshToken
		revoked bool
	}{{rtA, true}, {rtKept, false}, {rtD, false}} {
		if _, fam, err := s.GetRefreshToken(ctx, t1, c.rt.Hash); err != nil || fam.RevokedAt.IsZero() == c.revoked {
			t.Errorf("family %s after ending session a: revoked at %v (%v), want revoked %v", fam.ID, fam.RevokedAt, err, c.revoked)
		}
	}
	if got, err := s.ListUserSessions(ctx, t1, "u2", now); err != nil || len(got) != 1 {
		t.Errorf("u2's sessions after u1 ended theirs: %v %v", ids(got), err)
	}
	if _, err := s.GetSessionByID(ctx, t2, "e"); err != nil {
		t.Errorf("the other tenant's session: %v", err)
	}
	n, err = s.EndUserSessions(ctx, t1, "u1", nil, nil, now)
	if err != nil || n != 0 {
		t.Errorf("ending no session: %d %v", n, err)
	}
}

// testWithdrawConsent: a user's grants are listed across clients, and
// withdrawing one client's takes all of that user's grants to it (every
// resource, the OpenID Connect scopes) and revokes the client's families
// of that user; other clients', other users' and tenant-wide grants stay.
func testWithdrawConsent(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	consent := func(client, principal, resource, value string) store.Consent {
		return store.Consent{TenantID: t1, ClientID: client, PrincipalID: principal, ResourceID: resource, Kind: store.KindScope, Value: value, CreatedAt: now}
	}
	ok(t, s.AddConsents(ctx, []store.Consent{consent("web", "u1", "", "openid"), consent("web", "u1", "api", "read"),
		consent("api", "u1", "", "openid"), consent("web", "u2", "", "openid"), consent("web", "", "api", "write")}))
	ok(t, s.AddConsents(ctx, []store.Consent{{TenantID: t2, ClientID: "web", PrincipalID: "u1", Kind: store.KindScope, Value: "openid", CreatedAt: now}}))
	text := func(cs []store.Consent) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ClientID+"/"+c.PrincipalID+"/"+c.ResourceID+"/"+c.Value)
		}
		return out
	}
	got, err := s.ListUserConsents(ctx, t1, "u1")
	ok(t, err)
	if want := []string{"api/u1//openid", "web/u1//openid", "web/u1/api/read"}; !slices.Equal(text(got), want) {
		t.Fatalf("u1's consents are %v, want %v", text(got), want)
	}
	if got, err := s.ListUserConsents(ctx, t1, ""); err != nil || len(got) != 0 {
		t.Errorf("the tenant-wide principal's consents as a user's: %v %v", text(got), err)
	}

	f1, rt1 := family("w1", now)
	f2, rt2 := family("w2", now)
	f2.UserID = "u2"
	f3, rt3 := family("w3", now)
	f3.ClientID = "api"
	for _, f := range []struct {
		f  store.RefreshFamily
		rt store.RefreshToken
	}{{f1, rt1}, {f2, rt2}, {f3, rt3}} {
		ok(t, s.CreateRefreshFamily(ctx, f.f, f.rt))
	}
	ok(t, s.WithdrawConsent(ctx, t1, "web", "u1", now))
	isErr(t, s.WithdrawConsent(ctx, t1, "web", "u1", now), store.ErrNotFound)
	isErr(t, s.WithdrawConsent(ctx, t1, "web", "", now), store.ErrNotFound)
	got, err = s.ListUserConsents(ctx, t1, "u1")
	ok(t, err)
	if want := []string{"api/u1//openid"}; !slices.Equal(text(got), want) {
		t.Errorf("u1's consents after withdrawing web's: %v, want %v", text(got), want)
	}
	all, err := s.ListClientConsents(ctx, t1, "web")
	ok(t, err)
	if want := []string{"web//api/write", "web/u2//openid"}; !slices.Equal(text(all), want) {
		t.Errorf("web's consents after u1 withdrew: %v, want %v", text(all), want)
	}
	if got, err := s.ListUserConsents(ctx, t2, "u1"); err != nil || len(got) != 1 {
		t.Errorf("u1's consents in the other tenant: %v %v", text(got), err)
	}
	for _, c := range []struct {
		rt      store.RefreshToken
		revoked bool
	}{{rt1, true}, {rt2, false}, {rt3, false}} {
		if _, fam, err := s.GetRefreshToken(ctx, t1, c.rt.Hash); err != nil || fam.RevokedAt.IsZero() == c.revoked {
			t.Errorf("family %s after u1 withdrew web's consent: revoked at %v (%v), want revoked %v", fam.ID, fam.RevokedAt, err, c.revoked)
		}
	}
}
