package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdata/msal-node-cache.json is laid out as MSAL Node 5's
// TokenCache.serialize() writes it (JSON.stringify of
// Serializer.serializeAllCache: compact, sections and members in that
// order, keys from CacheHelpers.generateCredentialKey), for one account
// signed in to a public client, with the account's
// last_modification_time/_app, members this package does not model.
const (
	nodeHome   = "5d5b3d4c-7a3e-4c3b-9f6a-0e1f2a3b4c5d.9188040d-6c67-4c5b-b112-36a304b66dad"
	nodeEnv    = "login.microsoftonline.com"
	nodeRealm  = "9188040d-6c67-4c5b-b112-36a304b66dad"
	nodeClient = "b1f5a6c2-3d4e-4f70-8a9b-0c1d2e3f4a5b"
)

func readFixture(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/msal-node-cache.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func jsonValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, data)
	}
	return v
}

func TestMSALNodeFixture(t *testing.T) {
	ctx := context.Background()
	fixture := readFixture(t)
	c := New()
	if err := c.Unmarshal(fixture); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 4 {
		t.Errorf("Len = %d, want 4 (account, ID, access and refresh token)", c.Len())
	}

	at, ok, err := c.AccessToken(ctx, AccessTokenQuery{Environment: nodeEnv, ClientID: nodeClient, HomeAccountID: nodeHome,
		Realm: nodeRealm, Scopes: []string{"openid", "profile", "offline_access", "user.read"}})
	if err != nil || !ok {
		t.Fatalf("access token: %v, %v", ok, err)
	}
	if at.Target != "User.Read Mail.Read openid profile" || at.TokenType != "Bearer" ||
		!at.CachedAt.Equal(time.Unix(1700000000, 0)) || !at.ExpiresOn.Equal(time.Unix(1700004299, 0)) ||
		!at.ExtendedExpiresOn.Equal(time.Unix(1700008899, 0)) || !at.RefreshOn.IsZero() || !strings.HasPrefix(at.Secret, "eyJ") {
		t.Errorf("access token = %+v", at)
	}
	rt, ok, err := c.RefreshToken(ctx, nodeEnv, nodeClient, nodeHome, "")
	if err != nil || !ok || rt.Secret != "0.AXoAxyz-refresh-token-opaque-string_AbCdEf" || rt.FamilyID != "" {
		t.Errorf("refresh token = %+v, %v, %v", rt, ok, err)
	}
	it, ok, err := c.IDToken(ctx, nodeEnv, nodeClient, nodeHome, nodeRealm)
	if err != nil || !ok || !strings.HasPrefix(it.Secret, "eyJ") {
		t.Errorf("ID token = %+v, %v, %v", it, ok, err)
	}
	acc, ok, err := c.Account(ctx, nodeEnv, nodeHome)
	if err != nil || !ok || acc.Username != "adele.vance@contoso.example" || acc.Name != "Adele Vance" ||
		acc.AuthorityType != "MSSTS" || acc.LocalAccountID != "5d5b3d4c-7a3e-4c3b-9f6a-0e1f2a3b4c5d" || acc.ClientInfo == "" {
		t.Errorf("account = %+v, %v, %v", acc, ok, err)
	}
	accs, err := c.Accounts(ctx, nodeEnv, nodeClient)
	if err != nil || len(accs) != 1 {
		t.Errorf("Accounts = %v, %v", accs, err)
	}

	// Our keys for these entities are MSAL Node's, byte for byte.
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal(fixture, &doc); err != nil {
		t.Fatal(err)
	}
	for sec, want := range map[string]string{
		"AccessToken":  accessTokenKey(&at),
		"RefreshToken": refreshTokenKey(&rt),
		"IdToken":      idTokenKey(&it),
		"Account":      accountKey(&acc),
		"AppMetadata":  appMetadataKey(&AppMetadata{Environment: nodeEnv, ClientID: nodeClient}),
	} {
		if _, ok := doc[sec][want]; !ok || len(doc[sec]) != 1 {
			t.Errorf("%s: we would key it %q; the fixture has %v", sec, want, keysOf(doc[sec]))
		}
	}

	// Written back, it is the same document: same bytes, in fact, since
	// we write members in MSAL Node's order.
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(jsonValue(t, out), jsonValue(t, fixture)) {
		t.Errorf("round trip changed the document:\n got %s\nwant %s", out, fixture)
	}
	if !bytes.Equal(out, bytes.TrimSpace(fixture)) {
		t.Errorf("round trip is semantically equal but not byte-identical:\n got %s\nwant %s", out, fixture)
	}
	d := New()
	if err := d.Unmarshal(out); err != nil {
		t.Fatal(err)
	}
	again, _ := d.Marshal()
	if !bytes.Equal(again, out) {
		t.Errorf("re-read and re-written differs:\n%s\n%s", again, out)
	}
}

