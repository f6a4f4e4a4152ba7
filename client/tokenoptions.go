package client

import "net/url"

// TokenOption adjusts one token acquisition. AcquireTokenSilent,
// AcquireTokenByCode, AcquireTokenByDeviceCode, AcquireTokenByRefreshToken,
// AcquireTokenByClientCredential and AcquireTokenOnBehalfOf take them.
type TokenOption func(*tokenOptions)

type tokenOptions struct {
	forceRefresh bool
	claims       string
	extra        url.Values
}

// WithForceRefresh skips the cached access token and asks the server for a
// new one: silent acquisition redeems the cached refresh token, client
// credentials and on-behalf-of make a new request. The result is cached as
// usual. Flows that always ask the server (code, device code, refresh
// token) ignore it.
func WithForceRefresh() TokenOption {
	return func(o *tokenOptions) { o.forceRefresh = true }
}

// WithClaims sends a claims request (OpenID Connect Core §5.5), typically
// the claims challenge a resource answered in WWW-Authenticate. A token
// asked with claims is never served from the cache, as in MSAL.
func WithClaims(claims string) TokenOption {
	return func(o *tokenOptions) { o.claims = claims }
}

// WithTokenParameter adds a parameter to the token request body, such as
// a provider's extension. It never replaces a parameter the flow sets.
func WithTokenParameter(name, value string) TokenOption {
	return func(o *tokenOptions) {
		if o.extra == nil {
			o.extra = url.Values{}
		}
		o.extra.Add(name, value)
	}
}

func newTokenOptions(opts []TokenOption) tokenOptions {
	if len(opts) == 0 {
		// o would escape to the options' closures and be allocated; most
		// calls have none.
		return tokenOptions{}
	}
	var o tokenOptions
	for _, fn := range opts {
		if fn != nil {
			fn(&o)
		}
	}
	return o
}

// bypassCache reports whether the cached access token must not be served.
func (o tokenOptions) bypassCache() bool { return o.forceRefresh || o.claims != "" }

// flightKey distinguishes requests that must not share a network call
// with plain ones.
func (o tokenOptions) flightKey() string {
	var k string
	if o.bypassCache() {
		k = "|force|" + o.claims
	}
	if len(o.extra) > 0 {
		k += "|extra|" + o.extra.Encode()
	}
	return k
}

// apply adds the options' parameters to a request form.
func (o tokenOptions) apply(form url.Values) {
	if o.claims != "" {
		form.Set("claims", o.claims)
	}
	for name, values := range o.extra {
		if _, set := form[name]; !set {
			form[name] = append([]string(nil), values...)
		}
	}
}
