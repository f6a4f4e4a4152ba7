// Package client acquires, caches and silently refreshes OAuth 2.0 /
// OpenID Connect tokens against Tessera or any standards-compliant
// provider (Entra ID, Keycloak, Hydra, Dex, Authgear), the way MSAL does
// for Node: public apps (client id only) and confidential apps (secret,
// certificate or assertion), every flow, a persistent MSAL-compatible
// cache, and a golang.org/x/oauth2 TokenSource.
package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/client/cache"
)

// Option configures an app.
type Option func(*options)

type options struct {
	httpClient   *http.Client
	cache        *cache.Cache
	now          func() time.Time
	refreshAhead time.Duration
	onTokens     func(context.Context, TokenEvent)
	openBrowser  func(string) error
}

// WithHTTPClient sets the HTTP client (timeouts, proxies, TLS trust).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithCache shares a token cache, e.g. one persisted to a file.
func WithCache(c *cache.Cache) Option { return func(o *options) { o.cache = c } }

// WithClock replaces the wall clock, for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRefreshAhead sets how long before expiry a cached access token is
// refreshed instead of returned (default 5 minutes, as MSAL).
func WithRefreshAhead(d time.Duration) Option { return func(o *options) { o.refreshAhead = d } }

// WithTokenHook is called after every response that issued tokens (a
// refresh or rotation included), after the cache was written and before
// the tokens are returned to the caller.
func WithTokenHook(fn func(context.Context, TokenEvent)) Option {
	return func(o *options) { o.onTokens = fn }
}

// WithBrowser replaces how the interactive flow opens the system browser.
func WithBrowser(open func(url string) error) Option {
	return func(o *options) { o.openBrowser = open }
}

// TokenEvent is what the token hook receives.
type TokenEvent struct {
	Result       Result
	RefreshToken string // the new refresh token, "" when none was issued
}

// app is what public and confidential apps share.
type app struct {
	clientID     string
	authorityURL string
	opts         options
	cred         Credential // nil for public apps

	mu sync.Mutex // serializes discovery
	// authority is set once discovery succeeds; every call reads it, so
	// it is an atomic load rather than a trip through mu.
	authority atomic.Pointer[authority]
	jwks      *jwksCache
	flights   flightGroup
	throttle  throttle
	// scopeLists interns the scope lists of cached tokens (see scopes);
	// lastScopes is the one handed out last.
	scopeLists sync.Map // target -> *scopeList
	lastScopes atomic.Pointer[scopeList]
	// claimsMemo holds the decoded claims of cached ID tokens (see
	// cachedClaims); claimsMemoN counts its entries.
	claimsMemo  sync.Map // memoKey(raw ID token) -> *memoClaims
	claimsMemoN atomic.Int64
}

func newApp(clientID, authorityURL string, cred Credential, opts []Option) (*app, error) {
	clientID = strings.TrimSpace(clientID)
	if clientID == "" {
		return nil, fmt.Errorf("client: a client id is required")
	}
	if strings.TrimSpace(authorityURL) == "" {
		return nil, fmt.Errorf("client: an authority URL is required")
	}
	o := options{httpClient: &http.Client{Timeout: 30 * time.Second}, now: time.Now, refreshAhead: 5 * time.Minute, openBrowser: OpenSystemBrowser}
	for _, fn := range opts {
		fn(&o)
	}
	if o.cache == nil {
		o.cache = cache.New()
	}
	a := &app{clientID: clientID, authorityURL: authorityURL, opts: o, cred: cred}
	a.jwks = &jwksCache{app: a}
	return a, nil
}

// resolve discovers the authority once; a failure is retried next time.
func (a *app) resolve(ctx context.Context) (*authority, error) {
	if au := a.authority.Load(); au != nil {
		return au, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if au := a.authority.Load(); au != nil {
		return au, nil
	}
	au, err := discover(ctx, a.opts.httpClient, a.authorityURL)
	if err != nil {
		return nil, err
	}
	a.authority.Store(au)
	return au, nil
}

// environment is the authority's cache key, its host: known from the URL
// alone, so that listing and removing cached accounts needs no network,
// as with MSAL.
func (a *app) environment() (string, error) {
	if au := a.authority.Load(); au != nil {
		return au.environment, nil
	}
	u, err := parseAuthority(a.authorityURL)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}

func (a *app) now() time.Time { return a.opts.now() }

// PublicApp is a client that cannot keep a secret: a CLI, a desktop or
// mobile app. It signs users in interactively or with a device code.
type PublicApp struct{ *app }

// NewPublic returns a public app for clientID at authority: a Tessera or
// Entra-style tenant URL (https://host/{tenant}) or any OIDC issuer.
func NewPublic(clientID, authority string, opts ...Option) (*PublicApp, error) {
	a, err := newApp(clientID, authority, nil, opts)
	if err != nil {
		return nil, err
	}
	return &PublicApp{a}, nil
}

// ConfidentialApp is a client with a credential: a web app, an API, a
// daemon.
type ConfidentialApp struct{ *app }

// NewConfidential returns a confidential app.
func NewConfidential(clientID, authority string, cred Credential, opts ...Option) (*ConfidentialApp, error) {
	if cred == nil {
		return nil, fmt.Errorf("client: a confidential app needs a credential")
	}
	a, err := newApp(clientID, authority, cred, opts)
	if err != nil {
		return nil, err
	}
	return &ConfidentialApp{a}, nil
}

// Cache returns the app's token cache.
func (a *app) Cache() *cache.Cache { return a.opts.cache }
