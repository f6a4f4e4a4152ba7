package client

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/tessera-id/tessera/client/cache"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

// flightGroup makes concurrent identical requests share one network call.
type flightGroup struct{ g singleflight.Group }

func (f *flightGroup) do(key string, fn func() (Result, error)) (Result, error) {
	v, err, _ := f.g.Do(key, func() (any, error) { return fn() })
	res, _ := v.(Result)
	return res, err
}

// AcquireTokenSilent returns a token for account from the cache, or
// refreshes it with the cached refresh token when it is expired or within
// the refresh-ahead window. Concurrent callers asking for the same account
// and scopes share one network call. When refreshing is impossible the
// error matches ErrInteractionRequired: sign the user in again. A result
// carries the account's cached ID token and its claims, verified when the
// token was stored. WithForceRefresh, WithClaims and WithTokenParameter
// apply.
func (a *app) AcquireTokenSilent(ctx context.Context, account Account, scopes []string, opts ...TokenOption) (Result, error) {
	if account.IsZero() {
		return Result{}, &Error{Kind: ErrInteractionRequired, Description: "no account given: sign in first"}
	}
	o := newTokenOptions(opts)
	au, err := a.resolve(ctx)
	if err != nil {
		return Result{}, err
	}
	q := cache.AccessTokenQuery{Environment: au.environment, ClientID: a.clientID, HomeAccountID: account.HomeAccountID, Realm: account.TenantID, Scopes: scopes}
	if !o.bypassCache() {
		cached, idt, ok, err := a.opts.cache.AccessTokenWithIDToken(ctx, q)
		if err != nil {
			return Result{}, err
		}
		if ok && a.fresh(&cached) {
			res := a.resultFromCache(&cached, &account)
			a.attachIDToken(&res, &idt)
			return res, nil
		}
	}
	return a.silentRefresh(ctx, au, q, account, o)
}

// silentRefresh is the slow path of AcquireTokenSilent, apart so that the
// fast path allocates nothing for the closure.
func (a *app) silentRefresh(ctx context.Context, au *authority, q cache.AccessTokenQuery, account Account, o tokenOptions) (Result, error) {
	scopes := q.Scopes
	key := silentKey(au.environment, a.clientID, account, scopes) + o.flightKey()
	return a.flights.do(key, func() (Result, error) {
		// Another caller, or another process sharing the cache, may have
		// refreshed while this one waited.
		cached, ok, err := a.opts.cache.AccessToken(ctx, q)
		if err != nil {
			return Result{}, err
		}
		if ok && !o.bypassCache() && a.fresh(&cached) {
			return a.silentFromCache(ctx, au, &cached, &account), nil
		}
		rt, found, err := a.opts.cache.RefreshToken(ctx, au.environment, a.clientID, account.HomeAccountID, "")
		if err != nil {
			return Result{}, err
		}
		if !found {
			return Result{}, &Error{Kind: ErrInteractionRequired, Description: "no refresh token is cached for " + account.display() + ": sign in again"}
		}
		if !rt.ExpiresOn.IsZero() && !a.now().Before(rt.ExpiresOn) {
			// The server said when it would refuse it: do not ask.
			_ = a.opts.cache.RemoveRefreshToken(ctx, rt)
			return Result{}, &Error{Kind: ErrInteractionRequired, Code: "refresh_token_expired",
				Description: "the cached refresh token of " + account.display() + " expired at " + rt.ExpiresOn.UTC().Format(time.RFC3339) + ": sign in again"}
		}
		res, err := a.refresh(ctx, rt.Secret, scopes, responseContext{scopes: scopes, prior: &account}, o)
		if err == nil {
			if res.IDToken == "" {
				// Servers need not send an ID token on refresh.
				a.addCachedIDToken(ctx, au, &res)
			}
			return res, nil
		}
		var e *Error
		if asError(err, &e) && (e.Kind == ErrInvalidGrant || e.Kind == ErrInteractionRequired) {
			// A dead refresh token stays dead: forget it, so the next call
			// asks for interaction without a network round trip.
			_ = a.opts.cache.RemoveRefreshToken(ctx, rt)
			if e.Kind == ErrInvalidGrant {
				e.Kind = ErrInteractionRequired
			}
			return Result{}, e
		}
		if ok && !o.bypassCache() && a.usable(&cached) && transient(err) {
			return a.silentFromCache(ctx, au, &cached, &account), nil
		}
		return Result{}, err
	})
}

