package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// jwtClaims decodes a JWT's payload (the token came straight from the
// token endpoint over TLS; its signature is the protocol tests' business).
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func stringsOf(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestPortalGroupsAndAppRoles: in Chromium, an administrator creates a
// group in the portal, adds the demo user, assigns it an app role on the
// app's Users and groups page, requires assignment and adds the groups
// claim; the user's ID token then carries the role and the group, and once
// out of the group the user is refused with AADSTS50105.
func TestPortalGroupsAndAppRoles(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	rp := newRelyingParty(t)
	app := webApp(t, s, rp, "E2E roles")
	s.CLI(t, "app", "expose", "--tenant", s.Tenant, "--app", app.ClientID, "--role", "E2E.Reader")

	b := harness.NewBrowser(t)
	b.Navigate(s.Demo.PortalURL)
	b.Login(s.Demo.AdminUsername, s.Demo.AdminPassword)
	b.WaitTitle("App registrations")
	shot := func(name string) {
		t.Helper()
		requireAccessible(t, b)
		b.Viewport(1280, 900)
		b.Screenshot("portal-groups-" + name)
		b.Viewport(390, 844)
		b.Screenshot("portal-groups-390-" + name)
		var overflow bool
		b.Eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`, &overflow)
		if overflow {
			t.Errorf("%s scrolls sideways at 390 px", name)
		}
		b.Viewport(1000, 900)
	}

	b.ClickLabel("Groups")
	shot("list")
	b.ClickLabel("New group")
	shot("new")
	b.FillLabel("Group name", "E2E Readers")
	b.FillLabel("Description", "Readers of the E2E app")
	b.ClickLabel("Create")
	b.WaitTitle("E2E Readers")
	b.FillLabel("User (username) or group (name) to add", s.Demo.Username)
	b.ClickLabel("Add member")
	if !strings.Contains(b.Text(), "Saved.") || !strings.Contains(b.Text(), s.Demo.Username) {
		t.Fatalf("after Add member:\n%s", b.Text())
	}
	shot("group")
	groupID := strings.TrimPrefix(b.Location()[strings.LastIndex(b.Location(), "/groups/"):], "/groups/")
	groupID = strings.SplitN(groupID, "?", 2)[0]

	b.ClickLabel("App registrations")
	b.ClickLabel("E2E roles")
	b.ClickLabel("Users and groups")
	shot("users-and-groups-empty")
	b.FillLabel("User (username) or group (name)", "E2E Readers")
	b.SelectLabel("Role", "E2E.Reader")
	b.ClickLabel("Assign")
	b.CheckLabel("Yes")
	b.ClickLabel("Save assignment setting")
	if text := b.Text(); !strings.Contains(text, "E2E Readers") || !strings.Contains(text, "E2E.Reader") {
		t.Fatalf("after Assign:\n%s", text)
	}
	shot("users-and-groups")
	b.ClickLabel("Token configuration")
	b.CheckLabel("Security groups")
	b.ClickLabel("Save groups claim")
	if !strings.Contains(b.Text(), "Saved.") {
		t.Fatalf("after Save groups claim:\n%s", b.Text())
	}
	shot("token-configuration")
	// The user's page shows the group, from where they stand.
	b.ClickLabel("Users")
	b.ClickLabel(s.Demo.Username)
	b.WaitTitle(s.Demo.Username)
	if text := b.Text(); !strings.Contains(text, "E2E Readers\tDirect") && !strings.Contains(text, "E2E Readers Direct") {
		t.Errorf("the user's page does not list the group:\n%s", text)
	}
	shot("user")

	// The user, in a browser of their own.
	u := harness.NewBrowser(t)
	c := signIn(t, u, s, rp, authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"roles"}}))
	tokens := redeem(t, s, app, rp.URL("/cb"), requireCode(t, c, "roles"))
	id := jwtClaims(t, tokens["id_token"].(string))
	if roles, _ := id["roles"].([]any); len(roles) != 1 || roles[0] != "E2E.Reader" {
		t.Errorf("ID token roles: %v", id["roles"])
	}
	if groups, _ := id["groups"].([]any); len(groups) != 1 || groups[0] != groupID {
		t.Errorf("ID token groups: %v, want [%s]", id["groups"], groupID)
	}
	at := jwtClaims(t, tokens["access_token"].(string))
	if roles, _ := at["roles"].([]any); !slices.Contains(stringsOf(roles), "E2E.Reader") {
		t.Errorf("access token roles: %v", at["roles"])
	}

	// Out of the group: refused at the next sign-in, in the same session.
	b.ClickLabel("Groups")
	b.ClickLabel("E2E Readers")
	b.ClickLabel("Remove")
	if !strings.Contains(b.Text(), "No members yet.") {
		t.Fatalf("still a member:\n%s", b.Text())
	}
	u.Navigate(authorizeURL(s, url.Values{"client_id": {app.ClientID}, "redirect_uri": {rp.URL("/cb")}, "state": {"again"}}))
	refused := rp.mustTake(t, u, "/cb")
	if refused.Params.Get("error") != "access_denied" || !strings.HasPrefix(refused.Params.Get("error_description"), "AADSTS50105") || refused.Params.Get("state") != "again" {
		t.Errorf("an unassigned user's sign-in: %v", refused.Params)
	}
}
