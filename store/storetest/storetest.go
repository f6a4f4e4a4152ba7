// Package storetest is the conformance suite of store.Store. Every backend's
// test calls Run; a backend is correct when it passes, and a behaviour the
// rest of the server relies on belongs here rather than in one backend's
// tests.
//
// The suite uses explicit times (never the clock) and compares them at
// millisecond precision in UTC.
package storetest

import (
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Backend gives a fresh, empty database for one test. Open returns a new,
// independent handle (a separate connection pool, as another process or
// server instance would have) to that same database. The backend closes
// every store it returns when the test ends (t.Cleanup).
type Backend func(t *testing.T) (s store.Store, open func() store.Store)

// Run runs the whole suite, each test on a fresh database.
func Run(t *testing.T, newBackend Backend) {
	simple := func(f func(*testing.T, store.Store)) func(*testing.T, store.Store, func() store.Store) {
		return func(t *testing.T, s store.Store, _ func() store.Store) { f(t, s) }
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, open func() store.Store)
	}{
		{"Tenants", simple(testTenants)},
		{"Apps", simple(testApps)},
		{"ClientSecrets", simple(testClientSecrets)},
		{"AppCredentials", simple(testAppCredentials)},
		{"Users", simple(testUsers)},
		{"UsersPage", simple(testUsersPage)},
		{"Consents", simple(testConsents)},
		{"SigningKeys", simple(testSigningKeys)},
		{"Sessions", simple(testSessions)},
		{"AuthCodes", simple(testAuthCodes)},
		{"RefreshTokens", simple(testRefreshTokens)},
		{"RevokeUserRefreshFamilies", simple(testRevokeUserRefreshFamilies)},
		{"RemoveGrant", simple(testRemoveGrant)},
		{"RevokeSessionRefreshFamilies", simple(testRevokeSessionRefreshFamilies)},
		{"DeviceCodes", simple(testDeviceCodes)},
		{"DeviceCodeDenied", simple(testDeviceCodeDenied)},
		{"DeviceCodeExpiry", simple(testDeviceCodeExpiry)},
		{"DeviceCodeRedemptionAtomic", simple(testDeviceCodeRedemptionAtomic)},
		{"AssertionIDs", simple(testAssertionIDs)},
		{"RevokedAccessTokens", simple(testRevokedAccessTokens)},
		{"Hit", simple(testHit)},
		{"TenantLockout", simple(testTenantLockout)},
		{"Throttles", simple(testThrottles)},
		{"ThrottleRace", testThrottleRace},
		{"TenantIsolation", simple(testTenantIsolation)},
		{"DeleteExpired", simple(testDeleteExpired)},
		{"DeleteExpiredLimit", simple(testDeleteExpiredLimit)},
		{"SpentKeptForReplay", simple(testSpentKeptForReplay)},
		{"RotateRace", testRotateRace},
		{"RotateRaceHandles", testRotateRaceHandles},
		{"RotateChain", testRotateChain},
		{"RedeemDeviceRace", testRedeemDeviceRace},
		{"HitRace", testHitRace},
		{"HandlesShareWrites", testHandlesShareWrites},
		{"TimesUTC", simple(testTimesUTC)},
		{"UsernameUnicodeCase", simple(testUsernameUnicodeCase)},
		{"OneActiveKey", simple(testOneActiveKey)},
		{"MissingParent", simple(testMissingParent)},
		{"DeviceCodeCreatedPending", simple(testDeviceCodeCreatedPending)},
		{"HitClockSkew", simple(testHitClockSkew)},
		{"UnrepresentableLookups", simple(testUnrepresentableLookups)},
		{"KeyRotationRace", testKeyRotationRace},
		{"PollRace", testPollRace},
		{"AssertionReplayRace", testAssertionReplayRace},
		{"SessionFrontChannelRace", testSessionFrontChannelRace},
		{"AuditLog", simple(testAuditLog)},
		{"Groups", simple(testGroups)},
		{"AuditWithChange", simple(testAuditWithChange)},
		{"AuditExpiry", simple(testAuditExpiry)},
		{"Deletes", simple(testDeletes)},
		{"DeleteTenant", simple(testDeleteTenant)},
		{"DirectoryRoles", simple(testDirectoryRoles)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, open := newBackend(t)
			tc.run(t, s, open)
		})
	}
}

// epoch is the "now" of every test. Its nanoseconds check that backends keep
// milliseconds and the comparisons ignore the rest.
func epoch() time.Time {
	return time.Date(2031, time.March, 4, 5, 6, 7, 891_234_567, time.UTC)
}

const (
	t1 = "tenant-1"
	t2 = "tenant-2"
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// same compares after normalizing: times truncated to milliseconds in UTC,
// and empty slices equal to nil ones (a backend need not tell them apart).
func same[T any](t *testing.T, got, want T) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("got  %+v\nwant %+v", g, w)
	}
}

func norm[T any](v T) T {
	normValue(reflect.ValueOf(&v).Elem())
	return v
}

func normValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).Truncate(time.Millisecond).UTC()))
			return
		}
		for i := range v.NumField() {
			normValue(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		// Copied first, so that normalizing never writes into the
		// caller's backing array.
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			normValue(c.Index(i))
		}
		v.Set(c)
	}
}

// seedTenants creates the two tenants most tests work in.
func seedTenants(t *testing.T, s store.Store) {
	t.Helper()
	for _, id := range []string{t1, t2} {
		ok(t, s.CreateTenant(t.Context(), store.Tenant{ID: id, Name: id + "-name", SigningAlg: "RS256", CreatedAt: epoch()}))
	}
}

// seed creates both tenants, each with apps "web" and "api" and users "u1"
// and "u2", so that the rows of the token tests refer to things that exist
// whatever foreign keys a backend has.
func seed(t *testing.T, s store.Store) {
	t.Helper()
	seedTenants(t, s)
	ctx := t.Context()
	for _, tid := range []string{t1, t2} {
		for _, cid := range []string{"web", "api"} {
			ok(t, s.CreateApp(ctx, store.App{TenantID: tid, ClientID: cid, Name: cid, IdentifierURI: "api://" + cid,
				ServicePrincipalID: "sp-" + cid, CreatedAt: epoch()}))
		}
		for _, uid := range []string{"u1", "u2"} {
			ok(t, s.CreateUser(ctx, store.User{ID: uid, TenantID: tid, Username: uid + "@example.com", CreatedAt: epoch()}))
		}
	}
}

// family returns a live family of t1 and its first token.
func family(id string, now time.Time) (store.RefreshFamily, store.RefreshToken) {
	f := store.RefreshFamily{ID: id, TenantID: t1, ClientID: "web", UserID: "u1", SessionID: "sid-" + id,
		AuthTime: now.Add(-time.Minute), CreatedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)}
	rt := store.RefreshToken{Hash: hash(id + "/0"), TenantID: t1, FamilyID: id, Generation: 0,
		Grant:     store.Grant{ResourceID: "api", Scopes: []string{"read"}, OIDCScopes: []string{"openid", "offline_access"}},
		CreatedAt: now, ExpiresAt: now.Add(14 * 24 * time.Hour)}
	return f, rt
}

// successor returns the token that rotating parent at now should store.
func successor(parent store.RefreshToken, name string, now time.Time) store.RefreshToken {
	return store.RefreshToken{Hash: hash(name), TenantID: parent.TenantID, FamilyID: parent.FamilyID,
		ParentHash: parent.Hash, Generation: parent.Generation + 1, Grant: parent.Grant,
		CreatedAt: now, ExpiresAt: now.Add(14 * 24 * time.Hour)}
}
