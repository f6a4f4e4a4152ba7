package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestScopeConsentTexts: an administrator adds two scopes to an app's
// API on Expose an API, by the form's labels, one for admins and users
// with consent texts and one for admins only. A user asked for the first
// reads its user consent display name and description on the consent
// page; asked for the second, reads "Need admin approval", and its way
// back takes the browser to the app with access_denied.
func TestScopeConsentTexts(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E Notes")

	portal := harness.NewBrowser(t)
	portal.Navigate(s.Demo.PortalURL)
	portal.Login(s.Demo.AdminUsername, s.Demo.AdminPassword)
	portal.WaitTitle("App registrations")
	addScope := func(name string, adminsOnly bool, adminName, userName, userDescription string) {
		t.Helper()
		portal.Navigate(s.Demo.PortalURL + "apps/" + app.ClientID + "/expose")
		portal.ClickLabel("Add a scope")
		portal.FillLabel("Scope name", name)
		if adminsOnly {
			portal.CheckLabel("Admins only")
		} else {
			portal.CheckLabel("Admins and users")
		}
		portal.FillLabel("Admin consent display name", adminName)
		portal.FillLabel("Admin consent description", "Allows the app to "+strings.ToLower(adminName)+".")
		portal.FillLabel("User consent display name", userName)
		portal.FillLabel("User consent description", userDescription)
		if name == "Notes.Read" {
			requireAccessible(t, portal)
			portal.Screenshot("portal-expose-an-api-add-a-scope")
		}
		portal.ClickLabel("Add scope")
		if text := portal.Text(); !strings.Contains(text, "Saved.") || !strings.Contains(text, adminName) {
			t.Fatalf("after Add scope:\n%s", text)
		}
	}
	addScope("Notes.Read", false, "Read all notes", "Read your notes", "Allows the app to read the notes you wrote, and nothing else.")
	addScope("Notes.Manage", true, "Manage all notes", "Manage notes", "Allows the app to change anyone's notes.")
	if text := portal.Text(); !strings.Contains(text, "Admins only") || !strings.Contains(text, "Admins and users") {
		t.Errorf("the scope table does not say who can consent:\n%s", text)
	}
	portal.Screenshot("portal-expose-an-api-scopes")

	user := harness.NewBrowser(t)
	user.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"read"},
		"scope": {"api://" + app.ClientID + "/Notes.Read openid"}}))
	user.Login(s.Demo.Username, s.Demo.Password)
	onPage(t, user, s, "/consent", `button[value="accept"]`)
	text := user.InnerText()
	for _, want := range []string{"Read your notes", "Allows the app to read the notes you wrote, and nothing else.", "Notes.Read"} {
		if !strings.Contains(text, want) {
			t.Errorf("the consent page does not show %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "as you (Notes.Read)") {
		t.Errorf("the consent page shows the generic line:\n%s", text)
	}
	user.Viewport(600, 700)
	user.Screenshot("consent-scope-texts")
	user.Consent(true)
	requireCode(t, rp.mustTake(t, user, "/cb"), "read")

	user.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"manage"},
		"scope": {"api://" + app.ClientID + "/Notes.Manage openid"}}))
	onPage(t, user, s, "/consent", `button[value="back"]`)
	if text := user.InnerText(); !strings.Contains(text, "Need admin approval") || user.Has(`button[value="accept"]`) {
		t.Errorf("the admin approval page:\n%s", text)
	}
	requireAccessible(t, user)
	user.Screenshot("consent-need-admin-approval")
	user.ClickLabel("Return to the application without granting consent")
	c := rp.mustTake(t, user, "/cb")
	if c.Params.Get("error") != "access_denied" || c.Params.Get("state") != "manage" ||
		!strings.Contains(c.Params.Get("error_description"), "administrator must grant consent") {
		t.Errorf("back to the app: %v", c.Params)
	}
}
