package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestUnknownTenantErrorPage: a user whose browser follows an authorization
// link naming a tenant that does not exist sees the HTML error page, not a
// JSON body: the link came from an application, and the page is all the user
// has to tell what went wrong.
func TestUnknownTenantErrorPage(t *testing.T) {
	t.Parallel()
	b := harness.NewBrowser(t)
	s := harness.Start(t)
	rp := newRelyingParty(t)
	b.Navigate(s.Base + "/nosuch-tenant/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {"00000000-0000-0000-0000-000000000000"}, "response_type": {"code"},
		"redirect_uri": {rp.URL("/cb")}, "scope": {"openid"}, "state": {"s"},
	}.Encode())
	if _, ok := rp.take("/cb", 0); ok {
		t.Fatal("an unknown tenant's request was answered at the redirect URI")
	}
	title, text := b.Title(), b.InnerText()
	if !strings.Contains(title, "Sign-in error") || !strings.Contains(text, "We couldn't sign you in") ||
		!strings.Contains(text, "Tenant 'nosuch-tenant' not found") || !strings.Contains(text, "invalid_tenant") {
		t.Fatalf("the page is %q:\n%s", title, text)
	}
	if strings.HasPrefix(strings.TrimSpace(text), "{") {
		t.Fatalf("the browser was shown JSON:\n%s", text)
	}
	if !b.Has(`[role="alert"]`) {
		t.Error("the error is not announced (role=alert)")
	}
	requireAccessible(t, b)
	b.Screenshot("unknown-tenant")
}