func keysOf(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A cache written by other MSALs: MSAL Go/.NET style numbers for times,
// "IDToken" spelling, fields we do not model, a PoP token, a top-level
// section we do not know. All of it must survive a read-modify-write.
const foreignCache = `{
  "AccessToken": {
    "uid.utid-login.example.com-accesstoken-app-utid-api.read": {
      "home_account_id": "uid.utid", "environment": "login.example.com", "credential_type": "AccessToken",
      "client_id": "app", "secret": "bearer-at", "realm": "utid", "target": "api.read",
      "cached_at": 1700000000, "expires_on": "1700003600", "extended_expires_on": 1700007200,
      "token_type": "Bearer", "requested_claims": "", "key_id": "", "last_modification_time": "1700000001",
      "ext": {"nested": [1, 2, {"x": null}]}
    },
    "uid.utid-login.example.com-accesstoken_with_authscheme-app-utid-api.read-pop": {
      "home_account_id": "uid.utid", "environment": "login.example.com", "credential_type": "AccessToken_With_AuthScheme",
      "client_id": "app", "secret": "pop-at", "realm": "utid", "target": "api.read",
      "cached_at": "1700000000", "expires_on": "1700003600", "token_type": "pop", "key_id": "kid-1"
    }
  },
  "IdToken": {
    "uid.utid-login.example.com-idtoken-app-utid": {
      "home_account_id": "uid.utid", "environment": "login.example.com", "credential_type": "IDToken",
      "client_id": "app", "secret": "idt", "realm": "utid"
    }
  },
  "Account": {
    "uid.utid-login.example.com-utid": {
      "home_account_id": "uid.utid", "environment": "login.example.com", "realm": "utid",
      "local_account_id": "uid", "username": "u@example.com", "authority_type": "MSSTS",
      "given_name": "U", "tenants": ["utid", "other"]
    }
  },
  "RefreshToken": {
    "uid.utid-login.example.com-refreshtoken-app--": {
      "home_account_id": "uid.utid", "environment": "login.example.com", "credential_type": "RefreshToken",
      "client_id": "app", "secret": "rt-1", "last_modification_app": "MSAL.NET"
    }
  },
  "AppMetadata": {
    "appmetadata-login.example.com-app": {"client_id": "app", "environment": "login.example.com", "family_id": "", "extra": true}
  },
  "AuthorityMetadata": {"login.example.com": {"aliases": ["login.example.com"], "expiresAt": 1700086400}},
  "Telemetry": [1, "two"]
}`

func TestForeignFieldsSurviveReadModifyWrite(t *testing.T) {
	ctx := context.Background()
	c := New(WithClock(func() time.Time { return time.Unix(1700000100, 0) }))
	if err := c.Unmarshal([]byte(foreignCache)); err != nil {
		t.Fatal(err)
	}
	at, ok, err := c.AccessToken(ctx, AccessTokenQuery{Environment: "login.example.com", ClientID: "app",
		HomeAccountID: "uid.utid", Realm: "utid", Scopes: []string{"api.read"}})
	if err != nil || !ok || at.Secret != "bearer-at" {
		t.Fatalf("bearer token = %+v, %v, %v (the PoP token must never be served)", at, ok, err)
	}
	if !at.CachedAt.Equal(time.Unix(1700000000, 0)) || !at.ExtendedExpiresOn.Equal(time.Unix(1700007200, 0)) {
		t.Errorf("numeric times misread: %+v", at)
	}
	if _, ok, _ := c.IDToken(ctx, "login.example.com", "app", "uid.utid", "utid"); !ok {
		t.Error("IDToken-spelled ID token not read")
	}

	// Modify: a new refresh token for another client, then write.
	mustApply(t, c, Update{RefreshToken: &RefreshToken{HomeAccountID: "uid.utid", Environment: "login.example.com", ClientID: "app2", Secret: "rt-2"}})
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got := jsonValue(t, out).(map[string]any)
	want := jsonValue(t, []byte(foreignCache)).(map[string]any)

	// Everything that was there is still there, unchanged except that
	// times are now strings.
	normalizeTimes(want)
	for sec, wv := range want {
		gv, ok := got[sec]
		if !ok {
			t.Errorf("section %s lost", sec)
			continue
		}
		wm, isMap := wv.(map[string]any)
		if !isMap {
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("section %s = %v, want %v", sec, gv, wv)
			}
			continue
		}
		for k, we := range wm {
			ge, ok := gv.(map[string]any)[k]
			if !ok {
				t.Errorf("%s entry %q lost", sec, k)
				continue
			}
			if !reflect.DeepEqual(ge, we) {
				t.Errorf("%s entry %q changed:\n got %v\nwant %v", sec, k, ge, we)
			}
		}
	}
	rts := got["RefreshToken"].(map[string]any)
	if _, ok := rts["uid.utid-login.example.com-refreshtoken-app2---"]; !ok || len(rts) != 2 {
		t.Errorf("refresh tokens after the change: %v", rts)
	}

	// Removing the account removes its PoP token too, but not other
	// sections' unknowns.
	if err := c.RemoveAccount(ctx, "login.example.com", "uid.utid"); err != nil {
		t.Fatal(err)
	}
	out, _ = c.Marshal()
	got = jsonValue(t, out).(map[string]any)
	for _, sec := range []string{"AccessToken", "IdToken", "Account", "RefreshToken"} {
		if n := len(got[sec].(map[string]any)); n != 0 {
			t.Errorf("%s still has %d entries after RemoveAccount: %s", sec, n, out)
		}
	}
	if got["AuthorityMetadata"] == nil || got["Telemetry"] == nil || len(got["AppMetadata"].(map[string]any)) != 1 {
		t.Errorf("RemoveAccount touched unrelated data: %s", out)
	}
}

