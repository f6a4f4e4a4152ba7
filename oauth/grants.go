package oauth

import (
	"context"
	"net/http"
	"strings"

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
}

// wantsClientInfo reports MSAL's client_info=1 request parameter.
func (tc *tokenContext) wantsClientInfo() bool { return tc.params.Get("client_info") == "1" }

// grant is one grant type: who may use it and what is unique to it. The
// shared phases (parse, authenticate the client, authorize the grant type)
// run once in Token, so no grant can forget one.
type grant struct {
	publicAllowed bool
	handle        func(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error)
}

func (p *Provider) grants(grantType string) (grant, bool) {
	switch grantType {
	case GrantAuthorizationCode:
		return grant{publicAllowed: true, handle: p.authorizationCode}, true
	case GrantRefreshToken:
		return grant{publicAllowed: true, handle: p.refreshToken}, true
	case GrantClientCredentials:
		return grant{publicAllowed: false, handle: p.clientCredentials}, true
	case GrantDeviceCode, grantDeviceCodeMSAL:
		return grant{publicAllowed: true, handle: p.deviceCode}, true
	case GrantJWTBearer:
		return grant{publicAllowed: false, handle: p.onBehalfOf}, true
	case GrantTokenExchange:
		return grant{publicAllowed: false, handle: p.tokenExchange}, true
	}
	return grant{}, false
}

// GrantTypes lists the grant types the token endpoint accepts, for discovery.
func GrantTypes() []string {
	return []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantJWTBearer, GrantTokenExchange}
}

// Token answers a token endpoint request.
func (p *Provider) Token(ctx context.Context, ep Endpoint, req TokenRequest) (*TokenResponse, *Error) {
	grantType := req.Params.Get("grant_type")
	if grantType == "" {
		return nil, MissingParameter("grant_type")
	}
	g, ok := p.grants(grantType)
	if !ok {
		return nil, newError(ErrUnsupportedGrantType, http.StatusBadRequest, CodeUnsupportedGrant,
			"The grant type '%s' is not supported. Supported: %s.", truncate(grantType, 100), strings.Join(GrantTypes(), ", "))
	}
	client, e := p.authenticateClient(ctx, ep, req)
	if e != nil {
		return nil, e
	}
	if client.app.Public && !g.publicAllowed {
		return nil, newError(ErrUnauthorizedClient, http.StatusBadRequest, CodeUnauthorizedClient,
			"The grant type '%s' requires a confidential client; '%s' is public.", grantType, client.app.ClientID)
	}
	return g.handle(ctx, &tokenContext{ep: ep, params: req.Params, client: client.app})
}
