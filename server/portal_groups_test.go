package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// TestPortalGroups: the Groups page over HTTP: New group, add a user and a
// group as members, remove one, a refused form, delete; each audited.
func TestPortalGroups(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	list := u.Get(u.base + "/groups")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "<h1>Groups</h1>") || !strings.Contains(list.Body, `aria-current="page">Groups</a>`) {
		t.Fatalf("groups page: %d\n%s", list.Status, list.Body)
	}
	form := u.Get(u.base + "/groups/new")
	page := u.post(form, "/groups/new", url.Values{"name": {"Engineering"}, "description": {"Builders"}})
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "<h1>Engineering</h1>") {
		t.Fatalf("after New group: %d\n%s", page.Status, page.Body)
	}
	groupURL := page.URL.Path
	staff, err := e.admin.CreateGroup(t.Context(), e.tenant, admin.GroupOptions{Name: "Staff"})
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(groupURL, "/contoso/portal")
	page = u.post(page, path, url.Values{"action": {"add-member"}, "member": {"alice@contoso.test"}})
	page = u.post(page, path, url.Values{"action": {"add-member"}, "member": {"Staff"}})
	if !strings.Contains(page.Body, "Saved.") || !strings.Contains(page.Body, ">alice@contoso.test</a>") || !strings.Contains(page.Body, ">Staff</a>") {
		t.Fatalf("members not shown:\n%s", page.Body)
	}
	refused := u.post(page, path, url.Values{"action": {"add-member"}, "member": {"nobody"}})
	if refused.Status != http.StatusBadRequest || !strings.Contains(refused.Body, "No user or group nobody") {
		t.Errorf("unknown member: %d", refused.Status)
	}
	page = u.post(page, path, url.Values{"action": {"remove-member"}, "member": {staff.ID}})
	if strings.Contains(page.Body, ">Staff</a>") {
		t.Errorf("Staff still a member")
	}
	if noCSRF := u.PostForm(u.base+path, url.Values{"action": {"delete"}, "confirm": {"Engineering"}}); noCSRF.Status == http.StatusSeeOther || noCSRF.Status == http.StatusOK && strings.Contains(noCSRF.Body, "<h1>Groups</h1>") {
		t.Errorf("a form without CSRF deleted the group: %d", noCSRF.Status)
	}
	page = u.post(page, path, url.Values{"action": {"delete"}, "confirm": {"Engineering"}})
	if !strings.Contains(page.Body, "<h1>Groups</h1>") || strings.Contains(page.Body, "Engineering") {
		t.Errorf("after delete: %d\n%s", page.Status, page.Body)
	}
}

