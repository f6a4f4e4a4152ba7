package oauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/tessera-id/tessera/internal/tracing"
	"github.com/tessera-id/tessera/store"
)

// Grant type identifiers of the token endpoint.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// TokenRequest is a decoded token endpoint request.
type TokenRequest struct {
	Params Params
	Client ClientCredentials
	// Address is the client's IP address: failed client authentications
	// are limited per client id and address.
	Address string
}

// tokenContext is what every grant receives once the shared phases passed.
type tokenContext struct {
	ep     Endpoint
	params Params
	client store.App
	// unauthenticated is a confidential app that presented no
	// credentials, which only what was issued to it as a public client
	// may be redeemed with (see grantType.publicRedemption).
	unauthenticated bool
}

// wantsClientInfo reports MSAL's client_info=1 request parameter.
func (tc *tokenContext) wantsClientInfo() bool { return tc.params.Get("client_info") == "1" }

// grantType is one row of the token endpoint's table: a grant type, who
// may use it and what is unique to it. The shared phases (parse,
// authenticate the client, authorize the grant type) run once in Token, so
// no grant can forget one. The same table says what discovery advertises,
// so the two cannot disagree.
type grantType struct {
	name          string
	publicAllowed bool
	// publicRedemption lets a confidential app present no credentials to
	// redeem what it got as a public client: a code sent to one of its
	// single-page or mobile redirect URIs, a device code when it allows
	// public client flows, and those grants' refresh tokens. The handler
	// checks which it is.
	publicRedemption bool
	// advertised puts the grant type in discovery's grant_types_supported.
	// Only aliases are left out: one name per grant is enough to find it.
	advertised bool
	handle     func(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error)
	// span names the grant's step in a request's trace, built once.
	span string
}

// grantTable builds the table, in the order discovery lists the grant
// types. It is built once per Provider (the handlers are its methods) and
// never changed.
func (p *Provider) grantTable() []grantType {
	table := []grantType{
		{name: GrantAuthorizationCode, publicAllowed: true, publicRedemption: true, advertised: true, handle: p.authorizationCode},
		{name: GrantRefreshToken, publicAllowed: true, publicRedemption: true, advertised: true, handle: p.refreshToken},
		{name: GrantClientCredentials, publicAllowed: false, advertised: true, handle: p.clientCredentials},
		{name: GrantDeviceCode, publicAllowed: true, publicRedemption: true, advertised: true, handle: p.deviceCode},
		// MSAL's short name for the device code grant.
		{name: grantDeviceCodeMSAL, publicAllowed: true, publicRedemption: true, advertised: false, handle: p.deviceCode},
		{name: GrantJWTBearer, publicAllowed: false, advertised: true, handle: p.onBehalfOf},
		{name: GrantTokenExchange, publicAllowed: false, advertised: true, handle: p.tokenExchange},
	}
	for i := range table {
		table[i].span = "grant " + table[i].name
	}
	return table
}

// grantType finds a grant type by the name a request gives.
func (p *Provider) grantType(name string) (grantType, bool) {
	for _, g := range p.grants {
		if g.name == name {
			return g, true
		}
	}
	return grantType{}, false
}

// grantTypesSupported lists the advertised grant types, for discovery and
// for the error that names them.
func (p *Provider) grantTypesSupported() []string {
	var names []string
	for _, g := range p.grants {
		if g.advertised {
			names = append(names, g.name)
		}
	}
	return names
}

// Token answers a token endpoint request.
func (p *Provider) Token(ctx context.Context, ep Endpoint, req TokenRequest) (*TokenResponse, *Error) {
	grantType := req.Params.Get("grant_type")
	if grantType == "" {
		return nil, MissingParameter("grant_type")
	}
	g, ok := p.grantType(grantType)
	if !ok {
		return nil, newError(ErrUnsupportedGrantType, http.StatusBadRequest, CodeUnsupportedGrant,
			"The grant type '%s' is not supported. Supported: %s.", truncate(grantType, 100), strings.Join(p.grantTypesSupported(), ", "))
	}
	client, e := p.authenticateClient(ctx, ep, req, g.publicRedemption)
	if e != nil {
		return nil, e
	}
	if client.app.Public && !g.publicAllowed {
		return nil, newError(ErrUnauthorizedClient, http.StatusBadRequest, CodeUnauthorizedClient,
			"The grant type '%s' requires a confidential client; '%s' is public.", grantType, client.app.ClientID)
	}
	ctx, end := tracing.Start(ctx, g.span)
	defer end()
	return g.handle(ctx, &tokenContext{ep: ep, params: req.Params, client: client.app,
		unauthenticated: !client.app.Public && client.method == AuthNone})
}
