package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/tessera-id/tessera/client/cache"
)

// Account is a signed-in user as the cache knows them.
type Account struct {
	// HomeAccountID is "uid.utid" from client_info (Entra-shaped servers)
	// or the ID token's sub.
	HomeAccountID  string
	Environment    string
	TenantID       string
	Username       string
	Name           string
	LocalAccountID string
}

// IsZero reports an empty account (tokens an app got as itself).
func (a Account) IsZero() bool { return a.HomeAccountID == "" }

func accountFromCache(c cache.Account) Account {
	return Account{HomeAccountID: c.HomeAccountID, Environment: c.Environment, TenantID: c.Realm, Username: c.Username, Name: c.Name, LocalAccountID: c.LocalAccountID}
}

// Result is an acquired token.
type Result struct {
	AccessToken  string
	TokenType    string
	ExpiresOn    time.Time
	ExtExpiresOn time.Time
	// RefreshOn is when the server suggested refreshing (refresh_in), or zero.
	RefreshOn     time.Time
	Scopes        []string
	IDToken       string
	IDTokenClaims *IDTokenClaims
	Account       Account
	// FromCache is true when no network call was made.
	FromCache bool
}

// responseContext is what a flow knows about the request whose response
// is being handled.
type responseContext struct {
	scopes            []string // what was asked (without the OIDC scopes the library adds)
	nonce             string
	appOnly           bool     // client credentials: no user, no account
	userAssertionHash string   // on-behalf-of
	prior             *Account // the account a refresh was for
}

// clientInfo is Entra's client_info: base64url JSON {"uid","utid"}.
type clientInfo struct {
	UID  string `json:"uid"`
	UTID string `json:"utid"`
}

func decodeClientInfo(s string) (clientInfo, bool) {
	if s == "" {
		return clientInfo{}, false
	}
	s = strings.TrimRight(s, "=")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return clientInfo{}, false
		}
	}
	var ci clientInfo
	if json.Unmarshal(b, &ci) != nil || ci.UID == "" {
		return clientInfo{}, false
	}
	return ci, true
}

// handleResponse verifies a token response, writes it to the cache (which
// persists it), fires the hook, and only then returns it.
func (a *app) handleResponse(ctx context.Context, au *authority, tr *tokenResponse, rc responseContext) (Result, error) {
	now := a.now()
	res := Result{AccessToken: tr.AccessToken, TokenType: tr.TokenType, IDToken: tr.IDToken}
	if res.TokenType == "" {
		res.TokenType = "Bearer"
	}
	expiresIn := tr.ExpiresIn.duration()
	if expiresIn <= 0 {
		expiresIn = time.Hour // RFC 6749 leaves it optional; assume the common default
	}
	res.ExpiresOn = now.Add(expiresIn)
	res.ExtExpiresOn = res.ExpiresOn
	if tr.ExtExpiresIn > 0 {
		res.ExtExpiresOn = now.Add(tr.ExtExpiresIn.duration())
	}
	if tr.RefreshIn > 0 {
		res.RefreshOn = now.Add(tr.RefreshIn.duration())
	}
	res.Scopes = grantedScopes(tr.Scope, rc.scopes)

	if tr.IDToken != "" {
		claims, err := a.verifyIDToken(ctx, au, tr.IDToken, rc.nonce)
		if err != nil {
			return Result{}, err
		}
		res.IDTokenClaims = &claims
	}

	realm := au.tenant
	u := cache.Update{AppMetadata: &cache.AppMetadata{ClientID: a.clientID, Environment: au.environment}}
	// On-behalf-of tokens belong to the incoming assertion, not to an
	// account of this app: they are cached under its hash alone.
	if !rc.appOnly && rc.userAssertionHash == "" {
		acct, ok := a.accountFor(au, tr, res.IDTokenClaims, rc.prior)
		if ok {
			res.Account = accountFromCache(acct)
			realm = acct.Realm
			u.Account = &acct
			if tr.IDToken != "" {
				u.IDToken = &cache.IDToken{HomeAccountID: acct.HomeAccountID, Environment: au.environment, Realm: realm, ClientID: a.clientID, Secret: tr.IDToken}
			}
			if tr.RefreshToken != "" {
				u.RefreshToken = &cache.RefreshToken{HomeAccountID: acct.HomeAccountID, Environment: au.environment, ClientID: a.clientID, Secret: tr.RefreshToken, UserAssertionHash: rc.userAssertionHash}
			}
		}
	}
	if rc.appOnly || !res.Account.IsZero() || rc.userAssertionHash != "" {
		u.AccessToken = &cache.AccessToken{
			HomeAccountID: res.Account.HomeAccountID, Environment: au.environment, Realm: realm, ClientID: a.clientID,
			Secret: tr.AccessToken, Target: strings.Join(res.Scopes, " "), TokenType: res.TokenType, CachedAt: now,
			ExpiresOn: res.ExpiresOn, ExtendedExpiresOn: res.ExtExpiresOn, RefreshOn: res.RefreshOn, UserAssertionHash: rc.userAssertionHash,
		}
		if rc.userAssertionHash != "" && u.RefreshToken == nil && tr.RefreshToken != "" {
			u.RefreshToken = &cache.RefreshToken{Environment: au.environment, ClientID: a.clientID, Secret: tr.RefreshToken, UserAssertionHash: rc.userAssertionHash}
		}
	}
	if err := a.opts.cache.Apply(ctx, u); err != nil {
		return Result{}, err
	}
	if a.opts.onTokens != nil {
		a.opts.onTokens(ctx, TokenEvent{Result: res, RefreshToken: tr.RefreshToken})
	}
	return res, nil
}

