package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

func TestSmokeSignIn(t *testing.T) {
	s := harness.Start(t)
	b := harness.NewBrowser(t)
	authorize := s.Authority() + "/oauth2/v2.0/authorize?" + url.Values{"client_id": {s.Demo.WebClientID}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:8080"}, "scope": {"openid offline_access"}, "state": {"smoke"}}.Encode()
	got := b.SignIn(authorize, s.Demo.Username, s.Demo.Password, "http://localhost:8080/")
	u, _ := url.Parse(got)
	if u.Query().Get("code") == "" || u.Query().Get("state") != "smoke" {
		t.Fatalf("callback %s", got)
	}
	if !strings.HasPrefix(got, "http://localhost:8080/?") {
		t.Fatalf("callback %s", got)
	}
}
