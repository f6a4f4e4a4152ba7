package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// bareProvider is a protocol core on an empty store, for tests of the
// server's own configuration.
func bareProvider(t *testing.T) *oauth.Provider {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mk := token.NewMasterKey()
	return oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: st, Keys: token.NewKeyring(st, mk, nil),
		Successor: token.NewSuccessors(mk).Derive, State: token.NewStateSealer(mk), Logger: slog.New(slog.DiscardHandler)})
}

// TestPublicURLWithTokenIsRefused: MSAL Go finds the device code endpoint
// by replacing every "token" in the token endpoint URL, so a public URL
// with "token" anywhere would send it elsewhere.
func TestPublicURLWithTokenIsRefused(t *testing.T) {
	p := bareProvider(t)
	for _, u := range []string{"https://tokens.example.com", "https://login.example.com/token", "https://id.example.com/tokenservice/", "https://TOKEN.example.com"} {
		_, err := server.New(server.Config{PublicURL: u}, p)
		if err == nil || !strings.Contains(err.Error(), `"token"`) || !strings.Contains(err.Error(), "MSAL") {
			t.Errorf("public URL %s: got %v, want a refusal naming \"token\" and MSAL", u, err)
		}
	}
	for _, u := range []string{"https://login.example.com", "https://login.example.com/", "http://localhost:8443"} {
		if _, err := server.New(server.Config{PublicURL: u}, p); err != nil {
			t.Errorf("public URL %s: %v", u, err)
		}
	}
}

// TestHostWithTokenIsWarnedOnce: without a public URL, issuers follow the
// Host header; one that contains "token" is logged once, however many
// requests carry it.
func TestHostWithTokenIsWarnedOnce(t *testing.T) {
	var logs bytes.Buffer
	h, err := server.New(server.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, bareProvider(t))
	if err != nil {
		t.Fatal(err)
	}
	get := func(host string) {
		r := httptest.NewRequest(http.MethodGet, "/contoso/v2.0/.well-known/openid-configuration", nil)
		r.Host = host
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	get("login.example.test")
	if strings.Contains(logs.String(), "token") {
		t.Fatalf("warned about an ordinary host:\n%s", logs.String())
	}
	for range 3 {
		get("tokens.example.test")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "host=tokens.example.test") {
		t.Errorf("want one warning naming the host, got %d:\n%s", n, logs.String())
	}
}
