package e2e

import (
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestPortalAccessibility audits the portal's pages (see auditPage) as the
// administrator serve --dev prints walks them, checks the keyboard order
// of the New registration form, and saves each page as a phone (390 CSS
// pixels wide) shows it.
func TestPortalAccessibility(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	b := harness.NewBrowser(t)
	b.Navigate(s.Demo.PortalURL)
	b.Login(s.Demo.AdminUsername, s.Demo.AdminPassword)
	b.WaitTitle("App registrations")
	check := func(name string) {
		t.Helper()
		requireAccessible(t, b)
		b.Viewport(1280, 900)
		b.Screenshot("portal-1280-" + name)
		b.Viewport(390, 844)
		b.Screenshot("portal-390-" + name)
		var overflow bool
		b.Eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`, &overflow)
		if overflow {
			t.Errorf("%s scrolls sideways at 390 px", name)
		}
		b.Viewport(1000, 900)
	}
	check("app-registrations")

	b.ClickLabel("New registration")
	check("register-an-application")
	requireTabOrder(t, b, "#name", "#audience-single", "#platform", "#redirect_uri", `form.wide button[type="submit"]`)
	b.FillLabel("Name", "Accessible app")
	b.ClickLabel("Register")
	b.WaitTitle("Accessible app")
	check("overview")

	b.ClickLabel("Authentication")
	b.ClickLabel("Add a platform")
	b.ClickLabel("Web")
	check("configure-web")

	b.ClickLabel("Certificates & secrets")
	b.ClickLabel("New client secret")
	check("new-client-secret")
	b.ClickLabel("Add")
	check("client-secret-value")

	b.ClickLabel("Token configuration")
	check("token-configuration")
	b.ClickLabel("API permissions")
	b.ClickLabel("Add a permission")
	b.ClickLabel("Demo Web App")
	check("request-api-permissions")
	b.CheckLabel("access_as_user")
	b.ClickLabel("Add permissions")
	b.ClickLabel("Grant admin consent for demo")
	if !strings.Contains(b.Text(), "Granted for demo") {
		t.Errorf("after Grant admin consent:\n%s", b.Text())
	}
	check("api-permissions")
	b.ClickLabel("Expose an API")
	check("expose-an-api")
	b.ClickLabel("Consents")
	if !strings.Contains(b.Text(), "All users (admin consent)") {
		t.Errorf("Consents after Grant admin consent:\n%s", b.Text())
	}
	check("consents")

	b.ClickLabel("Users")
	check("users")
	b.ClickLabel("New user")
	b.FillLabel("Username", "newcomer")
	b.ClickLabel("Create")
	if b.Field("Password") == "" {
		t.Errorf("New user shows no password:\n%s", b.Text())
	}
	check("user")
	b.ClickLabel("Audit logs")
	check("audit-logs")
	b.ClickLabel("Sign-in logs")
	check("sign-in-logs")
}
