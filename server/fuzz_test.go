package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenEndpoint: whatever the body, the answer is a JSON protocol
// error or a token response, never a 5xx.
func FuzzTokenEndpoint(f *testing.F) {
	for _, seed := range []string{
		"grant_type=client_credentials&client_id=x&client_secret=y&scope=a%2F.default",
		"grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost%3A8080&code_verifier=" + strings.Repeat("a", 43),
		"grant_type=refresh_token&refresh_token=abc&scope=openid%20offline_access",
		"grant_type=refresh_token&refresh_token=&client_id=",
		"%%%&&&===",
		"scope=" + strings.Repeat("a/b ", 100),
		"grant_type=client_credentials&scope=api%3A%2F%2Ffiles%2F.default%20api%3A%2F%2Ffiles%2FFiles.Read",
	} {
		f.Add(seed, "application/x-www-form-urlencoded")
	}
	f.Add(`{"grant_type":"x"}`, "application/json")
	e := newEnv(f)
	handler := e.srv.Config.Handler
	f.Fuzz(func(t *testing.T, body, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "https://"+e.srv.Listener.Addr().String()+"/contoso/oauth2/v2.0/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("not JSON for %q: %s", body, rec.Body)
		}
		if rec.Code != 200 && m["error"] == nil {
			t.Fatalf("error status %d without an error code: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzAuthorize: whatever the query, the browser is sent only to a
// registered redirect URI, and nothing answers 5xx.
func FuzzAuthorize(f *testing.F) {
	e := newEnv(f)
	base := url.Values{"client_id": {e.web.ClientID}, "response_type": {"code"}, "redirect_uri": {webRedirect}, "scope": {"openid"}, "state": {"s"}}
	f.Add(base.Encode())
	f.Add(base.Encode() + "&redirect_uri=https://evil.example")
	f.Add("client_id=" + e.web.ClientID + "&redirect_uri=http%3A%2F%2Flocalhost%3A8080&response_type=code%20id_token&scope=openid&response_mode=query")
	f.Add("client_id=" + e.native.ClientID + "&redirect_uri=http%3A%2F%2Flocalhost%3A1&response_type=code&scope=openid&code_challenge=x")
	f.Add("client_id=%00&redirect_uri=%ff")
	handler := e.srv.Config.Handler
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "https://"+e.srv.Listener.Addr().String()+"/contoso/oauth2/v2.0/authorize", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, query)
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatalf("unparseable Location %q", loc)
			}
			if u.Host != "" && u.Host != "localhost:8080" && !strings.HasPrefix(u.Host, "localhost:") {
				t.Fatalf("redirected to %q for %q", loc, query)
			}
		}
	})
}
