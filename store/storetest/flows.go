package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	ss := store.Session{ID: "sid-1", Hash: hash("cookie 1"), TenantID: t1, UserID: "u1",
		AuthTime: now.Add(-time.Second), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	ok(t, s.CreateSession(ctx, ss))
	isErr(t, s.CreateSession(ctx, ss), store.ErrConflict)
	got, err := s.GetSession(ctx, t1, ss.Hash)
	ok(t, err)
	same(t, got, ss)
	_, err = s.GetSession(ctx, t1, hash("cookie 2"))
	isErr(t, err, store.ErrNotFound)
	got, err = s.GetSessionByID(ctx, t1, ss.ID)
	ok(t, err)
	same(t, got, ss)
	_, err = s.GetSessionByID(ctx, t2, ss.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetSessionByID(ctx, t1, "sid-2")
	isErr(t, err, store.ErrNotFound)

	// The apps to tell at sign-out: each once, in the order they came,
	// and found by the cookie's hash as by the id.
	for _, c := range []string{"web", "spa", "web"} {
		ok(t, s.AddSessionFrontChannelClient(ctx, t1, ss.ID, c))
	}
	ss.FrontChannelClients = []string{"web", "spa"}
	got, err = s.GetSession(ctx, t1, ss.Hash)
	ok(t, err)
	same(t, got, ss)
	got, err = s.GetSessionByID(ctx, t1, ss.ID)
	ok(t, err)
	same(t, got, ss)
	isErr(t, s.AddSessionFrontChannelClient(ctx, t2, ss.ID, "web"), store.ErrNotFound)
	isErr(t, s.AddSessionFrontChannelClient(ctx, t1, "sid-2", "web"), store.ErrNotFound)

	// Written with the session, too.
	other := store.Session{ID: "sid-3", Hash: hash("cookie 3"), TenantID: t1, UserID: "u1",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour), FrontChannelClients: []string{"spa"}}
	ok(t, s.CreateSession(ctx, other))
	got, err = s.GetSession(ctx, t1, other.Hash)
	ok(t, err)
	same(t, got, other)

	ok(t, s.DeleteSession(ctx, t1, ss.Hash))
	_, err = s.GetSession(ctx, t1, ss.Hash)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetSessionByID(ctx, t1, ss.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteSession(ctx, t1, ss.Hash), store.ErrNotFound)
}

func authCode(name string, now time.Time) store.AuthCode {
	return store.AuthCode{Hash: hash(name), TenantID: t1, ClientID: "web", UserID: "u1", SessionID: "sid-1",
		RedirectURI: "https://web.example/cb",
		Grant: store.Grant{ResourceID: "api", ResourceName: "api://api", Scopes: []string{"read", "write"},
			OIDCScopes: []string{"openid", "offline_access"}, Default: true, PublicVia: "spa"},
		Nonce: "nonce-" + name, CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", AuthTime: now.Add(-time.Minute), CreatedAt: now,
		ExpiresAt: now.Add(5 * time.Minute)}
}

func testAuthCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	later := now.Add(time.Minute)

	// Redeemed without a refresh token: the code is used and names the
	// access token issued from it, so that a replay can revoke that token.
	plain := authCode("code without refresh", now)
	ok(t, s.CreateAuthCode(ctx, plain))
	isErr(t, s.CreateAuthCode(ctx, plain), store.ErrConflict)
	got, err := s.GetAuthCode(ctx, t1, plain.Hash)
	ok(t, err)
	same(t, got, plain)

	issued := store.Redemption{AccessTokenID: "at-plain", AccessTokenExpiresAt: later.Add(time.Hour)}
	ok(t, s.RedeemAuthCode(ctx, t1, plain.Hash, later, issued))
	plain.UsedAt = later
	plain.AccessTokenID, plain.AccessTokenExpiresAt = issued.AccessTokenID, issued.AccessTokenExpiresAt
	// The spent code is kept while the token it issued lives.
	plain.ExpiresAt = issued.AccessTokenExpiresAt
	got, err = s.GetAuthCode(ctx, t1, plain.Hash)
	ok(t, err)
	same(t, got, plain)
	// A second redemption records nothing: the first token stays the one
	// to revoke.
	replay := store.Redemption{AccessTokenID: "at-replay", AccessTokenExpiresAt: later.Add(2 * time.Hour)}
	isErr(t, s.RedeemAuthCode(ctx, t1, plain.Hash, later.Add(time.Second), replay), store.ErrNotLive)
	got, err = s.GetAuthCode(ctx, t1, plain.Hash)
	ok(t, err)
	same(t, got, plain)
	isErr(t, s.RedeemAuthCode(ctx, t1, hash("no such code"), later, issued), store.ErrNotFound)

	// Redeemed with a refresh family: the family, its first token, the
	// access token and the link from the code appear together.
	code := authCode("code with refresh", now)
	ok(t, s.CreateAuthCode(ctx, code))
	fam, first := family("fam-1", later)
	ok(t, s.RedeemAuthCode(ctx, t1, code.Hash, later, store.Redemption{
		AccessTokenID: "at-1", AccessTokenExpiresAt: later.Add(time.Hour), Family: &fam, First: &first}))
	code.UsedAt, code.FamilyID = later, fam.ID
	code.AccessTokenID, code.AccessTokenExpiresAt = "at-1", later.Add(time.Hour)
	// ... and while the family it started lives.
	code.ExpiresAt = fam.ExpiresAt
	got, err = s.GetAuthCode(ctx, t1, code.Hash)
	ok(t, err)
	same(t, got, code)
	gotToken, gotFamily, err := s.GetRefreshToken(ctx, t1, first.Hash)
	ok(t, err)
	same(t, gotToken, first)
	same(t, gotFamily, fam)

	// A second redemption creates nothing.
	fam2, first2 := family("fam-2", later)
	isErr(t, s.RedeemAuthCode(ctx, t1, code.Hash, later, store.Redemption{
		AccessTokenID: "at-2", AccessTokenExpiresAt: later.Add(time.Hour), Family: &fam2, First: &first2}), store.ErrNotLive)
	_, _, err = s.GetRefreshToken(ctx, t1, first2.Hash)
	isErr(t, err, store.ErrNotFound)
	got, err = s.GetAuthCode(ctx, t1, code.Hash)
	ok(t, err)
	same(t, got, code)

	// A redemption whose family cannot be stored leaves the code unused
	// and records no access token.
	code3 := authCode("code whose family clashes", now)
	ok(t, s.CreateAuthCode(ctx, code3))
	clash, clashFirst := family(fam.ID, later)
	clashFirst.Hash = hash("clash first token")
	isErr(t, s.RedeemAuthCode(ctx, t1, code3.Hash, later, store.Redemption{
		AccessTokenID: "at-3", AccessTokenExpiresAt: later.Add(time.Hour), Family: &clash, First: &clashFirst}), store.ErrConflict)
	got, err = s.GetAuthCode(ctx, t1, code3.Hash)
	ok(t, err)
	same(t, got, code3)
	_, _, err = s.GetRefreshToken(ctx, t1, clashFirst.Hash)
	isErr(t, err, store.ErrNotFound)

	// So does a family without its first token.
	if err := s.RedeemAuthCode(ctx, t1, code3.Hash, later, store.Redemption{AccessTokenID: "at-3", Family: &fam2}); err == nil {
		t.Fatal("RedeemAuthCode with a family but no first token: got nil error")
	}
	got, err = s.GetAuthCode(ctx, t1, code3.Hash)
	ok(t, err)
	same(t, got, code3)
	ok(t, s.RedeemAuthCode(ctx, t1, code3.Hash, later, store.Redemption{Family: &fam2, First: &first2}))
	_, _, err = s.GetRefreshToken(ctx, t1, first2.Hash)
	ok(t, err)
}

func testRefreshTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	fam, rt0 := family("fam", now)
	ok(t, s.CreateRefreshFamily(ctx, fam, rt0))
	isErr(t, s.CreateRefreshFamily(ctx, fam, rt0), store.ErrConflict)

	check := func(want store.RefreshToken, wantFamily store.RefreshFamily) {
		t.Helper()
		got, gotFamily, err := s.GetRefreshToken(ctx, t1, want.Hash)
		ok(t, err)
		same(t, got, want)
		same(t, gotFamily, wantFamily)
		gotFamily, err = s.GetRefreshFamily(ctx, t1, wantFamily.ID)
		ok(t, err)
		same(t, gotFamily, wantFamily)
	}
	check(rt0, fam)
	_, _, err := s.GetRefreshToken(ctx, t1, hash("nope"))
	isErr(t, err, store.ErrNotFound)

	at := now.Add(time.Hour)
	rt1 := successor(rt0, "rt1", at)
	rt1.Grant = store.Grant{ResourceID: "web", ResourceName: "web", Scopes: []string{"profile"}, OIDCScopes: []string{"openid"}}
	ok(t, s.RotateRefreshToken(ctx, t1, rt0.Hash, rt1, at))
	// A spent token is kept until its family ends, so a late reuse is
	// still recognised.
	rt0.UsedAt, rt0.ExpiresAt = at, fam.ExpiresAt
	check(rt0, fam)
	check(rt1, fam)

	// The parent is used: nobody else gets a successor from it.
	isErr(t, s.RotateRefreshToken(ctx, t1, rt0.Hash, successor(rt0, "rt1-bis", at), at), store.ErrNotLive)
	_, _, err = s.GetRefreshToken(ctx, t1, hash("rt1-bis"))
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.RotateRefreshToken(ctx, t1, hash("nope"), successor(rt0, "rt-nope", at), at), store.ErrNotLive)

	// Expired at the instant it expires, and nothing changes.
	isErr(t, s.RotateRefreshToken(ctx, t1, rt1.Hash, successor(rt1, "rt2-late", rt1.ExpiresAt), rt1.ExpiresAt), store.ErrNotLive)
	check(rt1, fam)

	// A successor that cannot be stored leaves the parent unused.
	clash := successor(rt1, "rt2", at)
	clash.Hash = rt0.Hash
	isErr(t, s.RotateRefreshToken(ctx, t1, rt1.Hash, clash, at), store.ErrConflict)
	check(rt1, fam)

	at2 := at.Add(time.Hour)
	rt2 := successor(rt1, "rt2", at2)
	ok(t, s.RotateRefreshToken(ctx, t1, rt1.Hash, rt2, at2))
	rt1.UsedAt, rt1.ExpiresAt = at2, fam.ExpiresAt
	check(rt1, fam)
	check(rt2, fam)

	// A revoked family's tokens cannot rotate; revoking again changes nothing.
	revokedAt := at2.Add(time.Minute)
	ok(t, s.RevokeRefreshFamily(ctx, t1, fam.ID, revokedAt))
	fam.RevokedAt = revokedAt
	check(rt2, fam)
	isErr(t, s.RotateRefreshToken(ctx, t1, rt2.Hash, successor(rt2, "rt3", revokedAt), revokedAt), store.ErrNotLive)
	check(rt2, fam)
	ok(t, s.RevokeRefreshFamily(ctx, t1, fam.ID, revokedAt.Add(time.Hour)))
	check(rt2, fam)
	isErr(t, s.RevokeRefreshFamily(ctx, t1, "nope", now), store.ErrNotFound)
	_, err = s.GetRefreshFamily(ctx, t1, "nope")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetRefreshFamily(ctx, t2, fam.ID)
	isErr(t, err, store.ErrNotFound)

	// An expired family's tokens cannot rotate, even one that would still
	// be live by itself.
	short, srt0 := family("short", now)
	short.ExpiresAt = now.Add(time.Hour)
	ok(t, s.CreateRefreshFamily(ctx, short, srt0))
	isErr(t, s.RotateRefreshToken(ctx, t1, srt0.Hash, successor(srt0, "short-1", short.ExpiresAt), short.ExpiresAt), store.ErrNotLive)
	check(srt0, short)
	ok(t, s.RotateRefreshToken(ctx, t1, srt0.Hash, successor(srt0, "short-1", now), now))
}

func testRevokeUserRefreshFamilies(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	type fixture struct {
		fam   store.RefreshFamily
		token store.RefreshToken
	}
	newFamily := func(id, user, client string) fixture {
		f, rt := family(id, now)
		f.UserID, f.ClientID = user, client
		ok(t, s.CreateRefreshFamily(ctx, f, rt))
		return fixture{f, rt}
	}
	webA := newFamily("u1-web-a", "u1", "web")
	webB := newFamily("u1-web-b", "u1", "web")
	api := newFamily("u1-api", "u1", "api")
	other := newFamily("u2-web", "u2", "web")
	check := func(fx fixture) {
		t.Helper()
		_, got, err := s.GetRefreshToken(ctx, t1, fx.token.Hash)
		ok(t, err)
		same(t, got, fx.fam)
	}

	ok(t, s.RevokeUserRefreshFamilies(ctx, t1, "u1", "web", now))
	webA.fam.RevokedAt, webB.fam.RevokedAt = now, now
	for _, fx := range []fixture{webA, webB, api, other} {
		check(fx)
	}

	later := now.Add(time.Minute)
	ok(t, s.RevokeUserRefreshFamilies(ctx, t1, "u1", "", later))
	api.fam.RevokedAt = later
	for _, fx := range []fixture{webA, webB, api, other} {
		check(fx)
	}
	isErr(t, s.RotateRefreshToken(ctx, t1, api.token.Hash, successor(api.token, "api-1", later), later), store.ErrNotLive)
	ok(t, s.RotateRefreshToken(ctx, t1, other.token.Hash, successor(other.token, "other-1", later), later))

	// Another tenant's user of the same id is someone else.
	ok(t, s.RevokeUserRefreshFamilies(ctx, t2, "u2", "", later))
	check(other)
	ok(t, s.RevokeUserRefreshFamilies(ctx, t1, "nobody", "", later))
}

