package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	tEnv    = "login.example.com"
	tClient = "client-1"
	tRealm  = "tenant-1"
)

var t0 = time.Unix(1_800_000_000, 0)

func fixedClock() func() time.Time { return func() time.Time { return t0 } }

func home(i int) string { return fmt.Sprintf("uid-%d.%s", i, tRealm) }

// signIn is what a typical interactive sign-in brings.
func signIn(i int, scopes string) Update {
	h := home(i)
	return Update{
		Account: &Account{HomeAccountID: h, Environment: tEnv, Realm: tRealm, LocalAccountID: fmt.Sprintf("uid-%d", i),
			Username: fmt.Sprintf("user%d@example.com", i), AuthorityType: "MSSTS"},
		IDToken:      &IDToken{HomeAccountID: h, Environment: tEnv, Realm: tRealm, ClientID: tClient, Secret: fmt.Sprintf("idt-%d", i)},
		RefreshToken: &RefreshToken{HomeAccountID: h, Environment: tEnv, ClientID: tClient, Secret: fmt.Sprintf("rt-%d", i)},
		AppMetadata:  &AppMetadata{Environment: tEnv, ClientID: tClient},
		AccessToken: &AccessToken{HomeAccountID: h, Environment: tEnv, Realm: tRealm, ClientID: tClient,
			Secret: fmt.Sprintf("at-%d-%s", i, scopes), Target: scopes, ExpiresOn: t0.Add(time.Hour)},
	}
}

func query(i int, scopes ...string) AccessTokenQuery {
	return AccessTokenQuery{Environment: tEnv, ClientID: tClient, HomeAccountID: home(i), Realm: tRealm, Scopes: scopes}
}

