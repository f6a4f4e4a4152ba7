package cache

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The expected keys are what MSAL Node 5's generateCredentialKey,
// generateAccountKey (for a home-tenant account) and generateAppMetadataKey
// produce for the same entities (lib/msal-node/src/cache/CacheHelpers.ts,
// lib/msal-common/src/cache/utils/CacheHelpers.ts).
func TestKeyFormats(t *testing.T) {
	const (
		home = "UID.UTID"
		env  = "Login.Example.com:8443"
	)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{
			name: "access token: lower-cased, bearer scheme empty",
			got: accessTokenKey(&AccessToken{HomeAccountID: home, Environment: env, ClientID: "App-1",
				Realm: "Tenant-A", Target: "User.Read openid"}),
			want: "uid.utid-login.example.com:8443-accesstoken-app-1-tenant-a-user.read openid-",
		},
		{
			name: "app token: empty home account id",
			got:  accessTokenKey(&AccessToken{Environment: env, ClientID: "daemon", Realm: "t", Target: "api://x/.default"}),
			want: "-login.example.com:8443-accesstoken-daemon-t-api://x/.default-",
		},
		{
			name: "refresh token: no realm, no target",
			got:  refreshTokenKey(&RefreshToken{HomeAccountID: home, Environment: env, ClientID: "App-1"}),
			want: "uid.utid-login.example.com:8443-refreshtoken-app-1---",
		},
		{
			name: "on-behalf-of access token: assertion hash appended",
			got: accessTokenKey(&AccessToken{Environment: env, ClientID: "Api", Realm: "t", Target: "downstream.read",
				UserAssertionHash: "HashAbc"}),
			want: "-login.example.com:8443-accesstoken-api-t-downstream.read--hashabc",
		},
		{
			name: "on-behalf-of refresh token: assertion hash appended",
			got:  refreshTokenKey(&RefreshToken{Environment: env, ClientID: "Api", UserAssertionHash: "HashAbc"}),
			want: "-login.example.com:8443-refreshtoken-api----hashabc",
		},
		{
			name: "family refresh token: keyed by the family id",
			got:  refreshTokenKey(&RefreshToken{HomeAccountID: home, Environment: env, ClientID: "App-1", FamilyID: "1"}),
			want: "uid.utid-login.example.com:8443-refreshtoken-1---",
		},
		{
			name: "id token: no target",
			got:  idTokenKey(&IDToken{HomeAccountID: home, Environment: env, ClientID: "App-1", Realm: "Tenant-A"}),
			want: "uid.utid-login.example.com:8443-idtoken-app-1-tenant-a--",
		},
		{
			name: "account in its home tenant (as MSAL Node 5 keys it)",
			got:  accountKey(&Account{HomeAccountID: home, Environment: env, Realm: "UTID"}),
			want: "uid.utid-login.example.com:8443-utid",
		},
		{
			name: "guest-tenant profile: realm, as MSAL Go/.NET/Python",
			got:  accountKey(&Account{HomeAccountID: home, Environment: env, Realm: "Guest-Tenant"}),
			want: "uid.utid-login.example.com:8443-guest-tenant",
		},
		{
			name: "account: no dot, realm",
			got:  accountKey(&Account{HomeAccountID: "Sub-123", Environment: env, Realm: "Tenant-A"}),
			want: "sub-123-login.example.com:8443-tenant-a",
		},
		{
			name: "app metadata",
			got:  appMetadataKey(&AppMetadata{Environment: env, ClientID: "App-1", FamilyID: "1"}),
			want: "appmetadata-login.example.com:8443-app-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("key\n got %q\nwant %q", tt.got, tt.want)
			}
		})
	}
}

func TestHomeTenantID(t *testing.T) {
	for in, want := range map[string]string{
		"uid.utid": "utid",
		"a.b.c":    "b",
		"sub":      "",
		"uid.":     "",
	} {
		if got := homeTenantID(in); got != want {
			t.Errorf("homeTenantID(%q) = %q, want %q", in, got, want)
		}
	}
}

// Index keys fold case as strings.ToLower does, whichever side built them,
// and keep identifiers apart.
func TestIndexKeyFoldsCase(t *testing.T) {
	pairs := [][2]string{
		{"Login.Example.COM", "login.example.com"},
		{"ÄBC-Ünïcode", "äbc-ünïcode"},
		{"MiXeD.ÉTÉ.x", "mixed.été.x"},
		{strings.Repeat("Ab-Ç", 80), strings.Repeat("ab-ç", 80)},
	}
	for _, p := range pairs {
		var buf keyBuf
		if got, want := string(appendKey(buf[:0], "Ab", p[0], "X")), idKey("ab", p[1], "x"); got != want {
			t.Errorf("key of %q = %q, want %q", p[0], got, want)
		}
	}
	if idKey("ab", "c") == idKey("a", "bc") || idKey("a", "") == idKey("", "a") {
		t.Error("part boundaries do not affect the key")
	}
	if idKey("abc") == idKey("abd") || idKey("äb") == idKey("äc") {
		t.Error("different identifiers share a key")
	}
}

// appendLower must be strings.ToLower, for ASCII, other scripts and
// invalid UTF-8 alike.
func TestAppendLowerMatchesToLower(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "A", "z", "Z", "@", "[", "`", "{", ".", "-", "é", "É", "İ", "Σ", "ς", "K", "\xff", "\xc3", "\x00"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := string(appendLower(nil, s)), strings.ToLower(s); got != want {
			t.Fatalf("appendLower(%q) = %q, want %q", s, got, want)
		}
	}
	for c := range 256 {
		s := string([]byte{byte(c)})
		if got, want := string(appendLower(nil, s)), strings.ToLower(s); got != want {
			t.Fatalf("appendLower(%q) = %q, want %q", s, got, want)
		}
	}
}