// accountFor derives the cache account of a user response: from
// client_info when the server sends it (as MSAL keys accounts), else from
// the ID token, else the account the request was made for.
func (a *app) accountFor(au *authority, tr *tokenResponse, claims *IDTokenClaims, prior *Account) (cache.Account, bool) {
	acct := cache.Account{Environment: au.environment, AuthorityType: "Generic", ClientInfo: tr.ClientInfo}
	if au.entra {
		acct.AuthorityType = "MSSTS"
	}
	if ci, ok := decodeClientInfo(tr.ClientInfo); ok {
		acct.HomeAccountID, acct.Realm, acct.LocalAccountID = ci.UID+"."+ci.UTID, ci.UTID, ci.UID
	}
	if claims != nil {
		if acct.HomeAccountID == "" {
			acct.HomeAccountID = claims.Subject
		}
		if acct.Realm == "" {
			acct.Realm = claims.TenantID
		}
		if claims.ObjectID != "" {
			acct.LocalAccountID = claims.ObjectID
		} else if acct.LocalAccountID == "" {
			acct.LocalAccountID = claims.Subject
		}
		acct.Username = claims.PreferredUsername
		if acct.Username == "" {
			acct.Username = claims.Email
		}
		acct.Name = claims.Name
	}
	if acct.HomeAccountID == "" && prior != nil && !prior.IsZero() {
		acct = cache.Account{HomeAccountID: prior.HomeAccountID, Environment: prior.Environment, Realm: prior.TenantID,
			Username: prior.Username, Name: prior.Name, LocalAccountID: prior.LocalAccountID, AuthorityType: acct.AuthorityType}
	}
	if acct.HomeAccountID == "" {
		return cache.Account{}, false
	}
	if acct.Realm == "" {
		acct.Realm = au.tenant
	}
	return acct, true
}

// oidcScope reports the scopes the library adds to user flows and cache
// lookups ignore.
func oidcScope(s string) bool {
	switch strings.ToLower(s) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// grantedScopes is what an access token is cached under: the granted
// scopes the server reported, plus the resource scopes that were asked
// (servers may report ".default" expanded, or not at all).
func grantedScopes(granted string, asked []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if k := strings.ToLower(s); s != "" && !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for _, s := range strings.Fields(granted) {
		add(s)
	}
	for _, s := range asked {
		if !oidcScope(s) {
			add(s)
		}
	}
	return out
}

// withOIDC adds the scopes MSAL adds to every user flow, so an ID token
// and a refresh token come back.
func withOIDC(scopes []string) string {
	out := append([]string{}, scopes...)
	for _, s := range []string{"openid", "profile", "offline_access"} {
		if !containsFold(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