func mustApply(t testing.TB, c *Cache, u Update) {
	t.Helper()
	if err := c.Apply(context.Background(), u); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func atSecret(t testing.TB, c *Cache, q AccessTokenQuery) string {
	t.Helper()
	at, ok, err := c.AccessToken(context.Background(), q)
	if err != nil {
		t.Fatalf("AccessToken: %v", err)
	}
	if !ok {
		return ""
	}
	return at.Secret
}

func TestScopeMatching(t *testing.T) {
	tests := []struct {
		name   string
		target string
		query  []string
		want   bool
	}{
		{"exact", "api.read api.write", []string{"api.read", "api.write"}, true},
		{"subset", "api.read api.write", []string{"api.read"}, true},
		{"superset misses", "api.read", []string{"api.read", "api.write"}, false},
		{"case-insensitive", "API.Read", []string{"api.READ"}, true},
		{"oidc scopes ignored in the query", "api.read", []string{"openid", "profile", "offline_access", "email", "api.read"}, true},
		{"oidc scopes ignored, case too", "api.read", []string{"OpenID", "api.read"}, true},
		{"only oidc: must be granted", "openid profile", []string{"openid", "offline_access"}, true},
		{"only oidc: not granted", "api.read", []string{"openid"}, false},
		{"empty query matches nothing", "api.read", nil, false},
		{"space-separated element", "a b c", []string{"a c"}, true},
		{"different scope", "api.read", []string{"api.write"}, false},
		{"unicode case", "Straße.Lesen", []string{"straße.lesen"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coversScopes(strings.Join(parseScopes(tt.target), " "), tt.query); got != tt.want {
				t.Errorf("coversScopes(%q, %q) = %v, want %v", tt.target, tt.query, got, tt.want)
			}
		})
	}
}

func TestIntersectScopes(t *testing.T) {
	tests := []struct {
		cached, fresh string
		want          bool
	}{
		{"a b", "b c", true},
		{"a b", "c d", false},
		{"openid a", "openid b", false}, // OIDC scopes do not make tokens intersect
		{"A", "a", true},
		{"openid", "openid b", true}, // a token of only OIDC scopes is replaced by one that has them
	}
	for _, tt := range tests {
		if got := intersectScopes(parseScopes(tt.cached), parseScopes(tt.fresh)); got != tt.want {
			t.Errorf("intersectScopes(%q, %q) = %v, want %v", tt.cached, tt.fresh, got, tt.want)
		}
	}
}

func TestLookupThroughCache(t *testing.T) {
	c := New(WithClock(fixedClock()))
	mustApply(t, c, signIn(1, "Files.Read User.Read openid"))

	tests := []struct {
		name string
		q    AccessTokenQuery
		want bool
	}{
		{"hit", query(1, "user.read"), true},
		{"case-insensitive identifiers", AccessTokenQuery{Environment: "LOGIN.example.com", ClientID: "CLIENT-1",
			HomeAccountID: strings.ToUpper(home(1)), Realm: "Tenant-1", Scopes: []string{"USER.READ"}}, true},
		{"oidc ignored", query(1, "openid", "offline_access", "files.read"), true},
		{"not granted", query(1, "mail.read"), false},
		{"other account", query(2, "user.read"), false},
		{"other realm", AccessTokenQuery{Environment: tEnv, ClientID: tClient, HomeAccountID: home(1), Realm: "other", Scopes: []string{"user.read"}}, false},
		{"assertion hash does not match a non-OBO token", AccessTokenQuery{Environment: tEnv, ClientID: tClient, HomeAccountID: home(1),
			Realm: tRealm, Scopes: []string{"user.read"}, UserAssertionHash: "h1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := c.AccessToken(context.Background(), tt.q)
			if err != nil || ok != tt.want {
				t.Errorf("AccessToken(%+v) = %v, %v; want %v", tt.q, ok, err, tt.want)
			}
		})
	}
}

// Identifiers longer than a lookup's key buffer are found all the same.
func TestLookupLongIdentifiers(t *testing.T) {
	c := New(WithClock(fixedClock()))
	h := strings.Repeat("Uid-", 80) + "." + tRealm
	u := signIn(1, "User.Read")
	u.Account.HomeAccountID, u.IDToken.HomeAccountID, u.RefreshToken.HomeAccountID, u.AccessToken.HomeAccountID = h, h, h, h
	mustApply(t, c, u)
	ctx := context.Background()
	q := AccessTokenQuery{Environment: tEnv, ClientID: tClient, HomeAccountID: strings.ToUpper(h), Realm: tRealm, Scopes: []string{"user.read"}}
	if _, ok, err := c.AccessToken(ctx, q); err != nil || !ok {
		t.Errorf("AccessToken: %v, %v", ok, err)
	}
	if _, ok, err := c.RefreshToken(ctx, tEnv, tClient, h, ""); err != nil || !ok {
		t.Errorf("RefreshToken: %v, %v", ok, err)
	}
	if _, ok, err := c.IDToken(ctx, tEnv, tClient, h, tRealm); err != nil || !ok {
		t.Errorf("IDToken: %v, %v", ok, err)
	}
	if _, ok, err := c.Account(ctx, tEnv, strings.ToLower(h)); err != nil || !ok {
		t.Errorf("Account: %v, %v", ok, err)
	}
}

func TestAssertionHashSeparatesOBOTokens(t *testing.T) {
	c := New(WithClock(fixedClock()))
	obo := func(user int, hash, secret string) Update {
		return Update{AccessToken: &AccessToken{HomeAccountID: home(user), Environment: tEnv, Realm: tRealm, ClientID: tClient,
			Secret: secret, Target: "downstream.read", ExpiresOn: t0.Add(time.Hour), UserAssertionHash: hash}}
	}
	mustApply(t, c, obo(1, "hash-A", "at-A"))
	mustApply(t, c, obo(2, "", "at-plain"))
	q := query(1, "downstream.read")
	q.UserAssertionHash = "hash-A"
	if got := atSecret(t, c, q); got != "at-A" {
		t.Errorf("OBO lookup with hash-A = %q, want at-A", got)
	}
	q.UserAssertionHash = "hash-B"
	if got := atSecret(t, c, q); got != "" {
		t.Errorf("OBO lookup with hash-B = %q, want a miss", got)
	}
	q.UserAssertionHash = ""
	if got := atSecret(t, c, q); got != "" {
		t.Errorf("lookup without hash returned the OBO token %q", got)
	}
	if got := atSecret(t, c, query(2, "downstream.read")); got != "at-plain" {
		t.Errorf("lookup without hash = %q, want at-plain", got)
	}
	// Another assertion's token for the same scopes does not evict the
	// first, nor is either served for the other; this holds for tokens
	// cached without an account, as the client library caches OBO tokens.
	mustApply(t, c, obo(1, "hash-B", "at-B"))
	mustApply(t, c, Update{AccessToken: &AccessToken{Environment: tEnv, Realm: tRealm, ClientID: tClient,
		Secret: "at-C", Target: "downstream.read", ExpiresOn: t0.Add(time.Hour), UserAssertionHash: "hash-C"}})
	mustApply(t, c, Update{AccessToken: &AccessToken{Environment: tEnv, Realm: tRealm, ClientID: tClient,
		Secret: "at-D", Target: "downstream.read", ExpiresOn: t0.Add(time.Hour), UserAssertionHash: "hash-D"}})
	for hash, want := range map[string]string{"hash-A": "at-A", "hash-B": "at-B"} {
		q.UserAssertionHash = hash
		if got := atSecret(t, c, q); got != want {
			t.Errorf("OBO lookup with %s = %q, want %q", hash, got, want)
		}
	}
	for hash, want := range map[string]string{"hash-C": "at-C", "hash-D": "at-D"} {
		q := AccessTokenQuery{Environment: tEnv, ClientID: tClient, Realm: tRealm, Scopes: []string{"downstream.read"}, UserAssertionHash: hash}
		if got := atSecret(t, c, q); got != want {
			t.Errorf("account-less OBO lookup with %s = %q, want %q", hash, got, want)
		}
	}
	// Refresh tokens are separated the same way.
	for _, h := range []string{"hash-A", "hash-B"} {
		mustApply(t, c, Update{RefreshToken: &RefreshToken{Environment: tEnv, ClientID: tClient, Secret: "rt-" + h, UserAssertionHash: h}})
	}
	for _, h := range []string{"hash-A", "hash-B"} {
		if rt, ok, _ := c.RefreshToken(context.Background(), tEnv, tClient, "", h); !ok || rt.Secret != "rt-"+h {
			t.Errorf("refresh token for %s = %+v, %v", h, rt, ok)
		}
	}
	if _, ok, _ := c.RefreshToken(context.Background(), tEnv, tClient, "", "hash-X"); ok {
		t.Error("refresh token returned for an unknown assertion")
	}
	if _, ok, _ := c.RefreshToken(context.Background(), tEnv, tClient, "", ""); ok {
		t.Error("an OBO refresh token returned without an assertion")
	}
}

func TestApplyReplacesIntersectingAccessTokens(t *testing.T) {
	c := New(WithClock(fixedClock()))
	ctx := context.Background()
	mustApply(t, c, signIn(1, "a b"))
	mustApply(t, c, Update{AccessToken: &AccessToken{HomeAccountID: home(1), Environment: tEnv, Realm: tRealm, ClientID: tClient,
		Secret: "at-cd", Target: "c d", ExpiresOn: t0.Add(time.Hour)}})
	// Same key, intersecting "b": replaces "a b" but not "c d".
	mustApply(t, c, Update{AccessToken: &AccessToken{HomeAccountID: home(1), Environment: tEnv, Realm: tRealm, ClientID: tClient,
		Secret: "at-be", Target: "B e openid", ExpiresOn: t0.Add(2 * time.Hour)}})

	if got := atSecret(t, c, query(1, "a")); got != "" {
		t.Errorf("replaced token still returned: %q", got)
	}
	if got := atSecret(t, c, query(1, "b")); got != "at-be" {
		t.Errorf("lookup b = %q, want at-be", got)
	}
	if got := atSecret(t, c, query(1, "c")); got != "at-cd" {
		t.Errorf("lookup c = %q, want at-cd (does not intersect)", got)
	}
	// An expired token is still returned.
	at, ok, err := c.AccessToken(ctx, query(1, "e"))
	if err != nil || !ok || !at.ExpiresOn.Equal(t0.Add(2*time.Hour)) || !at.CachedAt.Equal(t0) || at.TokenType != "Bearer" ||
		!at.ExtendedExpiresOn.Equal(at.ExpiresOn) {
		t.Errorf("lookup e = %+v, %v, %v", at, ok, err)
	}
	// Account + IDT + RT + 2 ATs.
	if got := c.Len(); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	// A refreshed refresh token replaces the old one.
	mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: tEnv, ClientID: tClient, Secret: "rt-new"}})
	if rt, ok, _ := c.RefreshToken(ctx, tEnv, tClient, home(1), ""); !ok || rt.Secret != "rt-new" {
		t.Errorf("RefreshToken = %+v, %v", rt, ok)
	}
	if got := c.Len(); got != 5 {
		t.Errorf("Len after RT refresh = %d, want 5", got)
	}
}

