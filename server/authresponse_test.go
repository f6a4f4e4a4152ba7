package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// discoveryAt fetches the discovery document under an authority URL.
func (e *env) discoveryAt(authority string) map[string]any {
	e.t.Helper()
	resp, err := e.srv.Client().Get(authority + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("discovery at %s: %d", authority, resp.StatusCode)
	}
	return decodeJSON(e.t, resp.Body)
}

// wantIssuer checks that an authorization response, error or success,
// names the issuer of the tenant it was addressed to (RFC 9207).
func wantIssuer(t *testing.T, what string, o testbrowser.Outcome, issuer string) {
	t.Helper()
	if o.Callback == nil {
		t.Fatalf("%s: not sent back to the client (status %d, page %q)", what, o.Status, o.Page)
	}
	if got := o.Params["iss"]; len(got) != 1 || got[0] != issuer {
		t.Errorf("%s: iss = %v, want [%s]; params %v", what, got, issuer, o.Params)
	}
}

// TestAuthorizationResponseNamesIssuer: every response to the client, in
// every response mode, carries iss, equal to the issuer of the discovery
// document under the same path, so a client of several tenants (or
// servers) can tell which one answered.
func TestAuthorizationResponseNamesIssuer(t *testing.T) {
	e := newEnv(t)
	issuer := e.authority() + "/v2.0"
	if doc := e.discoveryAt(e.authority()); doc["issuer"] != issuer {
		t.Fatalf("discovery issuer %v, want %s", doc["issuer"], issuer)
	}
	signedIn := e.browser()
	signedIn.signIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))

	for _, mode := range []string{"query", "fragment", "form_post"} {
		t.Run(mode, func(t *testing.T) {
			m := url.Values{"response_mode": {mode}}
			o := signedIn.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", m))
			if o.Params.Get("code") == "" {
				t.Fatalf("no code: %v", o.Params)
			}
			if mode == "form_post" && o.Page != "form_post" {
				t.Fatalf("form_post answered with page %q", o.Page)
			}
			if mode == "fragment" && o.Callback.Fragment == "" {
				t.Fatalf("fragment mode answered in %v", o.Callback)
			}
			wantIssuer(t, "success", o, issuer)

			// An error decided after validation (prompt=none, no session).
			none := url.Values{"response_mode": {mode}, "prompt": {"none"}}
			o = e.browser().Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", none))
			if o.Params.Get("error") != "login_required" {
				t.Fatalf("prompt=none without a session: %v", o.Params)
			}
			wantIssuer(t, "login_required", o, issuer)

			// An error of the request itself.
			o = e.browser().Get(authorizeURL(e, e.web.ClientID, webRedirect, "api://files/Files.Delete", m))
			if o.Params.Get("error") != "invalid_scope" {
				t.Fatalf("unknown scope: %v", o.Params)
			}
			wantIssuer(t, "invalid_scope", o, issuer)
		})
	}

	t.Run("hybrid", func(t *testing.T) {
		o := signedIn.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"response_type": {"code id_token"}, "nonce": {"n"}}))
		if o.Params.Get("id_token") == "" || o.Callback.Fragment == "" {
			t.Fatalf("hybrid response: %v", o.Callback)
		}
		wantIssuer(t, "code id_token", o, issuer)
	})

	t.Run("consent declined", func(t *testing.T) {
		b := e.browser()
		o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid email", nil)), "alice@contoso.test", e.password)
		o = b.Consent(o, "cancel")
		if o.Params.Get("error") != "access_denied" {
			t.Fatalf("cancel: %v", o.Params)
		}
		wantIssuer(t, "access_denied", o, issuer)
	})

	// A tenant addressed by its id is an issuer of that name: the one its
	// discovery document under the same path says.
	t.Run("tenant by id", func(t *testing.T) {
		byID := e.srv.URL + "/" + e.tenant.ID
		doc := e.discoveryAt(byID)
		v := url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "redirect_uri": {webRedirect}, "scope": {"openid"}}
		o := e.browser().signIn(byID + "/oauth2/v2.0/authorize?" + v.Encode())
		if doc["issuer"] != byID+"/v2.0" {
			t.Fatalf("discovery issuer %v", doc["issuer"])
		}
		wantIssuer(t, "by id", o, byID+"/v2.0")
	})

	t.Run("default tenant alias", func(t *testing.T) {
		v := url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "redirect_uri": {webRedirect}, "scope": {"openid"}}
		o := signedIn.Get(e.url("/oauth2/authorize?" + v.Encode()))
		wantIssuer(t, "alias", o, issuer)
	})
}

