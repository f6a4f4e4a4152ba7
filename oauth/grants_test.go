package oauth

import (
	"slices"
	"testing"
)

// The grant table drives dispatch and discovery alike: what discovery
// advertises is exactly what it advertised before the table (MSAL's
// device_code alias dispatches without being advertised), and who may use
// each grant type is as RFC 6749, 8628, 8693 and Entra's on-behalf-of say.
func TestGrantTable(t *testing.T) {
	p := New(DefaultConfig(), Deps{})
	want := []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantJWTBearer, GrantTokenExchange}
	if got := p.grantTypesSupported(); !slices.Equal(got, want) {
		t.Errorf("grantTypesSupported() = %v, want %v", got, want)
	}
	if got := p.Discovery(Endpoint{}).GrantTypesSupported; !slices.Equal(got, want) {
		t.Errorf("discovery grant_types_supported = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name   string
		public bool
	}{
		{GrantAuthorizationCode, true},
		{GrantRefreshToken, true},
		{GrantClientCredentials, false},
		{GrantDeviceCode, true},
		{"device_code", true},
		{GrantJWTBearer, false},
		{GrantTokenExchange, false},
	} {
		g, ok := p.grantType(tc.name)
		if !ok || g.handle == nil {
			t.Errorf("grant type %q does not dispatch", tc.name)
			continue
		}
		if g.publicAllowed != tc.public {
			t.Errorf("grant type %q: public clients allowed %v, want %v", tc.name, g.publicAllowed, tc.public)
		}
	}
	for _, name := range []string{"password", "implicit", "", "Authorization_Code"} {
		if _, ok := p.grantType(name); ok {
			t.Errorf("grant type %q dispatches", name)
		}
	}
	// Refused before the client is looked at (the provider has no store).
	_, e := p.Token(t.Context(), Endpoint{}, TokenRequest{Params: Params{"grant_type": "password"}})
	if e == nil || e.Code != ErrUnsupportedGrantType ||
		e.Description != "The grant type 'password' is not supported. Supported: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:jwt-bearer, urn:ietf:params:oauth:grant-type:token-exchange." {
		t.Errorf("password grant: %+v", e)
	}
}