func TestApplyDropsLongExpiredTokens(t *testing.T) {
	now := t0
	c := New(WithClock(func() time.Time { return now }))
	mustApply(t, c, Update{AccessToken: &AccessToken{Environment: tEnv, ClientID: tClient, Realm: tRealm,
		Secret: "old", Target: "x", ExpiresOn: now.Add(-25 * time.Hour)}})
	mustApply(t, c, Update{AccessToken: &AccessToken{Environment: tEnv, ClientID: tClient, Realm: tRealm,
		Secret: "recent", Target: "y", ExpiresOn: now.Add(-time.Hour)}})
	q := AccessTokenQuery{Environment: tEnv, ClientID: tClient, Realm: tRealm, Scopes: []string{"x"}}
	if got := atSecret(t, c, q); got != "" {
		t.Errorf("token expired 25h ago still served: %q", got)
	}
	q.Scopes = []string{"y"}
	if got := atSecret(t, c, q); got != "recent" {
		t.Errorf("token expired 1h ago = %q, want it returned", got)
	}
}

func TestApplyValidates(t *testing.T) {
	c := New()
	for name, u := range map[string]Update{
		"at without client":  {AccessToken: &AccessToken{Environment: tEnv, Secret: "s"}},
		"pop token":          {AccessToken: &AccessToken{Environment: tEnv, ClientID: tClient, Secret: "s", TokenType: "pop"}},
		"account without id": {Account: &Account{Environment: tEnv}},
		"rt without secret":  {RefreshToken: &RefreshToken{Environment: tEnv, ClientID: tClient}},
	} {
		if err := c.Apply(context.Background(), u); err == nil {
			t.Errorf("%s: Apply accepted it", name)
		}
	}
	if c.Len() != 0 {
		t.Errorf("rejected updates left %d entries", c.Len())
	}
}

