package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/client/cache"
)

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthCodeRequest is the first leg of the authorization code flow: the URL
// to send the user to, and what the second leg must check and send.
type AuthCodeRequest struct {
	URL          string
	RedirectURI  string
	Scopes       []string
	State        string
	Nonce        string
	CodeVerifier string
	// Issuer is the authority's issuer, which an iss in the response must
	// name (RFC 9207); RequireIssuer is set when the authority's metadata
	// promises iss in every authorization response
	// (authorization_response_iss_parameter_supported). CheckIssuer uses
	// both.
	Issuer        string
	RequireIssuer bool
}

// CheckIssuer checks the iss of the authorization response whose
// parameters (query, fragment or posted form) are response, error
// responses included: a response that names another issuer than the
// authority's, or names none when the authority promised to, may come from
// another server the user signed in to, and its code must not be sent to
// this authority's token endpoint (the mix-up attack, RFC 9207 §2.4).
// AcquireTokenInteractive calls it; a caller that catches the redirect
// itself calls it before AcquireTokenByCode.
func (r *AuthCodeRequest) CheckIssuer(response url.Values) error {
	iss, present := response.Get("iss"), response.Has("iss")
	switch {
	case !present && r.RequireIssuer:
		return &Error{Kind: ErrInvalidGrant, Code: "issuer_missing", Description: "the authorization response names no issuer (iss), which the authority promised; the response may come from another server"}
	case !present || r.Issuer == "" || strings.Contains(r.Issuer, "{tenantid}"):
		// Nothing to compare: Entra's multi-tenant issuer is a template
		// until a token names the tenant, and Entra sends no iss.
		return nil
	case iss != r.Issuer:
		return &Error{Kind: ErrInvalidGrant, Code: "issuer_mismatch", Description: fmt.Sprintf("the authorization response comes from issuer %q, not the authority's %q; the response may be forged", iss, r.Issuer)}
	}
	return nil
}

// AuthCodeOption adjusts an authorization request.
type AuthCodeOption func(url.Values)

// WithPrompt sets prompt (login, consent, select_account, none).
func WithPrompt(p string) AuthCodeOption { return func(v url.Values) { v.Set("prompt", p) } }

// WithLoginHint prefills the username on the sign-in page.
func WithLoginHint(h string) AuthCodeOption { return func(v url.Values) { v.Set("login_hint", h) } }

// WithExtraParameter adds any other authorization parameter.
func WithExtraParameter(name, value string) AuthCodeOption {
	return func(v url.Values) { v.Set(name, value) }
}

