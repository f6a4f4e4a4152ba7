package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/server"
)

// TestHSTS: Strict-Transport-Security goes out on every response a
// browser received over HTTPS (directly, or through a proxy when the
// public URL is https), never over plain HTTP, and never for a loopback
// name, whose HSTS would also capture the http://localhost redirect URIs
// of native clients on other ports.
func TestHSTS(t *testing.T) {
	p := bareProvider(t)
	serve := func(t *testing.T, publicURL string, tls bool) *httptest.Server {
		t.Helper()
		h, err := server.New(server.Config{PublicURL: publicURL}, p)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(h)
		if tls {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv
	}
	for _, tc := range []struct {
		name      string
		publicURL string
		tls       bool
		host      string // the Host header; "" for the listener's address
		path      string
		want      bool
	}{
		{name: "TLS, a host name", tls: true, host: "login.example.test", path: "/healthz", want: true},
		{name: "TLS, an error answer", tls: true, host: "login.example.test", path: "/nosuch/v2.0/.well-known/openid-configuration", want: true},
		{name: "TLS, a page", tls: true, host: "login.example.test", path: "/nosuch/oauth2/v2.0/authorize", want: true},
		{name: "plain HTTP", host: "login.example.test", path: "/healthz"},
		{name: "behind a TLS proxy", publicURL: "https://login.example.test", path: "/healthz", want: true},
		{name: "plain HTTP public URL", publicURL: "http://login.example.test", path: "/healthz"},
		{name: "TLS, localhost", tls: true, host: "localhost:8443", path: "/healthz"},
		{name: "TLS, a .localhost name", tls: true, host: "tessera.localhost", path: "/healthz"},
		{name: "TLS, an IP address", tls: true, path: "/healthz"},
		{name: "TLS, public URL on localhost (serve --dev)", publicURL: "https://localhost:8443", tls: true, path: "/healthz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.publicURL, tc.tls)
			req, err := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("Strict-Transport-Security")
			switch {
			case tc.want && got != "max-age=31536000":
				t.Errorf("Strict-Transport-Security = %q, want max-age=31536000 (status %d)", got, resp.StatusCode)
			case !tc.want && got != "":
				t.Errorf("Strict-Transport-Security = %q, want none", got)
			}
		})
	}
}

// TestRevocationAnswersJSON: RFC 7009 asks for a 200; the body is an
// empty JSON object with a JSON content type, which clients that parse
// every answer as JSON (simple-oauth2) need.
func TestRevocationAnswersJSON(t *testing.T) {
	e := newEnv(t)
	rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
	for name, tok := range map[string]string{"live refresh token": rt, "unknown token": "no-such-token"} {
		req, _ := http.NewRequest(http.MethodPost, e.authority()+"/oauth2/v2.0/revoke", strings.NewReader(url.Values{
			"client_id": {e.web.ClientID}, "client_secret": {e.secret}, "token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "{}" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q %q, want 200 {} application/json", name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", name, resp.Header.Get("Cache-Control"))
		}
	}
}

// TestUnknownTenantPage: a browser that reaches a sign-in path of a tenant
// that does not exist gets the error page (404), as for any other error it
// cannot be sent back with; a script asking for JSON gets the protocol
// error, and protocol endpoints answer JSON to everyone.
func TestUnknownTenantPage(t *testing.T) {
	e := newEnv(t)
	authorize := "/oauth2/v2.0/authorize?" + url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "redirect_uri": {webRedirect}, "scope": {"openid"}}.Encode()
	for _, path := range []string{
		"/nosuch" + authorize,
		"/%27%3B--%20" + strings.Repeat("x", 300) + authorize,
		"/nosuch/login?request=abc",
		"/nosuch/consent?request=abc",
		"/nosuch/device",
		"/nosuch/oauth2/v2.0/logout",
	} {
		t.Run("browser "+path[:min(len(path), 40)], func(t *testing.T) {
			o := e.browser().Get(e.url(path))
			if o.Callback != nil {
				t.Fatalf("redirected to %v", o.Callback)
			}
			if o.Page != "error" || o.Status != http.StatusNotFound || !strings.Contains(o.Body, "invalid_tenant") {
				t.Fatalf("want the 404 error page with invalid_tenant, got %d %q:\n%.300s", o.Status, o.Page, o.Body)
			}
		})
	}
	get := func(path, accept string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, e.url(path), nil)
		req.Header.Set("Accept", accept)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp, decodeJSON(t, resp.Body)
	}
	for _, c := range []struct{ path, accept string }{
		{"/nosuch" + authorize, "application/json"},
		{"/nosuch/v2.0/.well-known/openid-configuration", "text/html"},
		{"/nosuch/discovery/v2.0/keys", "text/html,application/xhtml+xml"},
		{"/nosuch/oauth2/v2.0/devicecode", "text/html"},
	} {
		resp, body := get(c.path, c.accept)
		assertProtocolError(t, resp.StatusCode, body, resp.Header, http.StatusBadRequest, "invalid_tenant")
	}
}