func TestRemoveAccountRemovesOnlyThatAccount(t *testing.T) {
	ctx := context.Background()
	c := New(WithClock(fixedClock()))
	mustApply(t, c, signIn(1, "a"))
	mustApply(t, c, signIn(2, "a"))
	// Another client's tokens for account 1, and a tenant profile.
	mustApply(t, c, Update{
		Account:      &Account{HomeAccountID: home(1), Environment: tEnv, Realm: "guest-tenant", AuthorityType: "MSSTS"},
		RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: tEnv, ClientID: "client-2", Secret: "rt-1-2"},
		AccessToken: &AccessToken{HomeAccountID: home(1), Environment: tEnv, Realm: "guest-tenant", ClientID: "client-2",
			Secret: "at-1-2", Target: "b", ExpiresOn: t0.Add(time.Hour)},
	})
	// Same account id in another environment must survive.
	mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: "other.example.com", ClientID: tClient, Secret: "rt-other-env"}})
	before := c.Len()

	if err := c.RemoveAccount(ctx, strings.ToUpper(tEnv), home(1)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Account(ctx, tEnv, home(1)); ok {
		t.Error("account 1 still present")
	}
	if _, ok, _ := c.RefreshToken(ctx, tEnv, "client-2", home(1), ""); ok {
		t.Error("account 1's client-2 refresh token still present")
	}
	if got := atSecret(t, c, query(1, "a")); got != "" {
		t.Error("account 1's access token still present")
	}
	if _, ok, _ := c.IDToken(ctx, tEnv, tClient, home(1), tRealm); ok {
		t.Error("account 1's ID token still present")
	}
	if rt, ok, _ := c.RefreshToken(ctx, "other.example.com", tClient, home(1), ""); !ok || rt.Secret != "rt-other-env" {
		t.Error("account 1 in another environment was removed")
	}
	if got := atSecret(t, c, query(2, "a")); got != "at-2-a" {
		t.Errorf("account 2's access token = %q", got)
	}
	if _, ok, _ := c.Account(ctx, tEnv, home(2)); !ok {
		t.Error("account 2 removed")
	}
	// Removed: 2 accounts, IDT, 2 RTs, 2 ATs.
	if got, want := c.Len(), before-7; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

func TestRemoveRefreshTokenOnlyIfUnchanged(t *testing.T) {
	ctx := context.Background()
	c := New()
	mustApply(t, c, signIn(1, "a"))
	old, _, _ := c.RefreshToken(ctx, tEnv, tClient, home(1), "")
	mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: tEnv, ClientID: tClient, Secret: "rt-fresh"}})
	if err := c.RemoveRefreshToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	if rt, ok, _ := c.RefreshToken(ctx, tEnv, tClient, home(1), ""); !ok || rt.Secret != "rt-fresh" {
		t.Fatalf("removing a stale token removed the fresh one: %+v %v", rt, ok)
	}
	fresh, _, _ := c.RefreshToken(ctx, tEnv, tClient, home(1), "")
	if err := c.RemoveRefreshToken(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.RefreshToken(ctx, tEnv, tClient, home(1), ""); ok {
		t.Fatal("refresh token not removed")
	}
}