// AuthCodeURL builds an authorization URL with PKCE (S256), a fresh state
// and a fresh nonce, all of which AcquireTokenByCode checks.
func (a *app) AuthCodeURL(ctx context.Context, scopes []string, redirectURI string, opts ...AuthCodeOption) (*AuthCodeRequest, error) {
	au, err := a.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if au.AuthorizationEndpoint == "" {
		return nil, fmt.Errorf("client: the authority has no authorization endpoint")
	}
	req := &AuthCodeRequest{RedirectURI: redirectURI, Scopes: scopes, State: randomString(), Nonce: randomString(), CodeVerifier: randomString(),
		Issuer: au.Issuer, RequireIssuer: au.AuthorizationResponseIss}
	sum := sha256.Sum256([]byte(req.CodeVerifier))
	v := url.Values{
		"client_id": {a.clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {withOIDC(scopes)},
		"state": {req.State}, "nonce": {req.Nonce}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "response_mode": {"query"},
	}
	if au.entra {
		v.Set("client_info", "1")
	}
	for _, o := range opts {
		o(v)
	}
	sep := "?"
	if strings.Contains(au.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	req.URL = au.AuthorizationEndpoint + sep + v.Encode()
	return req, nil
}

// AcquireTokenByCode redeems the code the redirect brought back, after
// checking that its state is the request's. WithClaims and
// WithTokenParameter apply.
func (a *app) AcquireTokenByCode(ctx context.Context, req *AuthCodeRequest, code, state string, opts ...TokenOption) (Result, error) {
	if req == nil || state != req.State {
		return Result{}, &Error{Kind: ErrInvalidGrant, Code: "state_mismatch", Description: "the redirect's state does not match the authorization request; the response may be forged"}
	}
	if code == "" {
		return Result{}, &Error{Kind: ErrInvalidGrant, Code: "invalid_request", Description: "the redirect carried no code"}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {req.RedirectURI},
		"code_verifier": {req.CodeVerifier}, "scope": {withOIDC(req.Scopes)}}
	newTokenOptions(opts).apply(form)
	au, tr, err := a.tokenRequest(ctx, form)
	if err != nil {
		return Result{}, err
	}
	return a.handleResponse(ctx, au, tr, responseContext{scopes: req.Scopes, nonce: req.Nonce})
}

// AcquireTokenByRefreshToken redeems a refresh token obtained elsewhere
// (seed 000's migration case) and caches what comes back, so silent
// acquisition works from then on. When the response identifies no user
// (no ID token, no client_info), the tokens are cached under an account
// named after the refresh token (see Account), so the rotated refresh
// token is not lost. WithClaims and WithTokenParameter apply.
func (a *app) AcquireTokenByRefreshToken(ctx context.Context, refreshToken string, scopes []string, opts ...TokenOption) (Result, error) {
	return a.refresh(ctx, refreshToken, scopes, responseContext{scopes: scopes, grant: refreshToken}, newTokenOptions(opts))
}

func (a *app) refresh(ctx context.Context, refreshToken string, scopes []string, rc responseContext, o tokenOptions) (Result, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "scope": {withOIDC(scopes)}}
	if rc.userAssertionHash != "" {
		form.Set("scope", strings.Join(append(append([]string{}, scopes...), "offline_access"), " "))
	}
	o.apply(form)
	au, tr, err := a.tokenRequest(ctx, form)
	if err != nil {
		return Result{}, err
	}
	return a.handleResponse(ctx, au, tr, rc)
}

// fresh reports whether a cached token can be handed out as is: not
// within the refresh-ahead window of its expiry, and not past the
// server's suggested refresh time.
func (a *app) fresh(at *cache.AccessToken) bool {
	now := a.now()
	// The window is taken off the expiry rather than added to now: a
	// time without a monotonic reading is the cheaper one to shift.
	if !now.Before(at.ExpiresOn.Add(-a.opts.refreshAhead)) {
		return false
	}
	return at.RefreshOn.IsZero() || now.Before(at.RefreshOn)
}

// usable reports whether a token that is no longer fresh has still not
// expired, so it can stand in when refreshing fails for a passing reason.
func (a *app) usable(at *cache.AccessToken) bool { return a.now().Before(at.ExpiresOn) }

func (a *app) resultFromCache(at *cache.AccessToken, account *Account) Result {
	return Result{AccessToken: at.Secret, TokenType: at.TokenType, ExpiresOn: at.ExpiresOn, ExtExpiresOn: at.ExtendedExpiresOn,
		RefreshOn: at.RefreshOn, Scopes: a.scopes(at.Target), Account: *account, FromCache: true}
}

// scopes splits a cached token's target once per distinct target: silent
// acquisition hands the same few scope lists out again and again.
// Results share the slice; callers must not modify Result.Scopes.
func (a *app) scopes(target string) []string {
	// Calls mostly ask for the target of the one before, and the cache
	// interns targets, so this compares two pointers to the same bytes
	// instead of hashing the target for the map.
	if l := a.lastScopes.Load(); l != nil && l.target == target {
		return l.list
	}
	var l *scopeList
	if v, ok := a.scopeLists.Load(target); ok {
		l = v.(*scopeList)
	} else {
		l = &scopeList{target: target, list: strings.Fields(target)}
		a.scopeLists.Store(target, l)
	}
	a.lastScopes.Store(l)
	return l.list
}

type scopeList struct {
	target string
	list   []string
}

// AcquireTokenByClientCredential gets a token for the app itself (scopes
// are "{resource}/.default"), from the cache while it is fresh.
// WithForceRefresh, WithClaims and WithTokenParameter apply.
func (c *ConfidentialApp) AcquireTokenByClientCredential(ctx context.Context, scopes []string, opts ...TokenOption) (Result, error) {
	o := newTokenOptions(opts)
	au, err := c.resolve(ctx)
	if err != nil {
		return Result{}, err
	}
	q := cache.AccessTokenQuery{Environment: au.environment, ClientID: c.clientID, Realm: au.tenant, Scopes: scopes}
	key := "cc|" + strings.Join(scopes, " ") + o.flightKey()
	return c.flights.do(key, func() (Result, error) {
		cached, ok, err := c.opts.cache.AccessToken(ctx, q)
		if err != nil {
			return Result{}, err
		}
		if ok && !o.bypassCache() && c.fresh(&cached) {
			return c.resultFromCache(&cached, &Account{}), nil
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}}
		o.apply(form)
		au, tr, err := c.tokenRequest(ctx, form)
		if err != nil {
			if ok && !o.bypassCache() && c.usable(&cached) && transient(err) {
				return c.resultFromCache(&cached, &Account{}), nil
			}
			return Result{}, err
		}
		return c.handleResponse(ctx, au, tr, responseContext{scopes: scopes, appOnly: true})
	})
}

