package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenCase is one hostile or malformed token endpoint request.
type tokenCase struct {
	name    string
	request func(e *env) (contentType, body string, header http.Header, target string)
	status  int
	code    string
	sub     string
}

func form(v url.Values) func(*env) (string, string, http.Header, string) {
	return func(e *env) (string, string, http.Header, string) {
		return "application/x-www-form-urlencoded", v.Encode(), nil, e.tokenURL()
	}
}

func formFrom(build func(e *env) url.Values) func(*env) (string, string, http.Header, string) {
	return func(e *env) (string, string, http.Header, string) {
		return "application/x-www-form-urlencoded", build(e).Encode(), nil, e.tokenURL()
	}
}

// webCode gets a confidential-client code for scope.
func webCode(e *env, scope string) string {
	return codeFor(e, e.browser(), e.web.ClientID, webRedirect, scope, nil)
}

// nativeCode gets a public-client code with PKCE and returns it with its verifier.
func nativeCode(e *env) (code, verifier string) {
	verifier, challenge := pkcePair()
	code = codeFor(e, e.browser(), e.native.ClientID, "http://localhost:7777", "openid offline_access",
		url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	return code, verifier
}

func redeemWeb(e *env, code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret},
		"code": {code}, "redirect_uri": {webRedirect}}
}

func webRefresh(e *env, rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "refresh_token": {rt}}
}