func TestFamilyRefreshToken(t *testing.T) {
	ctx := context.Background()
	c := New()
	mustApply(t, c, Update{
		RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: tEnv, ClientID: "app-a", Secret: "frt", FamilyID: "1"},
		AppMetadata:  &AppMetadata{Environment: tEnv, ClientID: "app-a", FamilyID: "1"},
	})
	// app-b is known to be in the family: it may use app-a's token.
	mustApply(t, c, Update{AppMetadata: &AppMetadata{Environment: tEnv, ClientID: "app-b", FamilyID: "1"}})
	rt, ok, err := c.RefreshToken(ctx, tEnv, "app-b", home(1), "")
	if err != nil || !ok || rt.Secret != "frt" {
		t.Fatalf("family lookup = %+v, %v, %v", rt, ok, err)
	}
	// app-c is not.
	if _, ok, _ := c.RefreshToken(ctx, tEnv, "app-c", home(1), ""); ok {
		t.Error("app outside the family got the family token")
	}
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	c := New(WithClock(fixedClock()))
	mustApply(t, c, signIn(2, "a"))
	mustApply(t, c, signIn(1, "a"))
	mustApply(t, c, Update{
		Account:      &Account{HomeAccountID: home(3), Environment: tEnv, Realm: tRealm},
		RefreshToken: &RefreshToken{HomeAccountID: home(3), Environment: tEnv, ClientID: "client-2", Secret: "x"},
	})
	mustApply(t, c, Update{Account: &Account{HomeAccountID: home(4), Environment: "other.example.com", Realm: tRealm},
		IDToken: &IDToken{HomeAccountID: home(4), Environment: "other.example.com", Realm: tRealm, ClientID: tClient, Secret: "x"}})

	names := func(as []Account) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.HomeAccountID+"@"+a.Environment)
		}
		return out
	}
	for _, tt := range []struct {
		env, client string
		want        []string
	}{
		{tEnv, tClient, []string{home(1) + "@" + tEnv, home(2) + "@" + tEnv}},
		{tEnv, "client-2", []string{home(3) + "@" + tEnv}},
		{tEnv, "", []string{home(1) + "@" + tEnv, home(2) + "@" + tEnv, home(3) + "@" + tEnv}},
		{"", tClient, []string{home(1) + "@" + tEnv, home(2) + "@" + tEnv, home(4) + "@other.example.com"}},
	} {
		got, err := c.Accounts(ctx, tt.env, tt.client)
		if err != nil || !slices.Equal(names(got), tt.want) {
			t.Errorf("Accounts(%q, %q) = %v, %v; want %v", tt.env, tt.client, names(got), err, tt.want)
		}
	}
}

