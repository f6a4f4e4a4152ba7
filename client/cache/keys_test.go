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

func TestFoldHashAgreesWithLower(t *testing.T) {
	seed := uint64(12345)
	pairs := [][2]string{
		{"Login.Example.COM", "login.example.com"},
		{"ÄBC-Ünïcode", "äbc-ünïcode"},
		{"MiXeD.ÉTÉ.x", "mixed.été.x"},
	}
	for _, p := range pairs {
		if hash2(seed, p[0], "x") != hash2(seed, p[1], "x") {
			t.Errorf("hash of %q differs from hash of %q", p[0], p[1])
		}
		if !eqLower(p[1], p[0]) {
			t.Errorf("eqLower(%q, %q) = false", p[1], p[0])
		}
	}
	long := strings.Repeat("Ab-Ç", 40)
	if hash2(seed, long, "x") != hash2(seed, strings.ToLower(long), "x") {
		t.Error("hash of a long mixed-case string differs from its lower-case form")
	}
	if hash2(seed, "ab", "c") == hash2(seed, "a", "bc") {
		t.Error("part boundaries do not affect the hash")
	}
	if eqLower("abc", "abd") || eqLower("abc", "ab") || eqLower("äb", "ÄC") {
		t.Error("eqLower matched different strings")
	}
}

func TestSWARLowerMatchesToLower(t *testing.T) {
	for c := 0; c < 128; c++ {
		for pos := 0; pos < 8; pos++ {
			b := []byte("aZ@[`{09")
			b[pos] = byte(c)
			want := strings.ToLower(string(b))
			if got := lowerWord(load64(string(b), 0)); got != load64(want, 0) {
				t.Fatalf("lowerWord(%q) = %x, want %q", b, got, want)
			}
			if !eqLower(want, string(b)) {
				t.Fatalf("eqLower(%q, %q) = false", want, b)
			}
			if partHash(1, string(b)) != partHash(1, want) {
				t.Fatalf("partHash(%q) differs from partHash(%q)", b, want)
			}
		}
	}
}

// eqLower must agree with comparing lower-cased strings at every length,
// where words overlap at the end and where they do not.
func TestEqLowerAgreesWithToLower(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "aAbBzZ.-/:é"
	for range 20000 {
		n := r.IntN(24)
		var a, b strings.Builder
		for range n {
			c := alphabet[r.IntN(len(alphabet)-2)]
			a.WriteByte(c)
			if r.IntN(8) == 0 {
				c = alphabet[r.IntN(len(alphabet)-2)]
			}
			b.WriteByte(c)
		}
		x, y := a.String(), b.String()
		if r.IntN(16) == 0 {
			y += "É"
			x += "é"
		}
		lower := strings.ToLower(x)
		if got, want := eqLower(lower, y), lower == strings.ToLower(y); got != want {
			t.Fatalf("eqLower(%q, %q) = %v, want %v", lower, y, got, want)
		}
	}
}
