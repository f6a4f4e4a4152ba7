package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/oauth"
)

// claimList reads a JSON array claim as strings.
func claimList(claims map[string]any, name string) []string {
	raw, _ := claims[name].([]any)
	out := []string{}
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

// TestRolesAndGroupsInUserTokens: roles held in person and through a
// nested group reach access and ID tokens, a refresh sees changes at once,
// a user in more groups than the limit gets the overage claim, and app
// tokens keep their own roles.
func TestRolesAndGroupsInUserTokens(t *testing.T) {
	e := newEnv(t, func(c *oauth.Config) { c.GroupsOverage = 3 })
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	roles := []string{"Web.Admin", "Web.Viewer"}
	claims := "SecurityGroup"
	e.web, err = e.admin.PatchApp(ctx, e.web, admin.AppPatch{Roles: &roles, GroupMembershipClaims: &claims})
	must(err)
	all := "All"
	e.api, err = e.admin.PatchApp(ctx, e.api, admin.AppPatch{GroupMembershipClaims: &all})
	must(err)

	// alice is in staff, which is in everyone (one level of nesting).
	staff, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Staff"})
	must(err)
	everyone, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Everyone"})
	must(err)
	_, err = e.admin.AddGroupMember(ctx, e.tenant, staff, e.user.ID)
	must(err)
	_, err = e.admin.AddGroupMember(ctx, e.tenant, everyone, staff.ID)
	must(err)
	// Files.ReadAll through the outer group; Web.Admin in person;
	// Web.Viewer to a group alice is not in.
	_, err = e.admin.AssignAppRole(ctx, e.tenant, e.api, everyone.ID, "Files.ReadAll")
	must(err)
	direct, err := e.admin.AssignAppRole(ctx, e.tenant, e.web, e.user.ID, "Web.Admin")
	must(err)
	others, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Others"})
	must(err)
	_, err = e.admin.AssignAppRole(ctx, e.tenant, e.web, others.ID, "Web.Viewer")
	must(err)
	groups := sorted(staff.ID, everyone.ID)

	// The native app's token for the Files API: the API's roles and groups.
	_, at := e.verifyJWT(e.userTokenFor("api://files/Files.Read"), "at+jwt", e.api.ClientID)
	if got := claimList(at, "roles"); !slices.Equal(got, []string{"Files.ReadAll"}) {
		t.Errorf("access token roles = %v, want [Files.ReadAll]", got)
	}
	if got := claimList(at, "groups"); !slices.Equal(got, groups) {
		t.Errorf("access token groups = %v, want %v", got, groups)
	}

	// The web app's own tokens: its roles, in the ID token too.
	resp := webTokens(e, "openid profile offline_access")
	id := e.verifyIDToken(resp["id_token"].(string), e.web.ClientID, "")
	if got := claimList(id, "roles"); !slices.Equal(got, []string{"Web.Admin"}) {
		t.Errorf("ID token roles = %v, want [Web.Admin]", got)
	}
	if got := claimList(id, "groups"); !slices.Equal(got, groups) {
		t.Errorf("ID token groups = %v, want %v", got, groups)
	}
	_, own := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.web.ClientID)
	if got := claimList(own, "roles"); !slices.Equal(got, []string{"Web.Admin"}) {
		t.Errorf("web access token roles = %v, want [Web.Admin]", got)
	}

	// A refresh reads them afresh: Web.Admin gone, Web.Viewer through
	// others, which alice joins.
	must(e.admin.UnassignAppRole(ctx, e.tenant, e.web, direct.ID))
	_, err = e.admin.AddGroupMember(ctx, e.tenant, others, e.user.ID)
	must(err)
	status, r1 := e.refresh(resp["refresh_token"].(string), nil)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, r1)
	}
	id = e.verifyIDToken(r1["id_token"].(string), e.web.ClientID, "")
	if got := claimList(id, "roles"); !slices.Equal(got, []string{"Web.Viewer"}) {
		t.Errorf("refreshed ID token roles = %v, want [Web.Viewer]", got)
	}
	if got, want := claimList(id, "groups"), sorted(staff.ID, everyone.ID, others.ID); !slices.Equal(got, want) {
		t.Errorf("refreshed ID token groups = %v, want %v", got, want)
	}

	// A fourth group: past the limit of 3, the overage claim instead.
	fourth, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Fourth"})
	must(err)
	_, err = e.admin.AddGroupMember(ctx, e.tenant, fourth, e.user.ID)
	must(err)
	status, r2 := e.refresh(r1["refresh_token"].(string), nil)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, r2)
	}
	id = e.verifyIDToken(r2["id_token"].(string), e.web.ClientID, "")
	if _, ok := id["groups"]; ok {
		t.Errorf("an overage ID token names groups: %v", id["groups"])
	}
	names, _ := id["_claim_names"].(map[string]any)
	sources, _ := id["_claim_sources"].(map[string]any)
	src, _ := sources["src1"].(map[string]any)
	endpoint := e.authority() + "/api/v1/users/" + e.user.ID + "/getMemberObjects"
	if names["groups"] != "src1" || src["endpoint"] != endpoint {
		t.Errorf("overage claims: _claim_names %v _claim_sources %v, want groups→src1→%s", names, sources, endpoint)
	}

	// Client credentials: the daemon's own roles, no groups.
	status, cc, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	if status != http.StatusOK {
		t.Fatalf("client credentials: %d %v", status, cc)
	}
	_, app := e.verifyJWT(cc["access_token"].(string), "at+jwt", e.api.ClientID)
	if got := claimList(app, "roles"); !slices.Equal(got, []string{"Files.ReadAll"}) || app["groups"] != nil {
		t.Errorf("app token roles %v groups %v, want [Files.ReadAll] and none", got, app["groups"])
	}
}