// testRevokeSessionRefreshFamilies signs a session out: its families end,
// except those of the apps that keep their refresh tokens.
func testRevokeSessionRefreshFamilies(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	for _, tid := range []string{t1, t2} {
		ok(t, s.CreateApp(ctx, store.App{TenantID: tid, ClientID: "daemon", Name: "daemon", CreatedAt: now}))
	}

	type fixture struct {
		fam   store.RefreshFamily
		token store.RefreshToken
	}
	var all []*fixture
	newFamily := func(tenant, id, session, client string) *fixture {
		f, rt := family(id, now)
		f.TenantID, rt.TenantID = tenant, tenant
		f.SessionID, f.ClientID = session, client
		ok(t, s.CreateRefreshFamily(ctx, f, rt))
		all = append(all, &fixture{f, rt})
		return all[len(all)-1]
	}
	web := newFamily(t1, "a-web", "sid-a", "web")
	api := newFamily(t1, "a-api", "sid-a", "api")
	daemon := newFamily(t1, "a-daemon", "sid-a", "daemon")
	newFamily(t1, "b-web", "sid-b", "web")
	noSession := newFamily(t1, "none-web", "", "web")
	otherTenant := newFamily(t2, "t2-a-web", "sid-a", "web")
	check := func() {
		t.Helper()
		for _, fx := range all {
			_, got, err := s.GetRefreshToken(ctx, fx.fam.TenantID, fx.token.Hash)
			ok(t, err)
			same(t, got, fx.fam)
		}
	}

	ok(t, s.RevokeSessionRefreshFamilies(ctx, t1, "sid-a", []string{"api", "daemon", "not-an-app"}, now))
	web.fam.RevokedAt = now
	check()
	isErr(t, s.RotateRefreshToken(ctx, t1, web.token.Hash, successor(web.token, "web-1", now), now), store.ErrNotLive)

	// Keeping nothing revokes the rest; the first revocation keeps its time.
	later := now.Add(time.Minute)
	ok(t, s.RevokeSessionRefreshFamilies(ctx, t1, "sid-a", nil, later))
	api.fam.RevokedAt, daemon.fam.RevokedAt = later, later
	check()

	// Families started outside any session belong to none, not to "".
	ok(t, s.RevokeSessionRefreshFamilies(ctx, t1, "", nil, later))
	ok(t, s.RevokeSessionRefreshFamilies(ctx, t1, "no-such-session", []string{}, later))
	check()
	ok(t, s.RotateRefreshToken(ctx, t1, noSession.token.Hash, successor(noSession.token, "none-1", later), later))
	ok(t, s.RotateRefreshToken(ctx, t2, otherTenant.token.Hash, successor(otherTenant.token, "t2-1", later), later))
}