// TestPortalAppAssignments: an app's Users and groups page assigns roles
// and default access and requires assignment; Token configuration adds
// the groups claim; the tokens show both.
func TestPortalAppAssignments(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	ctx := t.Context()
	roles := []string{"Web.Admin"}
	var err error
	if e.web, err = e.admin.PatchApp(ctx, e.web, admin.AppPatch{Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	g, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Admins"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AddGroupMember(ctx, e.tenant, g, e.user.ID); err != nil {
		t.Fatal(err)
	}
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	path := "/apps/" + e.web.ClientID + "/assignments"
	page := u.Get(u.base + path)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "<h1>Users and groups</h1>") || !strings.Contains(page.Body, "No user or group is assigned.") {
		t.Fatalf("Users and groups: %d\n%s", page.Status, page.Body)
	}
	page = u.post(page, path, url.Values{"action": {"assign"}, "principal": {"Admins"}, "role": {"Web.Admin"}})
	page = u.post(page, path, url.Values{"action": {"assignment-required"}, "assignment_required": {"yes"}})
	if !strings.Contains(page.Body, ">Admins</a>") || !strings.Contains(page.Body, `id="required-yes" type="radio" name="assignment_required" value="yes" aria-describedby="required-hint" checked`) {
		t.Fatalf("after assigning:\n%s", page.Body)
	}
	if gp := u.Get(u.base + "/groups/" + g.ID); !strings.Contains(gp.Body, ">Web App</a></td><td>Web.Admin</td>") {
		t.Errorf("the group's page does not list its app role:\n%s", gp.Body)
	}
	if bad := u.post(page, path, url.Values{"action": {"assign"}, "principal": {"Admins"}, "role": {"Nope"}}); bad.Status != http.StatusBadRequest {
		t.Errorf("an undefined role: %d", bad.Status)
	}
	tokens := u.Get(u.base + "/apps/" + e.web.ClientID + "/tokens")
	tokens = u.post(tokens, "/apps/"+e.web.ClientID+"/tokens", url.Values{"action": {"groups-claim"}, "groups_claim": {"SecurityGroup"}})
	if !strings.Contains(tokens.Body, `value="SecurityGroup" aria-describedby="groups-hint" checked`) {
		t.Fatalf("groups claim not saved:\n%s", tokens.Body)
	}
	id := e.verifyIDToken(webTokens(e, "openid")["id_token"].(string), e.web.ClientID, "")
	if got := claimList(id, "roles"); len(got) != 1 || got[0] != "Web.Admin" {
		t.Errorf("roles %v", got)
	}
	if got := claimList(id, "groups"); len(got) != 1 || got[0] != g.ID {
		t.Errorf("groups %v", got)
	}
	// Removing the assignment locks alice out of the app that requires it.
	as, err := e.admin.AppRoleAssignments(ctx, e.tenant, "", e.web.ClientID)
	if err != nil || len(as) != 1 {
		t.Fatalf("%v %v", as, err)
	}
	page = u.post(page, path, url.Values{"action": {"unassign"}, "assignment": {as[0].ID}})
	if !strings.Contains(page.Body, "No user or group is assigned.") {
		t.Fatalf("after removing:\n%s", page.Body)
	}
	o := e.browser().SignIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil), "alice@contoso.test", e.password)
	if o.Params.Get("error") != "access_denied" {
		t.Errorf("unassigned sign-in: %v", o.Params)
	}
}

// TestPortalUserGroupsAndApps: a user's page lists the groups they belong
// to, directly and through a group, and the app roles assigned to them in
// person, each linking to its page.
func TestPortalUserGroupsAndApps(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	ctx := t.Context()
	roles := []string{"Web.Reader"}
	var err error
	if e.web, err = e.admin.PatchApp(ctx, e.web, admin.AppPatch{Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	eng, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Engineering"})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := e.admin.CreateGroup(ctx, e.tenant, admin.GroupOptions{Name: "Staff"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		group  store.Group
		member string
	}{{eng, e.user.ID}, {staff, eng.ID}} {
		if _, err := e.admin.AddGroupMember(ctx, e.tenant, m.group, m.member); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.admin.AssignAppRole(ctx, e.tenant, e.web, e.user.ID, "Web.Reader"); err != nil {
		t.Fatal(err)
	}
	bob, _, err := e.admin.CreateUser(ctx, e.tenant, admin.UserOptions{Username: "bob@contoso.test", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}

	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	page := u.Get(u.base + "/users/" + e.user.ID)
	for _, want := range []string{
		`<a href="/contoso/portal/groups/` + eng.ID + `">Engineering</a></td><td>Direct</td>`,
		`<a href="/contoso/portal/groups/` + staff.ID + `">Staff</a></td><td>Through Engineering</td>`,
		`<a href="/contoso/portal/apps/` + e.web.ClientID + `/assignments">Web App</a></td><td>Web.Reader</td>`,
	} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("alice's page lacks %s\n%s", want, page.Body)
		}
	}
	page = u.Get(u.base + "/users/" + bob.ID)
	if !strings.Contains(page.Body, "Not a member of any group.") || !strings.Contains(page.Body, "No app role is assigned to this user in person.") {
		t.Errorf("bob's page:\n%s", page.Body)
	}
}