// TestDiscoveryAuthorizationResponseMetadata: the document promises iss
// in authorization responses and says request objects are not read.
func TestDiscoveryAuthorizationResponseMetadata(t *testing.T) {
	e := newEnv(t)
	doc := e.discoveryAt(e.authority())
	for k, want := range map[string]bool{
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
	} {
		if got, ok := doc[k].(bool); !ok || got != want {
			t.Errorf("%s = %v, want %v", k, doc[k], want)
		}
	}
}

// TestRequestObjectsAreRefused: request and request_uri are answered with
// OpenID Connect Core §6's errors instead of being ignored: by redirect
// when the client and redirect URI are known good, on the error page when
// not.
func TestRequestObjectsAreRefused(t *testing.T) {
	e := newEnv(t)
	issuer := e.authority() + "/v2.0"
	// An unsigned request object, as a client would send one; its size is
	// over the usual value limit but under a JWT's.
	object := "eyJhbGciOiJub25lIn0." + strings.Repeat("e30", 2000) + "."
	for _, tc := range []struct {
		name, param, value, mode, code string
	}{
		{"request", "request", object, "", "request_not_supported"},
		{"request in form_post", "request", object, "form_post", "request_not_supported"},
		{"request in the fragment", "request", object, "fragment", "request_not_supported"},
		{"request_uri", "request_uri", "https://client.example/requests/1", "", "request_uri_not_supported"},
		{"request_uri urn", "request_uri", "urn:ietf:params:oauth:request_uri:abc", "form_post", "request_uri_not_supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := url.Values{tc.param: {tc.value}}
			if tc.mode != "" {
				extra.Set("response_mode", tc.mode)
			}
			o := e.browser().Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", extra))
			if o.Callback == nil || o.Callback.Host != "localhost:8080" {
				t.Fatalf("want a redirect to the client, got %d page %q", o.Status, o.Page)
			}
			if o.Params.Get("error") != tc.code || o.Params.Get("error_description") == "" || o.Params.Get("code") != "" || o.Params.Get("state") != "xyz" {
				t.Fatalf("params %v, want error %s with state", o.Params, tc.code)
			}
			wantIssuer(t, tc.name, o, issuer)
		})
	}

	// The redirect URI may be in the object: without one in the query, a
	// client with several gets the error page, saying why.
	if _, err := e.admin.AddRedirectURIs(t.Context(), e.web, []string{"https://web.example/cb"}); err != nil {
		t.Fatal(err)
	}
	page := func(v url.Values) testbrowser.Outcome {
		return e.browser().Get(e.authority() + "/oauth2/v2.0/authorize?" + v.Encode())
	}
	for _, tc := range []struct {
		name   string
		params url.Values
		code   string
	}{
		{"request without redirect_uri", url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "scope": {"openid"}, "request": {object}}, "request_not_supported"},
		{"request_uri without redirect_uri", url.Values{"client_id": {e.web.ClientID}, "request_uri": {"https://client.example/r"}}, "request_uri_not_supported"},
		// An untrusted redirect URI is the worse problem: it is named, and
		// nothing is sent to it.
		{"request with an unregistered redirect_uri", url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "scope": {"openid"},
			"redirect_uri": {"https://attacker.example/cb"}, "request": {object}}, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := page(tc.params)
			if o.Callback != nil {
				t.Fatalf("redirected to %v", o.Callback)
			}
			if o.Page != "error" || o.Status != http.StatusBadRequest || !strings.Contains(o.Body, tc.code) {
				t.Fatalf("want the error page 400 %s, got %d %q:\n%.400s", tc.code, o.Status, o.Page, o.Body)
			}
		})
	}
}