// testTenantIsolation addresses rows of tenant 1 by their right key but
// tenant 2's id: every read misses, every write changes nothing.
func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seedTenants(t, s)

	app := store.App{TenantID: t1, ClientID: "web", Name: "Web", IdentifierURI: "api://web", ServicePrincipalID: "sp", CreatedAt: now}
	user := store.User{ID: "u1", TenantID: t1, Username: "alice", CreatedAt: now}
	secret := store.ClientSecret{ID: "s1", TenantID: t1, ClientID: "web", Hash: hash("secret"), CreatedAt: now}
	consent := store.Consent{TenantID: t1, ClientID: "web", PrincipalID: "u1", Kind: store.KindScope, Value: "openid", CreatedAt: now}
	key := store.SigningKey{TenantID: t1, ID: "k1", Alg: "RS256", Status: store.KeyActive, PrivateKey: []byte("sealed"), PublicJWK: []byte("{}"), CreatedAt: now}
	sess := store.Session{ID: "sid", Hash: hash("cookie"), TenantID: t1, UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := authCode("code", now)
	fam, rt := family("fam", now)
	device := deviceCode("device", "WDJBMJHT", now)
	cred := store.AppCredential{ID: "thumb", TenantID: t1, ClientID: "web", Kind: store.CredentialJWK,
		PublicKey: []byte(`{"kty":"OKP"}`), SHA256Thumbprint: hash("jwk"), CreatedAt: now}
	ok(t, s.CreateApp(ctx, app))
	ok(t, s.CreateUser(ctx, user))
	ok(t, s.AddClientSecret(ctx, secret))
	ok(t, s.AddConsents(ctx, []store.Consent{consent}))
	ok(t, s.AddSigningKey(ctx, key))
	ok(t, s.CreateSession(ctx, sess))
	ok(t, s.CreateAuthCode(ctx, code))
	ok(t, s.CreateRefreshFamily(ctx, fam, rt))
	ok(t, s.CreateDeviceCode(ctx, device))
	ok(t, s.AddAppCredential(ctx, cred))

	_, err := s.GetApp(ctx, t2, app.ClientID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetAppByIdentifier(ctx, t2, app.ClientID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetAppByIdentifier(ctx, t2, app.IdentifierURI)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, t2, user.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, t2, user.Username)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetSession(ctx, t2, sess.Hash)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetAuthCode(ctx, t2, code.Hash)
	isErr(t, err, store.ErrNotFound)
	_, _, err = s.GetRefreshToken(ctx, t2, rt.Hash)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetDeviceCode(ctx, t2, device.Hash)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetDeviceCodeByUserCode(ctx, t2, device.UserCode)
	isErr(t, err, store.ErrNotFound)

	apps, err := s.ListApps(ctx, t2)
	ok(t, err)
	same(t, apps, nil)
	users, err := s.ListUsers(ctx, t2)
	ok(t, err)
	same(t, users, nil)
	secrets, err := s.ListClientSecrets(ctx, t2, app.ClientID)
	ok(t, err)
	same(t, secrets, nil)
	consents, err := s.ListConsents(ctx, t2, app.ClientID, "u1")
	ok(t, err)
	same(t, consents, nil)
	keys, err := s.ListSigningKeys(ctx, t2, now)
	ok(t, err)
	same(t, keys, nil)
	creds, err := s.ListAppCredentials(ctx, t2, app.ClientID)
	ok(t, err)
	same(t, creds, nil)

	wrongApp := app
	wrongApp.TenantID, wrongApp.Name = t2, "hijacked"
	isErr(t, s.UpdateApp(ctx, wrongApp), store.ErrNotFound)
	wrongUser := user
	wrongUser.TenantID, wrongUser.Disabled = t2, true
	isErr(t, s.UpdateUser(ctx, wrongUser), store.ErrNotFound)
	isErr(t, s.RemoveClientSecret(ctx, t2, app.ClientID, secret.ID), store.ErrNotFound)
	ok(t, s.RemoveConsents(ctx, t2, app.ClientID, "u1"))
	isErr(t, s.DeleteSession(ctx, t2, sess.Hash), store.ErrNotFound)
	isErr(t, s.RedeemAuthCode(ctx, t2, code.Hash, now, store.Redemption{AccessTokenID: "at"}), store.ErrNotFound)
	isErr(t, s.RotateRefreshToken(ctx, t2, rt.Hash, successor(rt, "stolen", now), now), store.ErrNotLive)
	isErr(t, s.RevokeRefreshFamily(ctx, t2, fam.ID, now), store.ErrNotFound)
	ok(t, s.RevokeUserRefreshFamilies(ctx, t2, fam.UserID, "", now))
	ok(t, s.RevokeSessionRefreshFamilies(ctx, t2, fam.SessionID, nil, now))
	_, err = s.PollDeviceCode(ctx, t2, device.Hash, now)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DecideDeviceCode(ctx, t2, device.Hash, approve("u1", now), now), store.ErrNotFound)
	isErr(t, s.RedeemDeviceCode(ctx, t2, device.Hash, now, store.Redemption{}), store.ErrNotFound)
	isErr(t, s.RemoveAppCredential(ctx, t2, app.ClientID, cred.ID), store.ErrNotFound)
	if err := s.RotateSigningKeys(ctx, t2, store.SigningKey{TenantID: t2, ID: "k2", Alg: "RS256", PrivateKey: []byte("x"), PublicJWK: []byte("{}")}, now); err == nil {
		t.Error("RotateSigningKeys in a tenant without keys: got nil error")
	}

	// Tenant 1 still has everything, untouched.
	gotApp, err := s.GetApp(ctx, t1, app.ClientID)
	ok(t, err)
	same(t, gotApp, app)
	gotUser, err := s.GetUser(ctx, t1, user.ID)
	ok(t, err)
	same(t, gotUser, user)
	gotSecrets, err := s.ListClientSecrets(ctx, t1, app.ClientID)
	ok(t, err)
	same(t, gotSecrets, []store.ClientSecret{secret})
	gotConsents, err := s.ListConsents(ctx, t1, app.ClientID, "u1")
	ok(t, err)
	same(t, gotConsents, []store.Consent{consent})
	gotKeys, err := s.ListSigningKeys(ctx, t1, now)
	ok(t, err)
	same(t, gotKeys, []store.SigningKey{key})
	gotSess, err := s.GetSession(ctx, t1, sess.Hash)
	ok(t, err)
	same(t, gotSess, sess)
	gotCode, err := s.GetAuthCode(ctx, t1, code.Hash)
	ok(t, err)
	same(t, gotCode, code)
	gotToken, gotFamily, err := s.GetRefreshToken(ctx, t1, rt.Hash)
	ok(t, err)
	same(t, gotToken, rt)
	same(t, gotFamily, fam)
	gotDevice, err := s.GetDeviceCode(ctx, t1, device.Hash)
	ok(t, err)
	same(t, gotDevice, device)
	gotCreds, err := s.ListAppCredentials(ctx, t1, app.ClientID)
	ok(t, err)
	same(t, gotCreds, []store.AppCredential{cred})
}

func testDeleteExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)

	// Expiring exactly now counts as expired.
	codes := map[string]time.Time{"code-past": past, "code-now": now, "code-live": future}
	for name, exp := range codes {
		c := authCode(name, now.Add(-time.Hour))
		c.ExpiresAt = exp
		ok(t, s.CreateAuthCode(ctx, c))
	}
	sessions := map[string]time.Time{"sess-past": past, "sess-live": future}
	for id, exp := range sessions {
		ok(t, s.CreateSession(ctx, store.Session{ID: id, Hash: hash(id), TenantID: t1, UserID: "u1",
			CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}))
	}
	// A dead family with its dead token, and a live family with a used
	// token whose own (idle) expiry has passed and its live successor: the
	// used token stays while its family lives.
	start := now.Add(-2 * time.Hour)
	dead, dead0 := family("dead", start)
	dead.ExpiresAt, dead0.ExpiresAt = past, past
	ok(t, s.CreateRefreshFamily(ctx, dead, dead0))
	live, live0 := family("live", start)
	live0.ExpiresAt = past
	ok(t, s.CreateRefreshFamily(ctx, live, live0))
	live1 := successor(live0, "live-1", start)
	ok(t, s.RotateRefreshToken(ctx, t1, live0.Hash, live1, start))

	devices := map[string]time.Time{"device-past": past, "device-now": now, "device-live": future}
	for name, exp := range devices {
		d := deviceCode(name, name, now.Add(-time.Hour))
		d.ExpiresAt = exp
		ok(t, s.CreateDeviceCode(ctx, d))
	}
	jtis := map[string]time.Time{"jti-past": past, "jti-live": future}
	for jti, exp := range jtis {
		ok(t, s.UseAssertionID(ctx, t1, "web", jti, exp))
	}
	revoked := map[string]time.Time{"at-past": past, "at-live": future}
	for jti, exp := range revoked {
		ok(t, s.RevokeAccessToken(ctx, t1, jti, exp))
	}
	// A window that ended a minute ago, and the one running now.
	hit := func(key string, at time.Time) int {
		t.Helper()
		n, err := s.Hit(ctx, key, time.Minute, at)
		ok(t, err)
		return n
	}
	hit("rate-past", now.Add(-2*time.Minute))
	hit("rate-live", now)
	throttles := map[string]time.Time{"throttle-past": past, "throttle-now": now, "throttle-live": future}
	for key, exp := range throttles {
		_, err := s.UpdateThrottles(ctx, t1, []string{key}, func([]store.Throttle) ([]store.ThrottleUpdate, error) {
			return []store.ThrottleUpdate{{Op: store.ThrottleStore, Next: store.Throttle{Failures: 1, LastFailure: past, ExpiresAt: exp}}}, nil
		})
		ok(t, err)
	}

	n, err := s.DeleteExpired(ctx, now, 100)
	ok(t, err)
	if want := int64(2 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 2); n != want {
		t.Errorf("DeleteExpired: removed %d rows, want %d", n, want)
	}

	for name, exp := range codes {
		_, err := s.GetAuthCode(ctx, t1, hash(name))
		expectGone(t, name, err, !exp.After(now))
	}
	for id, exp := range sessions {
		_, err := s.GetSession(ctx, t1, hash(id))
		expectGone(t, id, err, !exp.After(now))
	}
	_, _, err = s.GetRefreshToken(ctx, t1, dead0.Hash)
	expectGone(t, "dead token", err, true)
	_, _, err = s.GetRefreshToken(ctx, t1, live0.Hash)
	expectGone(t, "used token of a live family", err, false)
	_, _, err = s.GetRefreshToken(ctx, t1, live1.Hash)
	expectGone(t, "live token", err, false)
	isErr(t, s.RevokeRefreshFamily(ctx, t1, dead.ID, now), store.ErrNotFound)
	for name, exp := range devices {
		_, err := s.GetDeviceCode(ctx, t1, hash(name))
		expectGone(t, name, err, !exp.After(now))
	}
	for key, exp := range throttles {
		_, err := s.GetThrottle(ctx, t1, key)
		expectGone(t, key, err, !exp.After(now))
	}
	for jti, exp := range revoked {
		got, err := s.IsAccessTokenRevoked(ctx, t1, jti)
		ok(t, err)
		if got != exp.After(now) {
			t.Errorf("%s: revoked %v after DeleteExpired, want %v", jti, got, exp.After(now))
		}
	}

	n, err = s.DeleteExpired(ctx, now, 100)
	ok(t, err)
	if n != 0 {
		t.Errorf("DeleteExpired again: removed %d rows, want 0", n)
	}
	ok(t, s.RevokeRefreshFamily(ctx, t1, live.ID, now))

	// What is left is still in force, what was removed is forgotten. These
	// write rows, so they come after the check that nothing is left.
	isErr(t, s.UseAssertionID(ctx, t1, "web", "jti-live", future), store.ErrConflict)
	ok(t, s.UseAssertionID(ctx, t1, "web", "jti-past", future))
	if n := hit("rate-live", now); n != 2 {
		t.Errorf("live window: count %d after DeleteExpired, want 2", n)
	}
	if n := hit("rate-past", now.Add(-2*time.Minute)); n != 1 {
		t.Errorf("ended window: count %d after DeleteExpired, want 1 (a fresh row)", n)
	}
}

