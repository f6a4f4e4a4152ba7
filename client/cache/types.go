// Package cache is the client library's token cache: an in-memory index
// with O(1) silent lookups, serialized in MSAL's unified cache schema (so
// a file written by MSAL Node's cachePlugin and one written by Tessera are
// interchangeable), persisted through a small plugin interface with a
// read-merge-write cycle, and bounded by least-recently-used eviction.
package cache

import (
	"context"
	"time"
)

// AccessToken is a cached access token (MSAL credential_type AccessToken).
type AccessToken struct {
	HomeAccountID     string // "" for tokens an app got as itself
	Environment       string // authority host, e.g. "login.example.com:8443"
	Realm             string // tenant id
	ClientID          string
	Secret            string // the token
	Target            string // space-separated scopes it was granted
	TokenType         string // "Bearer"
	CachedAt          time.Time
	ExpiresOn         time.Time
	ExtendedExpiresOn time.Time
	RefreshOn         time.Time // zero unless the server sent refresh_in
	// UserAssertionHash keys on-behalf-of tokens by the incoming assertion
	// (MSAL's user_assertion_hash), "" otherwise.
	UserAssertionHash string
}

// RefreshToken is a cached refresh token (MSAL credential_type RefreshToken).
type RefreshToken struct {
	HomeAccountID     string
	Environment       string
	ClientID          string
	Secret            string
	FamilyID          string
	UserAssertionHash string
	// ExpiresOn is when the server said the refresh token stops working
	// (refresh_token_expires_in), stored as MSAL's expires_on; zero when
	// the server did not say.
	ExpiresOn time.Time
}

// IDToken is a cached ID token (MSAL credential_type IdToken).
type IDToken struct {
	HomeAccountID string
	Environment   string
	Realm         string
	ClientID      string
	Secret        string
}

// Account is a signed-in user (MSAL Account section).
type Account struct {
	HomeAccountID  string // "uid.utid" from client_info, else the ID token's sub
	Environment    string
	Realm          string
	LocalAccountID string // oid, or sub
	Username       string // preferred_username
	Name           string
	AuthorityType  string // "MSSTS" for Entra-shaped authorities, "Generic" otherwise
	ClientInfo     string // raw client_info, when the server sent it
}

// AppMetadata records per-app facts (MSAL AppMetadata section).
type AppMetadata struct {
	ClientID    string
	Environment string
	FamilyID    string
}

// Update is what one token response adds to the cache. Nil members are
// left alone.
type Update struct {
	Account      *Account
	IDToken      *IDToken
	AccessToken  *AccessToken
	RefreshToken *RefreshToken
	AppMetadata  *AppMetadata
}

// AccessTokenQuery finds an access token. Scopes must all be in the
// token's target (compared case-insensitively; the OpenID Connect scopes
// openid, profile, email and offline_access are ignored, as MSAL does).
type AccessTokenQuery struct {
	Environment       string
	ClientID          string
	HomeAccountID     string
	Realm             string
	Scopes            []string
	UserAssertionHash string
}

// Persistence stores the serialized cache outside the process. All
// methods must be safe for concurrent use by several processes.
//
// It is MSAL's cache plugin (ICachePlugin) with the lock made explicit.
// MSAL calls beforeCacheAccess(context) before every cache operation, and
// a plugin deserializes the stored bytes into the cache there; it calls
// afterCacheAccess(context) afterwards, and a plugin serializes the cache
// and writes it when context.cacheHasChanged. MSAL Node's
// PersistenceCachePlugin takes a cross-process lock in beforeCacheAccess
// and releases it in afterCacheAccess. The Cache drives this interface the
// same way, as two cycles:
//
//   - a lookup is beforeCacheAccess without a lock: Version, and Read
//     only when the version differs from the one loaded (a stat per
//     lookup instead of a read and a parse);
//   - a change is beforeCacheAccess with the lock, then afterCacheAccess
//     with cacheHasChanged: Lock, Version (Read if another process wrote),
//     merge the change into what was read, Write, unlock. Nothing is
//     written when the change changed nothing.
//
// So an adapter to an existing MSAL plugin, or from this interface to one,
// needs no more than: Lock is the plugin's lock, Read and Write are what
// its hooks do with the serialized bytes (the bytes are MSAL's unified
// cache JSON, as Marshal returns), and Version is any cheap token that
// changes whenever the stored bytes do (a modification time and size, an
// ETag, a row version).
type Persistence interface {
	// Lock takes an exclusive lock across processes for one
	// read-merge-write cycle and returns its release.
	Lock(ctx context.Context) (unlock func() error, err error)
	// Read returns the stored bytes (nil when nothing is stored yet) and a
	// version that changes whenever the bytes do.
	Read(ctx context.Context) (data []byte, version string, err error)
	// Version returns the current version cheaply (a stat), so a reader
	// knows when to reload.
	Version(ctx context.Context) (string, error)
	// Write replaces the stored bytes atomically and returns the new version.
	Write(ctx context.Context, data []byte) (version string, err error)
}
