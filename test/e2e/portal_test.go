package e2e

import (
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
}