func expectGone(t *testing.T, what string, err error, gone bool) {
	t.Helper()
	switch {
	case gone && err == nil:
		t.Errorf("%s: still there after DeleteExpired", what)
	case gone:
		isErr(t, err, store.ErrNotFound)
	case err != nil:
		t.Errorf("%s: %v, want it kept", what, err)
	}
}

// testDeleteExpiredLimit checks that the limit applies to each kind of row.
func testDeleteExpiredLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	for i := range 3 {
		name := "code-" + string(rune('a'+i))
		c := authCode(name, now.Add(-time.Hour))
		c.ExpiresAt = now.Add(-time.Minute)
		ok(t, s.CreateAuthCode(ctx, c))
	}
	for i := range 5 {
		id := "sess-" + string(rune('a'+i))
		ok(t, s.CreateSession(ctx, store.Session{ID: id, Hash: hash(id), TenantID: t1, UserID: "u1",
			CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}))
	}
	for i := range 3 {
		name := "device-" + string(rune('a'+i))
		d := deviceCode(name, name, now.Add(-time.Hour))
		d.ExpiresAt = now.Add(-time.Minute)
		ok(t, s.CreateDeviceCode(ctx, d))
	}
	for i, want := range []int64{2 + 2 + 2, 1 + 2 + 1, 0 + 1 + 0, 0} {
		n, err := s.DeleteExpired(ctx, now, 2)
		ok(t, err)
		if n != want {
			t.Errorf("DeleteExpired call %d: removed %d rows, want %d", i+1, n, want)
		}
	}
}