// AcquireTokenOnBehalfOf exchanges the access token a caller presented to
// this API for a token to a downstream API, as the same user (Entra's
// on-behalf-of). Results are cached per incoming assertion, and refreshed
// with the refresh token the server returned, as MSAL does.
// WithForceRefresh, WithClaims and WithTokenParameter apply.
func (c *ConfidentialApp) AcquireTokenOnBehalfOf(ctx context.Context, userAssertion string, scopes []string, opts ...TokenOption) (Result, error) {
	o := newTokenOptions(opts)
	au, err := c.resolve(ctx)
	if err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256([]byte(userAssertion))
	hash := base64.RawURLEncoding.EncodeToString(sum[:])
	q := cache.AccessTokenQuery{Environment: au.environment, ClientID: c.clientID, Realm: au.tenant, Scopes: scopes, UserAssertionHash: hash}
	rc := responseContext{scopes: scopes, userAssertionHash: hash}
	return c.flights.do("obo|"+hash+"|"+strings.Join(scopes, " ")+o.flightKey(), func() (Result, error) {
		if !o.bypassCache() {
			cached, ok, err := c.opts.cache.AccessToken(ctx, q)
			if err != nil {
				return Result{}, err
			}
			if ok && c.fresh(&cached) {
				return c.resultFromCache(&cached, &Account{}), nil
			}
			// A cached refresh token renews the token without the
			// assertion, which may have expired meanwhile; a claims
			// challenge or a forced refresh goes back to the assertion.
			rt, found, err := c.opts.cache.RefreshToken(ctx, au.environment, c.clientID, "", hash)
			if err == nil && found && (rt.ExpiresOn.IsZero() || c.now().Before(rt.ExpiresOn)) {
				res, err := c.refresh(ctx, rt.Secret, scopes, rc, o)
				if err == nil {
					return res, nil
				}
			}
		}
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {userAssertion},
			"requested_token_use": {"on_behalf_of"}, "scope": {strings.Join(append(append([]string{}, scopes...), "offline_access"), " ")}}
		o.apply(form)
		au, tr, err := c.tokenRequest(ctx, form)
		if err != nil {
			return Result{}, err
		}
		return c.handleResponse(ctx, au, tr, rc)
	})
}

// transient reports failures worth riding out with a still-valid token.
func transient(err error) bool {
	var e *Error
	if !asError(err, &e) {
		return false
	}
	return e.Kind == ErrNetwork || e.Kind == ErrThrottled || (e.Kind == ErrServer && e.StatusCode >= 500)
}