func TestLRU(t *testing.T) {
	ctx := context.Background()
	c := New(WithMaxEntries(3), WithClock(fixedClock()))
	for i := 1; i <= 3; i++ {
		mustApply(t, c, signIn(i, "a"))
	}
	// Using account 1 makes account 2 the least recently used.
	if got := atSecret(t, c, query(1, "a")); got == "" {
		t.Fatal("account 1 missing")
	}
	mustApply(t, c, signIn(4, "a"))
	mustApply(t, c, signIn(5, "a"))

	var got []int
	for i := 1; i <= 5; i++ {
		if _, ok, _ := c.Account(ctx, tEnv, home(i)); ok {
			got = append(got, i)
		}
	}
	if !slices.Equal(got, []int{1, 4, 5}) {
		t.Errorf("accounts kept = %v, want [1 4 5]", got)
	}
	// Evicted accounts take their credentials with them.
	for _, i := range []int{2, 3} {
		if _, ok, _ := c.RefreshToken(ctx, tEnv, tClient, home(i), ""); ok {
			t.Errorf("account %d's refresh token survived its eviction", i)
		}
		if atSecret(t, c, query(i, "a")) != "" {
			t.Errorf("account %d's access token survived its eviction", i)
		}
	}
	// 3 accounts, each with an AT, RT and IDT.
	if c.Len() != 12 {
		t.Errorf("Len = %d, want 12", c.Len())
	}
}