// testSpentKeptForReplay checks that collection leaves what replay
// detection needs: a redeemed code stays, used, while the access token and
// the refresh family it issued live, and a rotated refresh token stays,
// used, while its family lives; both go once those have ended. Without
// that, a replay after the code's ten minutes (or the token's idle
// lifetime) would find nothing, be told "unknown", and revoke nothing.
func testSpentKeptForReplay(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	// A code redeemed without a refresh token: kept until its access token
	// has expired.
	plain := authCode("plain", now)
	ok(t, s.CreateAuthCode(ctx, plain))
	atEnd := now.Add(time.Hour)
	ok(t, s.RedeemAuthCode(ctx, t1, plain.Hash, now, store.Redemption{AccessTokenID: "at-plain", AccessTokenExpiresAt: atEnd}))

	// A code redeemed with a refresh family: kept until the family ends,
	// long after the access token.
	code := authCode("with family", now)
	ok(t, s.CreateAuthCode(ctx, code))
	fam, rt0 := family("fam", now)
	ok(t, s.RedeemAuthCode(ctx, t1, code.Hash, now, store.Redemption{AccessTokenID: "at-fam", AccessTokenExpiresAt: atEnd, Family: &fam, First: &rt0}))

	// The family's first token is rotated at once; its own idle expiry (14
	// days) is long before the family's end (90 days).
	rt1 := successor(rt0, "rt1", now)
	ok(t, s.RotateRefreshToken(ctx, t1, rt0.Hash, rt1, now))

	collect := func(at time.Time) {
		t.Helper()
		_, err := s.DeleteExpired(ctx, at, 1000)
		ok(t, err)
	}
	usedCode := func(c store.AuthCode, want bool) {
		t.Helper()
		got, err := s.GetAuthCode(ctx, t1, c.Hash)
		expectGone(t, "code "+c.Nonce, err, !want)
		if err == nil && (got.UsedAt.IsZero() || got.AccessTokenID == "") {
			t.Errorf("code %s kept without what a replay needs: %+v", c.Nonce, got)
		}
	}

	// Past the codes' own expiry.
	collect(code.ExpiresAt.Add(time.Minute))
	usedCode(plain, true)
	usedCode(code, true)

	// Past the access tokens: the plain code has nothing left to revoke.
	collect(atEnd)
	usedCode(plain, false)
	usedCode(code, true)

	// Past the first token's and its successor's idle expiry, inside the
	// family: the spent token is still there and still says it was used.
	collect(rt1.ExpiresAt.Add(time.Hour))
	got, gotFamily, err := s.GetRefreshToken(ctx, t1, rt0.Hash)
	ok(t, err)
	if got.UsedAt.IsZero() || gotFamily.ID != fam.ID {
		t.Errorf("spent token after collection: %+v in %+v", got, gotFamily)
	}
	usedCode(code, true)
	ok(t, s.RevokeRefreshFamily(ctx, t1, fam.ID, rt1.ExpiresAt.Add(time.Hour)))

	// Past the family's end, everything goes.
	collect(fam.ExpiresAt)
	usedCode(code, false)
	_, _, err = s.GetRefreshToken(ctx, t1, rt0.Hash)
	expectGone(t, "spent token of an ended family", err, true)
	isErr(t, s.RevokeRefreshFamily(ctx, t1, fam.ID, fam.ExpiresAt), store.ErrNotFound)
}

// testRemoveGrant: one delegated grant, the principal's scopes of one
// resource, goes at once with the client's refresh families of that user;
// the user's other grants, other users' and the tenant-wide ones stay.
func testRemoveGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	consent := func(principal, resource, value string) store.Consent {
		return store.Consent{TenantID: t1, ClientID: "web", PrincipalID: principal, ResourceID: resource, Kind: store.KindScope, Value: value, CreatedAt: now}
	}
	ok(t, s.AddConsents(ctx, []store.Consent{consent("u1", "", "openid"), consent("u1", "api", "read"), consent("u1", "api", "write"),
		consent("u2", "api", "read"), consent("", "api", "read"),
		{TenantID: t1, ClientID: "web", ResourceID: "api", Kind: store.KindRole, Value: "Orders.Admin", CreatedAt: now}}))
	f1, rt1 := family("grant-u1", now)
	f2, rt2 := family("grant-u2", now)
	f2.UserID = "u2"
	ok(t, s.CreateRefreshFamily(ctx, f1, rt1))
	ok(t, s.CreateRefreshFamily(ctx, f2, rt2))

	ok(t, s.RemoveGrant(ctx, t1, "web", "u1", "api", now))
	isErr(t, s.RemoveGrant(ctx, t1, "web", "u1", "api", now), store.ErrNotFound)
	left, err := s.ListClientConsents(ctx, t1, "web")
	ok(t, err)
	var kept []string
	for _, c := range left {
		kept = append(kept, c.PrincipalID+"/"+c.ResourceID+"/"+c.Value)
	}
	slices.Sort(kept)
	if want := []string{"/api/Orders.Admin", "/api/read", "u1//openid", "u2/api/read"}; !slices.Equal(kept, want) {
		t.Fatalf("after removing u1's grant on api the consents are %v, want %v", kept, want)
	}
	if _, fam, err := s.GetRefreshToken(ctx, t1, rt1.Hash); err != nil || fam.RevokedAt.IsZero() {
		t.Errorf("u1's family after the grant went: %v %v", fam.RevokedAt, err)
	}
	if _, fam, err := s.GetRefreshToken(ctx, t1, rt2.Hash); err != nil || !fam.RevokedAt.IsZero() {
		t.Errorf("u2's family after u1's grant went: %v %v", fam.RevokedAt, err)
	}
	// The tenant-wide grant: its scope goes, the app role and every family stay.
	ok(t, s.RemoveGrant(ctx, t1, "web", "", "api", now))
	if _, fam, err := s.GetRefreshToken(ctx, t1, rt2.Hash); err != nil || !fam.RevokedAt.IsZero() {
		t.Errorf("u2's family after the tenant-wide grant went: %v %v", fam.RevokedAt, err)
	}
}
