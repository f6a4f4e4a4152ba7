package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// TestHostileGrantAndEndpointRequests covers what lies beyond the code
// flow (TestHostileTokenRequests): the device authorization endpoint and
// grant, on-behalf-of, token exchange, client assertions, revocation and
// introspection. Each case asserts the exact error and that no token came
// out.
func TestHostileGrantAndEndpointRequests(t *testing.T) {
	type hostile struct {
		name   string
		target func(e *env) string // default: the token endpoint
		form   func(e *env) url.Values
		raw    func(e *env) (contentType, body string)
		status int
		code   string
	}
	devicecode := func(e *env) string { return e.authority() + "/oauth2/v2.0/devicecode" }
	revoke := func(e *env) string { return e.authority() + "/oauth2/v2.0/revoke" }
	introspect := func(e *env) string { return e.authority() + "/oauth2/v2.0/introspect" }
	// oboForm registers the middle tier first, then makes the assertion,
	// which may need the middle tier to exist.
	oboForm := func(e *env, assertion func() string, scope string) url.Values {
		a, secret := e.middleTier(true)
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {a.ClientID}, "client_secret": {secret},
			"assertion": {assertion()}, "scope": {scope}, "requested_token_use": {"on_behalf_of"}}
	}
	literal := func(s string) func() string { return func() string { return s } }
	// exchangeForm is a token exchange by the middle tier of a user's token
	// for the files API, naming actor as the actor.
	exchangeForm := func(e *env, actor string) url.Values {
		f := oboForm(e, literal(""), "")
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": f["client_id"],
			"client_secret": f["client_secret"], "subject_token": {e.userTokenFor("api://middle/user_impersonation openid")},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"api://files"},
			"actor_token": {actor}, "actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
	}
	middleToken := func(e *env) func() string {
		return func() string { return e.userTokenFor("api://middle/user_impersonation openid") }
	}
	cases := []hostile{
		// Device authorization endpoint.
		{name: "devicecode without scope", target: devicecode, status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return url.Values{"client_id": {e.native.ClientID}} }},
		{name: "devicecode for an unknown client", target: devicecode, status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				return url.Values{"client_id": {"00000000-0000-4000-8000-000000000001"}, "scope": {"openid"}}
			}},
		{name: "devicecode with an unknown scope", target: devicecode, status: 400, code: "invalid_scope",
			form: func(e *env) url.Values {
				return url.Values{"client_id": {e.native.ClientID}, "scope": {"api://files/Files.Nope"}}
			}},
		{name: "devicecode by GET", target: devicecode, status: 405, code: "invalid_request",
			raw: func(e *env) (string, string) { return "", "" }},
		{name: "confidential devicecode without secret", target: devicecode, status: 401, code: "invalid_client",
			form: func(e *env) url.Values { return url.Values{"client_id": {e.web.ClientID}, "scope": {"openid"}} }},
		// Device code grant.
		{name: "device grant without device_code", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {deviceGrant}, "client_id": {e.native.ClientID}}
			}},
		{name: "unknown device_code", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {deviceGrant}, "client_id": {e.native.ClientID}, "device_code": {"nope"}}
			}},
		{name: "device_code of another client", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				dc := e.deviceAuthorize(e.native.ClientID, "openid")["device_code"].(string)
				return url.Values{"grant_type": {deviceGrant}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "device_code": {dc}}
			}},
		{name: "oversized device_code", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {deviceGrant}, "client_id": {e.native.ClientID}, "device_code": {strings.Repeat("d", 2000)}}
			}},
		{name: "expired device_code", status: 400, code: "expired_token",
			form: func(e *env) url.Values {
				dc := e.deviceAuthorize(e.native.ClientID, "openid")["device_code"].(string)
				e.clock.Advance(20 * time.Minute)
				return url.Values{"grant_type": {"device_code"}, "client_id": {e.native.ClientID}, "device_code": {dc}}
			}},
		// On-behalf-of.
		{name: "OBO without requested_token_use", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				f := oboForm(e, middleToken(e), "api://files/Files.Read")
				f.Del("requested_token_use")
				return f
			}},
		{name: "OBO without assertion", status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return oboForm(e, literal(""), "api://files/Files.Read") }},
		{name: "OBO with a forged assertion", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				return oboForm(e, literal("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), "api://files/Files.Read")
			}},
		{name: "OBO with an ID token", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				return oboForm(e, func() string { return webTokens(e, "openid")["id_token"].(string) }, "api://files/Files.Read")
			}},
		{name: "OBO with an expired assertion", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				f := oboForm(e, middleToken(e), "api://files/Files.Read")
				e.clock.Advance(3 * time.Hour)
				return f
			}},
		{name: "OBO with a token of another tenant", status: 400, code: "invalid_grant",
			target: func(e *env) string { return e.url("/fabrikam/oauth2/v2.0/token") },
			form: func(e *env) url.Values {
				x, secret := otherTenantApp(e)
				f := oboForm(e, middleToken(e), "api://files/Files.Read")
				f.Set("client_id", x.ClientID)
				f.Set("client_secret", secret)
				f.Set("scope", x.ClientID+"/.default")
				return f
			}},
		{name: "OBO without scope", status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return oboForm(e, middleToken(e), "") }},
		{name: "OBO for OIDC scopes only", status: 400, code: "invalid_scope",
			form: func(e *env) url.Values { return oboForm(e, middleToken(e), "openid offline_access") }},
		{name: "OBO by a public client", status: 400, code: "unauthorized_client",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {e.native.ClientID},
					"assertion": {"x"}, "scope": {"api://files/.default"}, "requested_token_use": {"on_behalf_of"}}
			}},
		{name: "OBO with an app token", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				_, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
					"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
				return oboForm(e, literal(cc["access_token"].(string)), "api://files/Files.Read")
			}},
		// Token exchange.
		{name: "exchange without subject_token_type", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				f := oboForm(e, literal(""), "")
				return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": f["client_id"],
					"client_secret": f["client_secret"], "subject_token": {"x"}, "audience": {"api://files"}}
			}},
		{name: "exchange of a revoked token", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				f := oboForm(e, literal(""), "")
				tok := middleToken(e)()
				if status, _ := e.revokeToken(e.native.ClientID, "", tok, ""); status != 200 {
					e.t.Fatal("revoke failed")
				}
				return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": f["client_id"],
					"client_secret": f["client_secret"], "subject_token": {tok}, "audience": {"api://files"},
					"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
			}},
		{name: "exchange with another app's token as actor", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				_, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
					"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
				return exchangeForm(e, cc["access_token"].(string))
			}},
		{name: "exchange with another user's token as actor", status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return exchangeForm(e, e.userTokenFor("api://files/Files.Read")) }},
		{name: "exchange with an ID token as actor", status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return exchangeForm(e, webTokens(e, "openid")["id_token"].(string)) }},
		{name: "exchange with an actor token of another tenant", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				x, secret := otherTenantApp(e)
				_, cc, _ := e.post(e.url("/fabrikam/oauth2/v2.0/token"), url.Values{"grant_type": {"client_credentials"},
					"client_id": {x.ClientID}, "client_secret": {secret}, "scope": {x.ClientID + "/.default"}})
				return exchangeForm(e, cc["access_token"].(string))
			}},
		{name: "code of a sign-in session that has ended", status: 400, code: "invalid_grant",
			form: func(e *env) url.Values {
				b := e.browser()
				code := codeFor(e, b, e.web.ClientID, webRedirect, "openid offline_access", nil)
				// The same browser signs out (confirming), then the code comes in.
				o := b.Get(e.authority() + "/oauth2/v2.0/logout")
				b.Submit(o, map[string]string{"logout": "confirm"})
				return redeemWeb(e, code)
			}},
		{name: "a client blocked after repeated failures, with its right secret", status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				wrong := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
					"client_secret": {"not-the-secret"}, "scope": {"api://files/.default"}}
				for range 20 {
					e.post(e.tokenURL(), wrong)
				}
				right := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
					"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}}
				return right
			}},
		// Client assertions.
		{name: "assertion with an unknown type", status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "scope": {"api://files/.default"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "client_assertion": {"x"}}
			}},
		{name: "assertion type without assertion", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "scope": {"api://files/.default"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
			}},
		{name: "assertion and secret together", status: 400, code: "invalid_request",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW},
					"scope": {"api://files/.default"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"x"}}
			}},
		{name: "assertion signed with alg none", status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "scope": {"api://files/.default"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4Iiwic3ViIjoieCJ9."}}
			}},
		{name: "assertion by a public client", status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				key, _ := rsa.GenerateKey(rand.Reader, 2048)
				a := e.clientAssertion(key, e.native.ClientID, assertionOpts{alg: jose.RS256})
				return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.ClientID}, "refresh_token": {"x"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
			}},
		{name: "assertion from an app without credentials", status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				key, _ := rsa.GenerateKey(rand.Reader, 2048)
				a := e.clientAssertion(key, e.web.ClientID, assertionOpts{alg: jose.RS256})
				return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID}, "scope": {"api://files/.default"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
			}},
		// Revocation and introspection.
		{name: "revoke without token", target: revoke, status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return url.Values{"client_id": {e.web.ClientID}, "client_secret": {e.secret}} }},
		{name: "revoke without client", target: revoke, status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return url.Values{"token": {"x"}} }},
		{name: "revoke by JSON", target: revoke, status: 400, code: "invalid_request",
			raw: func(e *env) (string, string) { return "application/json", `{"token":"x"}` }},
		{name: "revoke another client's access token", target: revoke, status: 400, code: "unauthorized_client",
			form: func(e *env) url.Values {
				at := webTokens(e, "openid")["access_token"].(string)
				return url.Values{"client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "token": {at}}
			}},
		{name: "introspect without token", target: introspect, status: 400, code: "invalid_request",
			form: func(e *env) url.Values { return url.Values{"client_id": {e.web.ClientID}, "client_secret": {e.secret}} }},
		{name: "introspect with a wrong secret", target: introspect, status: 401, code: "invalid_client",
			form: func(e *env) url.Values {
				return url.Values{"client_id": {e.web.ClientID}, "client_secret": {"wrong"}, "token": {"x"}}
			}},
		{name: "introspect with duplicated token", target: introspect, status: 400, code: "invalid_request",
			raw: func(e *env) (string, string) {
				return "application/x-www-form-urlencoded", "client_id=" + e.web.ClientID + "&client_secret=" + e.secret + "&token=a&token=b"
			}},
	}
	if len(cases) < 25 {
		t.Fatalf("the table must hold at least 25 cases, has %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			target := e.tokenURL()
			if tc.target != nil {
				target = tc.target(e)
			}
			var status int
			var resp map[string]any
			var h http.Header
			switch {
			case tc.raw != nil:
				contentType, body := tc.raw(e)
				if contentType == "" {
					r, err := e.srv.Client().Get(target)
					if err != nil {
						t.Fatal(err)
					}
					status, resp, h = r.StatusCode, decodeJSON(t, r.Body), r.Header
					r.Body.Close()
				} else {
					status, resp, h = e.postRaw(target, contentType, body, nil)
				}
			default:
				status, resp, h = e.post(target, tc.form(e))
			}
			assertProtocolError(t, status, resp, h, tc.status, tc.code)
		})
	}
}

// otherTenantApp registers an app with a secret in a second tenant,
// fabrikam, for requests that cross tenants.
func otherTenantApp(e *env) (store.App, string) {
	e.t.Helper()
	ctx := e.t.Context()
	other, err := e.admin.CreateTenant(ctx, "fabrikam", "RS256")
	if err != nil {
		e.t.Fatal(err)
	}
	x, err := e.admin.RegisterApp(ctx, other, admin.RegisterOptions{Name: "X"})
	if err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.admin.AddSecret(ctx, x, "x", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	return x, secret
}