// normalizeTimes turns numeric access token times into the strings we
// write.
func normalizeTimes(doc map[string]any) {
	for _, e := range doc["AccessToken"].(map[string]any) {
		m := e.(map[string]any)
		for _, f := range []string{"cached_at", "expires_on", "extended_expires_on"} {
			if n, ok := m[f].(float64); ok {
				m[f] = strconv.FormatInt(int64(n), 10)
			}
		}
	}
}

func TestDuplicateRefreshTokensLaterWins(t *testing.T) {
	// Two MSALs keyed the same account's refresh token differently; the
	// later entry (JavaScript appends new keys) is the newer one.
	data := `{"RefreshToken":{
	  "h-e-refreshtoken-app--": {"home_account_id":"h","environment":"e","credential_type":"RefreshToken","client_id":"app","secret":"older"},
	  "h-e-refreshtoken-app---": {"home_account_id":"h","environment":"e","credential_type":"RefreshToken","client_id":"app","secret":"newer"}
	}}`
	c := New()
	if err := c.Unmarshal([]byte(data)); err != nil {
		t.Fatal(err)
	}
	rt, ok, _ := c.RefreshToken(context.Background(), "e", "app", "h", "")
	if !ok || rt.Secret != "newer" {
		t.Errorf("refresh token = %+v, want the later one", rt)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d, want 1", c.Len())
	}
}

func TestApplyKeepsForeignKeyAndAccountFields(t *testing.T) {
	c := New(WithClock(func() time.Time { return time.Unix(1700000100, 0) }))
	if err := c.Unmarshal([]byte(foreignCache)); err != nil {
		t.Fatal(err)
	}
	// Refreshing MSAL .NET's refresh token keeps its key, so MSAL .NET
	// finds and overwrites the same entry next time.
	mustApply(t, c, Update{
		RefreshToken: &RefreshToken{HomeAccountID: "uid.utid", Environment: "login.example.com", ClientID: "app", Secret: "rt-new"},
		Account: &Account{HomeAccountID: "uid.utid", Environment: "login.example.com", Realm: "utid", LocalAccountID: "uid",
			Username: "renamed@example.com", AuthorityType: "MSSTS"},
		AccessToken: &AccessToken{HomeAccountID: "uid.utid", Environment: "login.example.com", Realm: "utid", ClientID: "app",
			Secret: "bearer-at-2", Target: "api.read", ExpiresOn: time.Unix(1700003700, 0)},
	})
	out, _ := c.Marshal()
	doc := jsonValue(t, out).(map[string]any)
	rts := doc["RefreshToken"].(map[string]any)
	rt, ok := rts["uid.utid-login.example.com-refreshtoken-app--"].(map[string]any)
	if !ok || len(rts) != 1 || rt["secret"] != "rt-new" {
		t.Errorf("refresh tokens = %v", rts)
	}
	if _, stale := rt["last_modification_app"]; stale {
		t.Error("a replaced credential kept its predecessor's unknown fields")
	}
	acc := doc["Account"].(map[string]any)["uid.utid-login.example.com-utid"].(map[string]any)
	if acc["username"] != "renamed@example.com" || acc["given_name"] != "U" || acc["tenants"] == nil {
		t.Errorf("account = %v, want new username and MSAL's fields kept", acc)
	}
	ats := doc["AccessToken"].(map[string]any)
	if e, ok := ats["uid.utid-login.example.com-accesstoken-app-utid-api.read"].(map[string]any); !ok || e["secret"] != "bearer-at-2" || len(ats) != 2 {
		t.Errorf("access tokens = %v", ats)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, in := range []string{`[1,2]`, `{"AccessToken":[]}`, `{"AccessToken":{}} trailing`, `{"a":`, "\x00\x01"} {
		_, err := decode([]byte(in))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode(%q) = %v, want ErrCorrupt", in, err)
		}
	}
	for _, in := range []string{"", "  \n", "\xef\xbb\xbf{}", `{"AccessToken":null}`} {
		if _, err := decode([]byte(in)); err != nil {
			t.Errorf("decode(%q) = %v, want an empty cache", in, err)
		}
	}
}

func TestAppendStringMatchesJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\`, "ctl\x01\n\t\r", "üñí €", "bad\xffutf8", "</script>&"} {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Errorf("appendString(%q) is not JSON: %v", s, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("appendString(%q) round-trips to %q", s, back)
		}
	}
}