// TestAssignmentRequired: an app that requires assignment lets in only
// users assigned to it, in person or through a group; others get
// access_denied with 50105 at the redirect URI, on the device page, and
// when refreshing after their assignment was removed.
func TestAssignmentRequired(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// alice holds a refresh token from before the app required assignment.
	rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
	required := true
	var err error
	e.web, err = e.admin.PatchApp(ctx, e.web, admin.AppPatch{AppRoleAssignmentRequired: &required})
	must(err)

	// Refused right after signing in, not asked to consent first.
	b0 := e.browser()
	o := b0.Login(b0.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid profile", nil)), "alice@contoso.test", e.password)
	if o.Page == "consent" || o.Callback == nil {
		t.Fatalf("an unassigned user was not refused at once: page %q", o.Page)
	}
	if o.Params.Get("error") != "access_denied" || !strings.HasPrefix(o.Params.Get("error_description"), "AADSTS50105:") || o.Params.Get("code") != "" {
		t.Fatalf("unassigned sign-in: %v", o.Params)
	}
	if o.Params.Get("state") != "xyz" {
		t.Errorf("the refusal lost the state: %v", o.Params)
	}
	status, resp := e.refresh(rt, nil)
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || !slices.Contains(resp["error_codes"].([]any), any(float64(oauth.CodeNotAssigned))) {
		t.Fatalf("unassigned refresh: %d %v", status, resp)
	}

	// Default access through a group lets her in.
	g, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Web users"})
	must(err)
	_, err = e.admin.AddGroupMember(ctx, e.tenant, g, e.user.ID)
	must(err)
	as, err := e.admin.AssignAppRole(ctx, e.tenant, e.web, g.ID, admin.DefaultAccessRole)
	must(err)
	if code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid", nil); code == "" {
		t.Fatal("no code for an assigned user")
	}
	status, resp = e.refresh(rt, nil)
	if status != http.StatusOK {
		t.Fatalf("assigned refresh: %d %v", status, resp)
	}
	if id := e.verifyIDToken(resp["id_token"].(string), e.web.ClientID, ""); id["roles"] != nil {
		t.Errorf("default access shows as a role: %v", id["roles"])
	}

	// Removed again: the device flow is refused on the device page.
	must(e.admin.UnassignAppRole(ctx, e.tenant, e.web, as.ID))
	allow := true
	e.web, err = e.admin.PatchApp(ctx, e.web, admin.AppPatch{AllowPublicClientFlows: &allow})
	must(err)
	status, dc, _ := e.post(e.authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {e.web.ClientID}, "scope": {"openid"}})
	if status != http.StatusOK {
		t.Fatalf("devicecode: %d %v", status, dc)
	}
	b := e.browser()
	o = b.Get(dc["verification_uri"].(string))
	o = b.Submit(o, map[string]string{"user_code": dc["user_code"].(string)})
	if o.Page == "login" {
		o = b.Login(o, "alice@contoso.test", e.password)
	}
	if o.Page == "consent" {
		o = b.Consent(o, "accept")
	}
	if !strings.Contains(o.Body, "AADSTS50105") {
		t.Fatalf("device approval of an unassigned user: status %d\n%s", o.Status, o.Body)
	}
	status, poll, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {e.web.ClientID}, "device_code": {dc["device_code"].(string)}})
	if status == http.StatusOK || poll["access_token"] != nil {
		t.Fatalf("a refused device got tokens: %d %v", status, poll)
	}
}
