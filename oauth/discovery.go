package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// Endpoint resolves the tenant a request addresses. segment is the tenant
// name or id as it appears in the path; baseURL is the server's public
// origin (https://host[:port]).
func (p *Provider) Endpoint(ctx context.Context, baseURL, segment string) (Endpoint, *Error) {
	if segment == "" || len(segment) > 64 {
		return Endpoint{}, TenantNotFound(segment)
	}
	t, err := p.store.GetTenant(ctx, strings.ToLower(segment))
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, TenantNotFound(segment)
	}
	if err != nil {
		return Endpoint{}, ServerError(err)
	}
	origin := strings.TrimSuffix(baseURL, "/")
	base := origin + "/" + segment
	return Endpoint{Tenant: t, Issuer: base + "/v2.0", Base: base, Origin: origin}, nil
}

// Discovery is the OpenID Provider Metadata document (OpenID Connect
// Discovery 1.0 §3) of one tenant.
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	ACRValuesSupported                []string `json:"acr_values_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	FrontchannelLogoutSession         bool     `json:"frontchannel_logout_session_supported"`
	BackchannelLogoutSupported        bool     `json:"backchannel_logout_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssSupported bool     `json:"authorization_response_iss_parameter_supported"`
	TenantID                          string   `json:"tenant_id"`
}

// Discovery describes the tenant's endpoints as addressed through ep.
func (p *Provider) Discovery(ep Endpoint) Discovery {
	return Discovery{
		Issuer:                            ep.Issuer,
		AuthorizationEndpoint:             ep.Base + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     ep.Base + "/oauth2/v2.0/token",
		JWKSURI:                           ep.Base + "/discovery/v2.0/keys",
		DeviceAuthorizationEndpoint:       ep.Base + "/oauth2/v2.0/devicecode",
		UserInfoEndpoint:                  ep.Base + "/oidc/userinfo",
		EndSessionEndpoint:                ep.Base + "/oauth2/v2.0/logout",
		RevocationEndpoint:                ep.Base + "/oauth2/v2.0/revoke",
		IntrospectionEndpoint:             ep.Base + "/oauth2/v2.0/introspect",
		ResponseTypesSupported:            []string{"code", "code id_token"},
		ResponseModesSupported:            []string{ModeQuery, ModeFragment, ModeFormPost},
		GrantTypesSupported:               p.grantTypesSupported(),
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{ep.Tenant.SigningAlg},
		TokenEndpointAuthMethodsSupported: []string{AuthSecretPost, AuthSecretBasic, AuthPrivateKeyJWT, AuthNone},
		TokenEndpointAuthSigningAlgs:      assertionAlgNames(),
		RevocationAuthMethodsSupported:    []string{AuthSecretPost, AuthSecretBasic, AuthPrivateKeyJWT, AuthNone},
		IntrospectionAuthMethodsSupported: []string{AuthSecretPost, AuthSecretBasic, AuthPrivateKeyJWT},
		// Only S256: "plain" is accepted from the apps an admin opted in
		// (app set --allow-plain-pkce) and refused from every other, so
		// advertising it tenant-wide would invite clients to a method most
		// of them may not use. An app that needs plain is configured for
		// it by hand on both sides anyway.
		CodeChallengeMethodsSupported: []string{PKCES256},
		ScopesSupported:               OIDCScopes(),
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "oid", "tid", "sid",
			"preferred_username", "name", "email", "at_hash", "c_hash", "ver", "azp", "scp", "roles", "act", "amr", "acr"},
		ACRValuesSupported:           []string{ACRPassword, ACRMFA},
		PromptValuesSupported:        []string{"none", "login", "consent", "select_account"},
		RequestParameterSupported:    false,
		RequestURIParameterSupported: false,
		// Every authorization response, error or not, names the issuer
		// (RFC 9207); saying so makes clients require it.
		AuthorizationResponseIssSupported: true,
		// Front-channel logout (apps with a logoutUrl) always sends iss
		// and sid, which ID tokens carry as well.
		FrontchannelLogoutSupported: true,
		FrontchannelLogoutSession:   true,
		TenantID:                    ep.Tenant.ID,
	}
}

// JWKS is the tenant's published key set.
func (p *Provider) JWKS(ctx context.Context, ep Endpoint) ([]byte, *Error) {
	b, err := p.keys.JWKS(ctx, ep.Tenant.ID)
	if err != nil {
		return nil, ServerError(err)
	}
	return b, nil
}
