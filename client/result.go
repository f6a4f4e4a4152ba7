package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/tessera-id/tessera/client/cache"
)

// Account is a signed-in user as the cache knows them.
type Account struct {
	// HomeAccountID is "uid.utid" from client_info (Entra-shaped servers)
	// or the ID token's sub. When a server identified nobody (no ID
	// token, no client_info: a plain OAuth 2.0 server), it is
	// "unidentified-" followed by a hash of the grant, and Username is
	// empty: the tokens are kept under it, so that silent acquisition with
	// this account works and no rotated refresh token is lost.
	HomeAccountID  string
	Environment    string
	TenantID       string
	Username       string
	Name           string
	LocalAccountID string
}

// IsZero reports an empty account (tokens an app got as itself).
func (a Account) IsZero() bool { return a.HomeAccountID == "" }

// Unidentified reports an account the server did not identify (see
// HomeAccountID).
func (a Account) Unidentified() bool { return strings.HasPrefix(a.HomeAccountID, unidentifiedPrefix) }

// display names the account in messages.
func (a Account) display() string {
	if a.Username != "" {
		return a.Username
	}
	return a.HomeAccountID
}

const unidentifiedPrefix = "unidentified-"

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
	RefreshOn time.Time
	Scopes    []string
	IDToken   string
	// IDTokenClaims are the verified claims of IDToken. A result from the
	// cache shares them with other results: do not modify them.
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
	// grant is the refresh token redeemed, if the caller brought one: an
	// account the server does not identify is named after it, so that
	// redeeming it again finds the same account.
	grant string
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

	var rtExpiry time.Time
	if tr.RefreshTokenExpiresIn > 0 {
		rtExpiry = now.Add(tr.RefreshTokenExpiresIn.duration())
	}
	realm := au.tenant
	u := cache.Update{AppMetadata: &cache.AppMetadata{ClientID: a.clientID, Environment: au.environment}}
	// A user's tokens are cached under their account, one the server did
	// not identify included. On-behalf-of tokens belong to the incoming
	// assertion, not to an account of this app: they are cached under its
	// hash alone.
	if !rc.appOnly && rc.userAssertionHash == "" {
		acct := a.accountFor(au, tr, res.IDTokenClaims, rc)
		res.Account = accountFromCache(acct)
		realm = acct.Realm
		u.Account = &acct
		if tr.IDToken != "" {
			u.IDToken = &cache.IDToken{HomeAccountID: acct.HomeAccountID, Environment: au.environment, Realm: realm, ClientID: a.clientID, Secret: tr.IDToken}
		}
		if tr.RefreshToken != "" {
			u.RefreshToken = &cache.RefreshToken{HomeAccountID: acct.HomeAccountID, Environment: au.environment, ClientID: a.clientID, Secret: tr.RefreshToken, ExpiresOn: rtExpiry}
		}
	}
	if rc.userAssertionHash != "" && tr.RefreshToken != "" {
		u.RefreshToken = &cache.RefreshToken{Environment: au.environment, ClientID: a.clientID, Secret: tr.RefreshToken, UserAssertionHash: rc.userAssertionHash, ExpiresOn: rtExpiry}
	}
	u.AccessToken = &cache.AccessToken{
		HomeAccountID: res.Account.HomeAccountID, Environment: au.environment, Realm: realm, ClientID: a.clientID,
		Secret: tr.AccessToken, Target: strings.Join(res.Scopes, " "), TokenType: res.TokenType, CachedAt: now,
		ExpiresOn: res.ExpiresOn, ExtendedExpiresOn: res.ExtExpiresOn, RefreshOn: res.RefreshOn, UserAssertionHash: rc.userAssertionHash,
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
// the ID token, else the account the request was made for, else an
// unidentified account named after the grant.
func (a *app) accountFor(au *authority, tr *tokenResponse, claims *IDTokenClaims, rc responseContext) cache.Account {
	prior := rc.prior
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
		acct.HomeAccountID = unidentifiedHomeID(a.clientID, rc.grant, tr)
	}
	if acct.Realm == "" {
		acct.Realm = au.tenant
	}
	return acct
}

// unidentifiedHomeID names an account the server did not identify: after
// the refresh token redeemed (the same one redeemed twice is the same
// account), else the refresh token issued, else the access token. It
// carries no dot, which would read as "uid.utid".
func unidentifiedHomeID(clientID, grant string, tr *tokenResponse) string {
	seed := grant
	if seed == "" {
		seed = tr.RefreshToken
	}
	if seed == "" {
		seed = tr.AccessToken
	}
	sum := sha256.Sum256([]byte(clientID + "\x00" + seed))
	return unidentifiedPrefix + hex.EncodeToString(sum[:12])
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

// grantedScopes is what an access token is cached under and the result
// reports. When the server says what it granted (scope), that is the
// truth: a scope it refused must not be served from the cache later. A
// "{resource}/.default" that was asked is kept besides, since servers
// answer it with the scopes it expanded to, and a later ".default"
// request must find the token. (The OpenID Connect scopes, which servers
// often leave out, need no such care: lookups ignore them.) When the
// server says nothing, it granted what was asked (RFC 6749 §5.1).
func grantedScopes(granted string, asked []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if k := strings.ToLower(s); s != "" && !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	reported := strings.Fields(granted)
	for _, s := range reported {
		add(s)
	}
	for _, s := range asked {
		if len(reported) == 0 && !oidcScope(s) || isDefaultScope(s) {
			add(s)
		}
	}
	return out
}

func isDefaultScope(s string) bool {
	return strings.EqualFold(s, ".default") || strings.HasSuffix(strings.ToLower(s), "/.default")
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
