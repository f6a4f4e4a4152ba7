package cache

import "strings"

// Credential types as MSAL writes them in credential_type and, lower-cased,
// in the cache keys.
const (
	credTypeAccessToken  = "AccessToken"
	credTypeRefreshToken = "RefreshToken"
	credTypeIDToken      = "IdToken"

	tokenTypeBearer = "Bearer"

	appMetadataPrefix = "appmetadata"
	keySeparator      = "-"
)

// The key formats below are MSAL Node's (lib/msal-node/src/cache/CacheHelpers.ts,
// msal-node 5.x): MSAL Node is the library most likely to share a file with
// Tessera, and MSAL never looks an entry up by recomputing its key, only by
// filtering on its fields and on substrings of the key, so any MSAL can read
// these keys. Matching Node's bytes matters for one thing: when both write the
// same credential they must use the same key, or the file would hold two
// copies and MSAL Node would pick whichever comes first.
//
//	credential: <home_account_id>-<environment>-<credential_type>-<client_id|family_id>-<realm>-<target>-<scheme>
//	account:    <home_account_id>-<environment>-<realm>
//	app:        appmetadata-<environment>-<client_id>
//
// all lower-cased; <scheme> is "" for bearer tokens, and refresh tokens of a
// family are keyed by the family id instead of the client id (so the family
// shares one). For accounts MSAL Node 5 uses the home tenant id (the utid
// of a "uid.utid" home account id) where MSAL Go, .NET and Python and older
// MSAL Node use the realm; the two agree for the home-tenant account, the
// one MSAL Node writes, and the realm keeps a guest-tenant profile from
// overwriting it. Entries read from a store keep whatever key they were
// stored under; see index.go.

func credentialKey(home, env, credType, clientOrFamily, realm, target, assertionHash string) string {
	var b strings.Builder
	b.Grow(len(home) + len(env) + len(credType) + len(clientOrFamily) + len(realm) + len(target) + len(assertionHash) + 7)
	for i, p := range [...]string{home, env, credType, clientOrFamily, realm, target, ""} {
		if i > 0 {
			b.WriteString(keySeparator)
		}
		b.WriteString(p)
	}
	if assertionHash != "" {
		b.WriteString(keySeparator)
		b.WriteString(assertionHash)
	}
	return strings.ToLower(b.String())
}

// On-behalf-of tokens are the exception to matching MSAL Node: its keys
// leave out the assertion hash, so two users' OBO tokens for the same
// scopes would share a key and evict each other, all the more as the
// client library caches them without a home account id. We append the
// hash where MSAL Node 5 appends its additional key components, an
// extension its readers already tolerate. An OBO cache is a middle tier's
// and is not shared with a desktop MSAL, so nothing is duplicated.

func accessTokenKey(at *AccessToken) string {
	return credentialKey(at.HomeAccountID, at.Environment, credTypeAccessToken, at.ClientID, at.Realm, at.Target, at.UserAssertionHash)
}

func refreshTokenKey(rt *RefreshToken) string {
	id := rt.ClientID
	if rt.FamilyID != "" {
		id = rt.FamilyID
	}
	return credentialKey(rt.HomeAccountID, rt.Environment, credTypeRefreshToken, id, "", "", rt.UserAssertionHash)
}

func idTokenKey(it *IDToken) string {
	return credentialKey(it.HomeAccountID, it.Environment, credTypeIDToken, it.ClientID, it.Realm, "", "")
}

func accountKey(a *Account) string {
	return strings.ToLower(a.HomeAccountID + keySeparator + a.Environment + keySeparator + a.Realm)
}

func appMetadataKey(m *AppMetadata) string {
	return strings.ToLower(appMetadataPrefix + keySeparator + m.Environment + keySeparator + m.ClientID)
}

// homeTenantID is the utid of a "uid.utid" home account id (MSAL Node takes
// the second dot-separated part), or "".
func homeTenantID(home string) string {
	_, rest, ok := strings.Cut(home, ".")
	if !ok {
		return ""
	}
	tenant, _, _ := strings.Cut(rest, ".")
	return tenant
}