func TestLRUAccessTokensOnly(t *testing.T) {
	c := New(WithMaxEntries(3), WithClock(fixedClock()))
	app := func(scope string) Update {
		return Update{AccessToken: &AccessToken{Environment: tEnv, ClientID: tClient, Realm: tRealm, Secret: "at-" + scope,
			Target: scope, ExpiresOn: t0.Add(time.Hour)}}
	}
	q := func(scope string) AccessTokenQuery {
		return AccessTokenQuery{Environment: tEnv, ClientID: tClient, Realm: tRealm, Scopes: []string{scope}}
	}
	for _, s := range []string{"a", "b", "c"} {
		mustApply(t, c, app(s))
	}
	atSecret(t, c, q("a"))
	mustApply(t, c, app("d"))
	for s, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if got := atSecret(t, c, q(s)) != ""; got != want {
			t.Errorf("token %s present = %v, want %v", s, got, want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c := New(WithClock(fixedClock()))
	mustApply(t, c, signIn(1, "Files.Read User.Read"))
	ctx := context.Background()
	q := AccessTokenQuery{Environment: "Login.Example.com", ClientID: "CLIENT-1", HomeAccountID: home(1), Realm: tRealm,
		Scopes: []string{"openid", "User.Read"}}
	h := home(1)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok, _ := c.AccessToken(ctx, q); !ok {
			t.Fatal("miss")
		}
		if _, ok, _ := c.RefreshToken(ctx, tEnv, tClient, h, ""); !ok {
			t.Fatal("miss")
		}
		if _, ok, _ := c.IDToken(ctx, tEnv, tClient, h, tRealm); !ok {
			t.Fatal("miss")
		}
		if _, ok, _ := c.Account(ctx, tEnv, h); !ok {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times per run", allocs)
	}
}

func TestMarshalUnmarshalRoundTrip(t *testing.T) {
	c := New(WithClock(fixedClock()))
	mustApply(t, c, signIn(1, "a b"))
	mustApply(t, c, signIn(2, "c"))
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d := New()
	if err := d.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	if d.Len() != c.Len() {
		t.Fatalf("Len after round trip = %d, want %d", d.Len(), c.Len())
	}
	want, _, _ := c.AccessToken(context.Background(), query(1, "a"))
	got, ok, _ := d.AccessToken(context.Background(), query(1, "a"))
	if !ok || !sameAT(got, want) {
		t.Errorf("after round trip\n got %+v\nwant %+v", got, want)
	}
	again, _ := d.Marshal()
	if string(again) != string(data) {
		t.Errorf("second Marshal differs:\n%s\n%s", again, data)
	}
	if err := d.Unmarshal([]byte("{not json")); err == nil {
		t.Error("Unmarshal accepted invalid JSON")
	}
	if err := New(WithPersistence(NewFile(t.TempDir() + "/c.json"))).Unmarshal(data); err == nil {
		t.Error("Unmarshal on a persisted cache should refuse")
	}
}

func sameAT(a, b AccessToken) bool {
	return a.HomeAccountID == b.HomeAccountID && a.Environment == b.Environment && a.Realm == b.Realm &&
		a.ClientID == b.ClientID && a.Secret == b.Secret && a.Target == b.Target && a.TokenType == b.TokenType &&
		a.CachedAt.Equal(b.CachedAt) && a.ExpiresOn.Equal(b.ExpiresOn) && a.ExtendedExpiresOn.Equal(b.ExtendedExpiresOn) &&
		a.RefreshOn.Equal(b.RefreshOn) && a.UserAssertionHash == b.UserAssertionHash
}

// A middle tier caches an access token and a refresh token per incoming
// assertion, without an account; the cap must bound both.
func TestLRUBoundsOnBehalfOfRefreshTokens(t *testing.T) {
	ctx := context.Background()
	c := New(WithMaxEntries(10), WithClock(fixedClock()))
	hash := func(i int) string { return fmt.Sprintf("assertion-%d", i) }
	obo := func(i int) Update {
		return Update{
			AccessToken: &AccessToken{Environment: tEnv, ClientID: tClient, Realm: tRealm, Secret: fmt.Sprintf("at-%d", i),
				Target: "downstream.read", ExpiresOn: t0.Add(time.Hour), UserAssertionHash: hash(i)},
			RefreshToken: &RefreshToken{Environment: tEnv, ClientID: tClient, Secret: fmt.Sprintf("rt-%d", i), UserAssertionHash: hash(i)},
		}
	}
	oboQuery := func(i int) AccessTokenQuery {
		return AccessTokenQuery{Environment: tEnv, ClientID: tClient, Realm: tRealm, Scopes: []string{"downstream.read"}, UserAssertionHash: hash(i)}
	}
	for i := range 1000 {
		mustApply(t, c, obo(i))
		// Assertion 0 stays in use: its access token is served from the
		// cache, and its refresh token, never looked up, stays with it.
		if atSecret(t, c, oboQuery(0)) != "at-0" {
			t.Fatalf("after %d saves the access token in use was evicted", i+1)
		}
	}
	c.mu.RLock()
	nAT, nRT := c.st.nAT, c.st.nRT
	c.mu.RUnlock()
	if nAT > 10 || nRT > 10 {
		t.Fatalf("after 1000 on-behalf-of saves with a cap of 10: %d access tokens, %d refresh tokens", nAT, nRT)
	}
	for _, i := range []int{0, 999} {
		if rt, ok, _ := c.RefreshToken(ctx, tEnv, tClient, "", hash(i)); !ok || rt.Secret != fmt.Sprintf("rt-%d", i) {
			t.Errorf("refresh token of assertion %d = %+v, %v; want it kept", i, rt, ok)
		}
	}
	if _, ok, _ := c.RefreshToken(ctx, tEnv, tClient, "", hash(1)); ok {
		t.Error("the refresh token of an evicted access token is still cached")
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"credential_type":"RefreshToken"`); n != nRT {
		t.Errorf("serialized cache holds %d refresh tokens, index %d", n, nRT)
	}
}

// Plain refresh tokens of accounts are bounded too, as accounts are.
func TestLRUBoundsRefreshTokensOfManyClients(t *testing.T) {
	c := New(WithMaxEntries(4), WithClock(fixedClock()))
	// One account, refresh tokens of ten clients (a family of apps).
	mustApply(t, c, Update{Account: &Account{HomeAccountID: home(1), Environment: tEnv, Realm: tRealm}})
	for i := range 10 {
		mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: tEnv, ClientID: fmt.Sprintf("app-%d", i), Secret: "rt"}})
	}
	if c.st.nRT > 4 {
		t.Errorf("%d refresh tokens kept with a cap of 4", c.st.nRT)
	}
	if _, ok, _ := c.RefreshToken(context.Background(), tEnv, "app-9", home(1), ""); !ok {
		t.Error("the newest refresh token was evicted")
	}
}

func TestRefreshTokenExpiryRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := New(WithClock(fixedClock()))
	exp := t0.Add(90 * 24 * time.Hour).Add(300 * time.Millisecond)
	mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: home(1), Environment: tEnv, ClientID: tClient, Secret: "rt", ExpiresOn: exp}})
	mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: home(2), Environment: tEnv, ClientID: tClient, Secret: "rt2"}})
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"expires_on":"%d"`, exp.Unix()); strings.Count(string(data), want) != 1 || strings.Count(string(data), `"expires_on"`) != 1 {
		t.Fatalf("serialized refresh tokens lack %s once:\n%s", want, data)
	}
	d := New()
	if err := d.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	rt, ok, _ := d.RefreshToken(ctx, tEnv, tClient, home(1), "")
	if !ok || !rt.ExpiresOn.Equal(time.Unix(exp.Unix(), 0)) {
		t.Errorf("refresh token after a round trip: %+v", rt)
	}
	if rt, _, _ := d.RefreshToken(ctx, tEnv, tClient, home(2), ""); !rt.ExpiresOn.IsZero() {
		t.Errorf("a refresh token without expiry read back with %v", rt.ExpiresOn)
	}
	// MSAL Node writes expires_on for refresh tokens when it knows it.
	if err := d.Unmarshal([]byte(`{"RefreshToken":{"k":{"home_account_id":"h","environment":"e","credential_type":"RefreshToken","client_id":"app","secret":"s","expires_on":"1900000000"}}}`)); err != nil {
		t.Fatal(err)
	}
	if rt, ok, _ := d.RefreshToken(ctx, "e", "app", "h", ""); !ok || rt.ExpiresOn.Unix() != 1_900_000_000 {
		t.Errorf("MSAL Node's expires_on: %+v %v", rt, ok)
	}
}

// AccessTokenWithIDToken finds the ID token through a link the cache keeps
// up to date; it must agree with IDToken whatever order tokens come in.
func TestAccessTokenWithIDTokenFollowsChanges(t *testing.T) {
	ctx := context.Background()
	c := New(WithClock(fixedClock()))
	check := func(step, want string) {
		t.Helper()
		_, it, ok, err := c.AccessTokenWithIDToken(ctx, query(1, "a"))
		if err != nil || !ok {
			t.Fatalf("%s: access token missing: %v", step, err)
		}
		if it.Secret != want {
			t.Errorf("%s: ID token %q, want %q", step, it.Secret, want)
		}
		if alone, ok, _ := c.IDToken(ctx, tEnv, tClient, home(1), tRealm); alone.Secret != want || ok != (want != "") {
			t.Errorf("%s: IDToken = %q, %v; the combined lookup said %q", step, alone.Secret, ok, want)
		}
	}
	idt := func(secret, realm string) Update {
		return Update{IDToken: &IDToken{HomeAccountID: strings.ToUpper(home(1)), Environment: tEnv, Realm: realm, ClientID: strings.ToUpper(tClient), Secret: secret}}
	}
	u := signIn(1, "a")
	u.IDToken = nil
	mustApply(t, c, u)
	check("no ID token", "")
	mustApply(t, c, idt("idt-other-realm", "other"))
	check("ID token of another realm", "")
	mustApply(t, c, idt("idt-1", tRealm))
	check("ID token saved after the access token", "idt-1")
	mustApply(t, c, idt("idt-2", tRealm))
	check("ID token replaced", "idt-2")
	mustApply(t, c, signIn(1, "a"))
	check("both saved again", "idt-1")

	// Loading links them too, in whichever order the file lists them.
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c = New(WithClock(fixedClock()))
	if err := c.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	check("loaded", "idt-1")

	if err := c.RemoveAccount(ctx, tEnv, home(1)); err != nil {
		t.Fatal(err)
	}
	u = signIn(1, "a")
	u.IDToken = nil
	mustApply(t, c, u)
	check("account removed and signed in again without an ID token", "")
}