// silentFromCache is a cached access token with the account's cached ID
// token.
func (a *app) silentFromCache(ctx context.Context, au *authority, at *cache.AccessToken, account *Account) Result {
	res := a.resultFromCache(at, account)
	a.addCachedIDToken(ctx, au, &res)
	return res
}

// addCachedIDToken fills in the ID token cached for the result's account
// in its tenant, if any. It was verified when it was stored; the cache is
// as trusted as the tokens in it.
func (a *app) addCachedIDToken(ctx context.Context, au *authority, res *Result) {
	if res.Account.IsZero() {
		return
	}
	it, ok, err := a.opts.cache.IDToken(ctx, au.environment, a.clientID, res.Account.HomeAccountID, res.Account.TenantID)
	if err != nil || !ok {
		return
	}
	a.attachIDToken(res, &it)
}

// attachIDToken puts a cached ID token and its claims into res.
func (a *app) attachIDToken(res *Result, it *cache.IDToken) {
	if it.Secret == "" {
		return
	}
	if claims, ok := a.cachedClaims(it.Secret); ok {
		res.IDToken, res.IDTokenClaims = it.Secret, claims
	}
}

func silentKey(env, clientID string, account Account, scopes []string) string {
	s := make([]string, 0, len(scopes))
	for _, v := range scopes {
		s = append(s, strings.ToLower(v))
	}
	sort.Strings(s)
	return env + "|" + clientID + "|" + account.HomeAccountID + "|" + account.TenantID + "|" + strings.Join(s, " ")
}

// Accounts lists the accounts signed in to this app, from the cache alone.
func (a *app) Accounts(ctx context.Context) ([]Account, error) {
	env, err := a.environment()
	if err != nil {
		return nil, err
	}
	list, err := a.opts.cache.Accounts(ctx, env, a.clientID)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(list))
	for _, c := range list {
		out = append(out, accountFromCache(c))
	}
	return out, nil
}

// Account finds a signed-in account by username (case-insensitive) or
// home account id.
func (a *app) Account(ctx context.Context, usernameOrHomeID string) (Account, bool, error) {
	list, err := a.Accounts(ctx)
	if err != nil {
		return Account{}, false, err
	}
	for _, acct := range list {
		if acct.HomeAccountID == usernameOrHomeID || strings.EqualFold(acct.Username, usernameOrHomeID) {
			return acct, true, nil
		}
	}
	return Account{}, false, nil
}

// RemoveAccount signs an account out of the cache: it and all its tokens
// are removed. The server is not asked.
func (a *app) RemoveAccount(ctx context.Context, account Account) error {
	env, err := a.environment()
	if err != nil {
		return err
	}
	return a.opts.cache.RemoveAccount(ctx, env, account.HomeAccountID)
}

// TokenSource adapts silent acquisition to golang.org/x/oauth2, so any
// client that takes a TokenSource gets fresh tokens for account.
func (a *app) TokenSource(ctx context.Context, account Account, scopes []string) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, fetch: func(ctx context.Context) (Result, error) { return a.AcquireTokenSilent(ctx, account, scopes) }}
}

// ClientCredentialsTokenSource is a TokenSource of a confidential app's own
// tokens (client credentials).
func (c *ConfidentialApp) ClientCredentialsTokenSource(ctx context.Context, scopes []string) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, fetch: func(ctx context.Context) (Result, error) { return c.AcquireTokenByClientCredential(ctx, scopes) }}
}

type tokenSource struct {
	ctx   context.Context
	fetch func(context.Context) (Result, error)
}

func (t *tokenSource) Token() (*oauth2.Token, error) {
	r, err := t.fetch(t.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: r.AccessToken, TokenType: r.TokenType, Expiry: r.ExpiresOn}, nil
}