func TestHostileTokenRequests(t *testing.T) {
	cases := []tokenCase{
		{name: "wrong redirect_uri on redemption", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			v := redeemWeb(e, webCode(e, "openid"))
			v.Set("redirect_uri", "http://localhost:8080/other")
			return v
		})},
		{name: "missing code_verifier", status: 400, code: "invalid_request", request: formFrom(func(e *env) url.Values {
			code, _ := nativeCode(e)
			return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID}, "code": {code}, "redirect_uri": {"http://localhost:7777"}}
		})},
		{name: "wrong code_verifier", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			code, _ := nativeCode(e)
			other, _ := pkcePair()
			return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID}, "code": {code}, "redirect_uri": {"http://localhost:7777"}, "code_verifier": {other}}
		})},
		{name: "garbled code_verifier", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			code, v := nativeCode(e)
			return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID}, "code": {code}, "redirect_uri": {"http://localhost:7777"}, "code_verifier": {v[:20] + "!!<>"}}
		})},
		{name: "verifier for a code without challenge", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			v := redeemWeb(e, webCode(e, "openid"))
			verifier, _ := pkcePair()
			v.Set("code_verifier", verifier)
			return v
		})},
		{name: "code replay", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			v := redeemWeb(e, webCode(e, "openid"))
			if s, r, _ := e.post(e.tokenURL(), v); s != 200 {
				e.t.Fatalf("first redemption: %d %v", s, r)
			}
			return v
		})},
		{name: "code of another client", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			code, verifier := nativeCode(e)
			return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "code": {code}, "redirect_uri": {"http://localhost:7777"}, "code_verifier": {verifier}}
		})},
		{name: "unknown code", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values { return redeemWeb(e, "not-a-code") })},
		{name: "expired code", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values {
			v := redeemWeb(e, webCode(e, "openid"))
			e.clock.Advance(11 * time.Minute)
			return v
		})},
		{name: "token leg widens scope", status: 400, code: "invalid_scope", request: formFrom(func(e *env) url.Values {
			v := redeemWeb(e, webCode(e, "openid"))
			v.Set("scope", "api://"+e.web.ClientID+"/access_as_user openid")
			return v
		})},
		{name: "refresh reuse after grace", status: 400, code: "invalid_grant", sub: "bad_token", request: formFrom(func(e *env) url.Values {
			rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
			if s, r := e.refresh(rt, nil); s != 200 {
				e.t.Fatalf("%d %v", s, r)
			}
			e.clock.Advance(time.Minute)
			return webRefresh(e, rt)
		})},
		{name: "refresh by another client", status: 400, code: "invalid_grant", sub: "bad_token", request: formFrom(func(e *env) url.Values {
			code, verifier := nativeCode(e)
			_, r, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID}, "code": {code}, "redirect_uri": {"http://localhost:7777"}, "code_verifier": {verifier}})
			return webRefresh(e, r["refresh_token"].(string))
		})},
		{name: "refresh after user disabled", status: 400, code: "invalid_grant", sub: "bad_token", request: formFrom(func(e *env) url.Values {
			rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
			if _, err := e.admin.SetDisabled(e.t.Context(), e.user, true); err != nil {
				e.t.Fatal(err)
			}
			return webRefresh(e, rt)
		})},
		{name: "scope escalation on refresh", status: 400, code: "invalid_grant", sub: "consent_required", request: formFrom(func(e *env) url.Values {
			v := webRefresh(e, webTokens(e, "openid offline_access")["refresh_token"].(string))
			v.Set("scope", "api://files/Files.Write offline_access")
			return v
		})},
		{name: "unknown scope on refresh", status: 400, code: "invalid_scope", request: formFrom(func(e *env) url.Values {
			v := webRefresh(e, webTokens(e, "openid offline_access")["refresh_token"].(string))
			v.Set("scope", "api://files/Files.Delete")
			return v
		})},
		{name: "unknown refresh token", status: 400, code: "invalid_grant", sub: "bad_token", request: formFrom(func(e *env) url.Values { return webRefresh(e, "nope") })},
		{name: "oversized refresh token", status: 400, code: "invalid_grant", request: formFrom(func(e *env) url.Values { return webRefresh(e, strings.Repeat("A", 600)) })},
		{name: "wrong client secret", status: 401, code: "invalid_client", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.secret}, "scope": {"api://files/.default"}}
		})},
		{name: "expired client secret", status: 401, code: "invalid_client", request: formFrom(func(e *env) url.Values {
			old, _, err := e.admin.AddSecret(e.t.Context(), e.daemon, "short", e.clock.Now().Add(time.Hour))
			if err != nil {
				e.t.Fatal(err)
			}
			e.clock.Advance(2 * time.Hour)
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {old}, "scope": {"api://files/.default"}}
		})},
		{name: "removed client secret", status: 401, code: "invalid_client", request: formFrom(func(e *env) url.Values {
			secrets, _ := e.admin.Secrets(e.t.Context(), e.daemon)
			if err := e.admin.RemoveSecret(e.t.Context(), e.daemon, secrets[0].ID); err != nil {
				e.t.Fatal(err)
			}
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}}
		})},
		{name: "confidential client without secret", status: 401, code: "invalid_client", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "scope": {"api://files/.default"}}
		})},
		{name: "public client presenting a secret", status: 401, code: "invalid_client", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.ClientID}, "client_secret": {"guess"}, "refresh_token": {"x"}}
		})},
		{name: "unknown client", status: 401, code: "invalid_client", request: form(url.Values{"grant_type": {"client_credentials"}, "client_id": {"00000000-0000-4000-8000-000000000000"}, "client_secret": {"x"}, "scope": {"a/.default"}})},
		{name: "client assertion", status: 401, code: "invalid_client", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"e30.e30.x"}, "scope": {"api://files/.default"}}
		})},
		{name: "basic and body credentials", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(e.daemon.ClientID+":"+e.daemonPW))}}
			return "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}}.Encode(), h, e.tokenURL()
		}},
		{name: "public client presenting a basic secret", status: 401, code: "invalid_client", request: func(e *env) (string, string, http.Header, string) {
			h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(e.native.ClientID+":guess"))}}
			return "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}.Encode(), h, e.tokenURL()
		}},
		{name: "confidential client with an empty basic secret", status: 401, code: "invalid_client", request: func(e *env) (string, string, http.Header, string) {
			h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(e.daemon.ClientID+":"))}}
			return "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}, "scope": {"api://files/.default"}}.Encode(), h, e.tokenURL()
		}},
		{name: "malformed basic header", status: 401, code: "invalid_client", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=api%3A%2F%2Ffiles%2F.default", http.Header{"Authorization": {"Basic !!!notbase64"}}, e.tokenURL()
		}},
		{name: "public client using client_credentials", status: 400, code: "unauthorized_client", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.native.ClientID}, "scope": {"api://files/.default"}}
		})},
		{name: "client_credentials without .default", status: 400, code: "invalid_scope", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/Files.Read"}}
		})},
		{name: "client_credentials with OIDC scopes only", status: 400, code: "invalid_scope", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"openid offline_access profile"}}
		})},
		{name: "client_credentials for an unknown resource", status: 400, code: "invalid_scope", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"https://graph.example/.default"}}
		})},
		{name: "scopes of two resources", status: 400, code: "invalid_scope", request: formFrom(func(e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default " + e.web.ClientID + "/.default"}}
		})},
		{name: "missing grant_type", status: 400, code: "invalid_request", request: form(url.Values{"client_id": {"x"}})},
		{name: "unsupported grant_type", status: 400, code: "unsupported_grant_type", request: form(url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}})},
		{name: "duplicated parameter", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials&grant_type=client_credentials&client_id=" + e.daemon.ClientID, nil, e.tokenURL()
		}},
		{name: "duplicated parameter after trimming", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "scope=a&%20scope=b&grant_type=client_credentials", nil, e.tokenURL()
		}},
		{name: "oversized parameter", status: 400, code: "invalid_request", request: form(url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("s", 5000)}})},
		{name: "oversized body", status: 413, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials&pad=" + strings.Repeat("x", 70<<10), nil, e.tokenURL()
		}},
		{name: "too many parameters", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			var b strings.Builder
			b.WriteString("grant_type=client_credentials")
			for i := 0; i < 100; i++ {
				b.WriteString("&p" + strings.Repeat("x", i) + "=1")
			}
			return "application/x-www-form-urlencoded", b.String(), nil, e.tokenURL()
		}},
		{name: "JSON content type", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/json", `{"grant_type":"client_credentials"}`, nil, e.tokenURL()
		}},
		{name: "no content type", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "", "grant_type=client_credentials", nil, e.tokenURL()
		}},
		{name: "bad percent-encoding", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=%zz", nil, e.tokenURL()
		}},
		{name: "NUL byte in a value", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client%00_credentials", nil, e.tokenURL()
		}},
		{name: "invalid UTF-8", status: 400, code: "invalid_request", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=%ff%fe", nil, e.tokenURL()
		}},
		{name: "unknown tenant", status: 400, code: "invalid_tenant", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials", nil, e.url("/nosuchtenant/oauth2/v2.0/token")
		}},
		{name: "hostile tenant segment", status: 400, code: "invalid_tenant", request: func(e *env) (string, string, http.Header, string) {
			return "application/x-www-form-urlencoded", "grant_type=client_credentials", nil, e.url("/%27%3B--%20" + strings.Repeat("x", 300) + "/oauth2/v2.0/token")
		}},
	}
	if len(cases) < 30 {
		t.Fatalf("the table must hold at least 30 cases, has %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			contentType, body, header, target := tc.request(e)
			status, resp, h := e.postRaw(target, contentType, body, header)
			assertProtocolError(t, status, resp, h, tc.status, tc.code)
			if tc.sub != "" && resp["suberror"] != tc.sub {
				t.Errorf("suberror = %v, want %s", resp["suberror"], tc.sub)
			}
			if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// assertProtocolError checks an RFC 6749 §5.2 error answer: exact code and
// status, the fields clients and support rely on, no caching, no token.
func assertProtocolError(t *testing.T, status int, resp map[string]any, h http.Header, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || resp["error"] != wantCode {
		t.Fatalf("got %d %v, want %d %s", status, resp, wantStatus, wantCode)
	}
	for _, k := range []string{"error_description", "timestamp", "trace_id", "correlation_id"} {
		if s, _ := resp[k].(string); s == "" {
			t.Errorf("error response lacks %s: %v", k, resp)
		}
	}
	// Every error names its condition by number, as Entra's do.
	if codes, _ := resp["error_codes"].([]any); len(codes) != 1 {
		t.Errorf("error response lacks error_codes: %v", resp)
	} else if n, _ := codes[0].(float64); n <= 0 || n != float64(int64(n)) {
		t.Errorf("error_codes = %v, want one positive integer", codes)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if _, ok := resp[k]; ok {
			t.Errorf("error response carries %s", k)
		}
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Errorf("Cache-Control = %q, Pragma = %q; want no-store, no-cache", h.Get("Cache-Control"), h.Get("Pragma"))
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
}

// authorizeCase is one hostile or malformed authorization request.
type authorizeCase struct {
	name   string
	query  func(e *env) string
	page   bool   // the error must be shown, never redirected
	code   string // the error code (redirected or shown)
	status int    // for pages
}

func TestHostileAuthorizeRequests(t *testing.T) {
	base := func(e *env) url.Values {
		return url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "redirect_uri": {webRedirect}, "scope": {"openid"}, "state": {"st8"}}
	}
	with := func(change func(e *env, v url.Values)) func(e *env) string {
		return func(e *env) string {
			v := base(e)
			change(e, v)
			return v.Encode()
		}
	}
	cases := []authorizeCase{
		{name: "unregistered redirect_uri", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("redirect_uri", "https://attacker.example/cb") })},
		{name: "redirect_uri with another path", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("redirect_uri", webRedirect+"/evil") })},
		{name: "javascript redirect_uri", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("redirect_uri", "javascript:alert(1)") })},
		{name: "loopback port change for a non-loopback registration", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("redirect_uri", "http://localhost.attacker.example:8080") })},
		// RFC 8252 §7.3 lets the port vary for native (public) clients
		// only; the web app is confidential.
		{name: "loopback port change for a confidential client", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("redirect_uri", "http://localhost:9090") })},
		{name: "loopback port change for a confidential client registered without a port", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) {
			if _, err := e.admin.AddRedirectURIs(e.t.Context(), e.web, []string{"http://127.0.0.1/cb"}); err != nil {
				e.t.Fatal(err)
			}
			v.Set("redirect_uri", "http://127.0.0.1:5555/cb")
		})},
		{name: "unknown client_id", page: true, code: "unauthorized_client", status: 400, query: with(func(e *env, v url.Values) { v.Set("client_id", "00000000-0000-4000-8000-000000000000") })},
		{name: "missing client_id", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Del("client_id") })},
		{name: "duplicated client_id", page: true, code: "invalid_request", status: 400, query: func(e *env) string { return base(e).Encode() + "&client_id=" + e.web.ClientID }},
		{name: "missing response_type", code: "invalid_request", query: with(func(e *env, v url.Values) { v.Del("response_type") })},
		{name: "implicit response_type", code: "unsupported_response_type", query: with(func(e *env, v url.Values) { v.Set("response_type", "token") })},
		{name: "ID token in the query", code: "invalid_request", query: with(func(e *env, v url.Values) {
			v.Set("response_type", "code id_token")
			v.Set("response_mode", "query")
			v.Set("nonce", "n")
		})},
		{name: "unknown response_mode", code: "invalid_request", query: with(func(e *env, v url.Values) { v.Set("response_mode", "web_message") })},
		{name: "public client without PKCE", code: "invalid_request", query: with(func(e *env, v url.Values) {
			v.Set("client_id", e.native.ClientID)
			v.Set("redirect_uri", "http://localhost:9999")
		})},
		{name: "plain PKCE not allowed", code: "invalid_request", query: with(func(e *env, v url.Values) {
			v.Set("code_challenge", strings.Repeat("a", 43))
			v.Set("code_challenge_method", "plain")
		})},
		{name: "garbled code_challenge", code: "invalid_request", query: with(func(e *env, v url.Values) {
			v.Set("code_challenge", "short!")
			v.Set("code_challenge_method", "S256")
		})},
		{name: "unknown code_challenge_method", code: "invalid_request", query: with(func(e *env, v url.Values) {
			v.Set("code_challenge", strings.Repeat("a", 43))
			v.Set("code_challenge_method", "S512")
		})},
		{name: "unknown resource in scope", code: "invalid_scope", query: with(func(e *env, v url.Values) { v.Set("scope", "https://graph.example/User.Read") })},
		{name: "scope not exposed", code: "invalid_scope", query: with(func(e *env, v url.Values) { v.Set("scope", "api://files/Files.Delete") })},
		{name: ".default mixed with a scope", code: "invalid_scope", query: with(func(e *env, v url.Values) { v.Set("scope", "api://files/.default api://files/Files.Read") })},
		{name: "missing scope", code: "invalid_request", query: with(func(e *env, v url.Values) { v.Del("scope") })},
		{name: "prompt none with login", code: "invalid_request", query: with(func(e *env, v url.Values) { v.Set("prompt", "none login") })},
		{name: "negative max_age", code: "invalid_request", query: with(func(e *env, v url.Values) { v.Set("max_age", "-5") })},
		{name: "hybrid without nonce", code: "invalid_request", query: with(func(e *env, v url.Values) { v.Set("response_type", "code id_token") })},
		{name: "oversized state", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("state", strings.Repeat("s", 5000)) })},
		// Request objects are refused, not ignored (OpenID Connect Core §6).
		{name: "request object", code: "request_not_supported", query: with(func(e *env, v url.Values) { v.Set("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.") })},
		{name: "request object by reference", code: "request_uri_not_supported", query: with(func(e *env, v url.Values) { v.Set("request_uri", "https://attacker.example/req") })},
		{name: "request object with an unregistered redirect_uri", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) {
			v.Set("request", "eyJhbGciOiJub25lIn0.e30.")
			v.Set("redirect_uri", "https://attacker.example/cb")
		})},
		{name: "request object of an unknown client", page: true, code: "unauthorized_client", status: 400, query: with(func(e *env, v url.Values) {
			v.Set("request_uri", "https://attacker.example/req")
			v.Set("client_id", "00000000-0000-4000-8000-000000000000")
		})},
		{name: "oversized request object", page: true, code: "invalid_request", status: 400, query: with(func(e *env, v url.Values) { v.Set("request", strings.Repeat("r", 17000)) })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			o := e.browser().Get(e.authority() + "/oauth2/v2.0/authorize?" + tc.query(e))
			if tc.page {
				if o.Callback != nil {
					t.Fatalf("redirected to %v; an untrusted request must not redirect", o.Callback)
				}
				if o.Page != "error" || o.Status != tc.status || !strings.Contains(o.Body, tc.code) {
					t.Fatalf("want error page %d %s, got %d %q", tc.status, tc.code, o.Status, o.Page)
				}
				return
			}
			if o.Callback == nil || o.Callback.Host != "localhost:8080" && !strings.HasPrefix(o.Callback.Host, "localhost:") {
				t.Fatalf("want a redirect to the client, got %d %q", o.Status, o.Page)
			}
			if o.Params.Get("error") != tc.code || o.Params.Get("code") != "" || o.Params.Get("error_description") == "" {
				t.Fatalf("params = %v, want error %s", o.Params, tc.code)
			}
			if o.Params.Get("state") != "st8" {
				t.Errorf("state not echoed: %v", o.Params)
			}
			if o.Params.Get("iss") != e.authority()+"/v2.0" {
				t.Errorf("iss = %q, want the tenant's issuer (RFC 9207): %v", o.Params.Get("iss"), o.Params)
			}
		})
	}
}

func TestJSONErrorsEverywhere(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/contoso/oauth2/v2.0/nothing", 404, "not_found"},
		{"GET", "/", 404, "not_found"},
		{"GET", "/nosuchtenant/v2.0/.well-known/openid-configuration", 400, "invalid_tenant"},
		{"GET", "/nosuchtenant/discovery/v2.0/keys", 400, "invalid_tenant"},
		{"POST", "/contoso/v2.0/.well-known/openid-configuration", 405, "invalid_request"},
		{"GET", "/contoso/oauth2/v2.0/token", 405, "invalid_request"},
		{"DELETE", "/contoso/oauth2/v2.0/authorize", 405, "invalid_request"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.url(tc.path), nil)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			m := decodeJSON(t, resp.Body)
			resp.Body.Close()
			assertProtocolError(t, resp.StatusCode, m, resp.Header, tc.status, tc.code)
		})
	}
}
