package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// TestAdminAPIGroups walks groups, members and app role assignments over
// HTTP, every answer checked against the OpenAPI document, every change
// in the audit log.
func TestAdminAPIGroups(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	tok := e.appToken("group admin", true, admin.PermGroupReadWrite, admin.PermApplicationReadWrite, admin.PermUserReadWrite)
	reader := e.appToken("overage resolver", true, admin.PermGroupMemberRead)

	r := e.call("POST", "/groups", tok, map[string]any{"displayName": "Engineering", "description": "Builders", "mailNickname": "eng", "securityEnabled": true, "mailEnabled": false})
	e.expect("create group", r, http.StatusCreated, "")
	eng := r.json(t)
	engID := eng["id"].(string)
	if r.header.Get("ETag") == "" || r.header.Get("Location") != e.authority()+"/api/v1/groups/"+engID {
		t.Errorf("create: ETag %q Location %q", r.header.Get("ETag"), r.header.Get("Location"))
	}
	staleTag := r.header.Get("ETag")
	all := e.call("POST", "/groups", tok, map[string]any{"displayName": "All staff"}).json(t)
	allID := all["id"].(string)
	e.expect("mail group", e.call("POST", "/groups", tok, map[string]any{"displayName": "x", "mailEnabled": true}), http.StatusBadRequest, "Request_BadRequest")

	// Paging: one per page, in name order.
	first := e.call("GET", "/groups?$top=1", tok, nil).json(t)
	if v := first["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != allID || first["@odata.nextLink"] == nil {
		t.Fatalf("first page: %v", first)
	}
	next := strings.TrimPrefix(first["@odata.nextLink"].(string), e.authority()+"/api/v1")
	second := e.call("GET", next, tok, nil).json(t)
	if v := second["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != engID || second["@odata.nextLink"] != nil {
		t.Fatalf("second page: %v", second)
	}
	if found := e.call("GET", `/groups?$search="displayName:engin"`, tok, nil).json(t)["value"].([]any); len(found) != 1 {
		t.Errorf("search: %v", found)
	}

	// Rename, with and without the right ETag.
	e.expect("rename", e.call("PATCH", "/groups/"+engID, tok, map[string]any{"displayName": "Engineers"}, "If-Match", staleTag), http.StatusOK, "")
	e.expect("stale rename", e.call("PATCH", "/groups/"+engID, tok, map[string]any{"displayName": "Again"}, "If-Match", staleTag), http.StatusPreconditionFailed, "")
	if got := e.call("GET", "/groups/"+engID, tok, nil).json(t)["displayName"]; got != "Engineers" {
		t.Errorf("renamed to %v", got)
	}

	// Members: alice in Engineers, Engineers in All staff.
	e.expect("add user", e.call("POST", "/groups/"+engID+"/members/$ref", tok, map[string]any{"@odata.id": e.authority() + "/api/v1/users/" + e.user.ID}), http.StatusNoContent, "")
	e.expect("add again", e.call("POST", "/groups/"+engID+"/members/$ref", tok, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + e.user.ID}), http.StatusBadRequest, "")
	e.expect("nest", e.call("POST", "/groups/"+allID+"/members/$ref", tok, map[string]any{"@odata.id": "…/groups/" + engID}), http.StatusNoContent, "")
	e.expect("nest deeper", e.call("POST", "/groups/"+engID+"/members/$ref", tok, map[string]any{"@odata.id": "…/groups/" + allID}), http.StatusBadRequest, "")
	e.expect("itself", e.call("POST", "/groups/"+allID+"/members/$ref", tok, map[string]any{"@odata.id": "…/groups/" + allID}), http.StatusBadRequest, "")
	members := e.call("GET", "/groups/"+engID+"/members", tok, nil).json(t)["value"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("members: %v", members)
	}
	// Members page: the group first, then the user.
	e.expect("add user to all", e.call("POST", "/groups/"+allID+"/members/$ref", tok, map[string]any{"@odata.id": "…/users/" + e.user.ID}), http.StatusNoContent, "")
	page := e.call("GET", "/groups/"+allID+"/members?$top=1", tok, nil).json(t)
	if v := page["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != engID || page["@odata.nextLink"] == nil {
		t.Fatalf("first page of members: %v", page)
	}
	page = e.call("GET", strings.TrimPrefix(page["@odata.nextLink"].(string), e.authority()+"/api/v1"), tok, nil).json(t)
	if v := page["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != e.user.ID || page["@odata.nextLink"] != nil {
		t.Fatalf("second page of members: %v", page)
	}
	e.expect("remove user from all", e.call("DELETE", "/groups/"+allID+"/members/"+e.user.ID+"/$ref", tok, nil), http.StatusNoContent, "")

	// Roles: the API's Files.ReadAll to All staff, through which alice
	// holds it; the overage endpoint lists both groups.
	r = e.call("POST", "/groups/"+allID+"/appRoleAssignments", tok, map[string]any{"principalId": allID, "resourceId": "api://files", "appRoleId": "Files.ReadAll"})
	e.expect("assign to group", r, http.StatusCreated, "")
	assignment := r.json(t)["id"].(string)
	e.expect("assign again", e.call("POST", "/groups/"+allID+"/appRoleAssignments", tok, map[string]any{"resourceId": e.api.ClientID, "appRoleId": "Files.ReadAll"}), http.StatusBadRequest, "")
	e.expect("undefined role", e.call("POST", "/users/"+e.user.ID+"/appRoleAssignments", tok, map[string]any{"resourceId": e.api.ClientID, "appRoleId": "Files.Nope"}), http.StatusBadRequest, "")
	e.expect("admin API role to a user", e.call("POST", "/users/"+e.user.ID+"/appRoleAssignments", tok, map[string]any{"resourceId": admin.AdminAPIIdentifier, "appRoleId": admin.PermDirectoryReadWrite}), http.StatusBadRequest, "")
	e.expect("other principal in body", e.call("POST", "/users/"+e.user.ID+"/appRoleAssignments", tok, map[string]any{"principalId": allID, "resourceId": e.api.ClientID, "appRoleId": "Files.ReadAll"}), http.StatusBadRequest, "")
	e.expect("default access to a user", e.call("POST", "/users/"+e.user.Username+"/appRoleAssignments", tok, map[string]any{"resourceId": e.web.ClientID, "appRoleId": admin.DefaultAccessRole}), http.StatusCreated, "")
	held := e.call("GET", "/groups/"+allID+"/appRoleAssignments", tok, nil).json(t)["value"].([]any)
	if len(held) != 1 || held[0].(map[string]any)["resourceDisplayName"] != "Files API" {
		t.Errorf("the group's appRoleAssignments: %v", held)
	}
	held = e.call("GET", "/users/"+e.user.Username+"/appRoleAssignments", tok, nil).json(t)["value"].([]any)
	if len(held) != 1 || held[0].(map[string]any)["appRoleId"] != admin.DefaultAccessRole {
		t.Errorf("alice's appRoleAssignments: %v", held)
	}
	assigned := e.call("GET", "/applications/"+e.api.ClientID+"/appRoleAssignedTo", tok, nil).json(t)["value"].([]any)
	if len(assigned) != 1 || assigned[0].(map[string]any)["principalType"] != "Group" || assigned[0].(map[string]any)["principalDisplayName"] != "All staff" {
		t.Errorf("appRoleAssignedTo: %v", assigned)
	}
	ids := e.call("POST", "/users/"+e.user.ID+"/getMemberObjects", reader, map[string]any{"securityEnabledOnly": true}).json(t)["value"].([]any)
	want := []string{engID, allID}
	slices.Sort(want)
	if len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Errorf("getMemberObjects: %v, want %v", ids, want)
	}
	e.expect("reader cannot write", e.call("POST", "/groups", reader, map[string]any{"displayName": "x"}), http.StatusForbidden, "")
	e.expect("auditor cannot read", e.call("GET", "/groups", e.auditor, nil), http.StatusForbidden, "")
	if v := e.call("GET", "/users/"+e.user.ID+"/transitiveMemberOf", tok, nil).json(t)["value"].([]any); len(v) != 2 {
		t.Errorf("transitiveMemberOf: %v", v)
	}

	// The app's settings.
	app := e.call("PATCH", "/applications/"+e.web.ClientID, tok, map[string]any{"appRoleAssignmentRequired": true, "groupMembershipClaims": "SecurityGroup"}).json(t)
	if app["appRoleAssignmentRequired"] != true || app["groupMembershipClaims"] != "SecurityGroup" {
		t.Errorf("app settings: %v %v", app["appRoleAssignmentRequired"], app["groupMembershipClaims"])
	}
	e.expect("bad groups claim", e.call("PATCH", "/applications/"+e.web.ClientID, tok, map[string]any{"groupMembershipClaims": "DistributionList"}), http.StatusBadRequest, "")

	// Hostile: ids that are no group, another tenant's group, oversized.
	other, err := e.admin.CreateTenant(ctx, "fabrikam", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := e.admin.CreateGroup(ctx, other, admin.GroupOptions{Name: "Foreign"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/groups/" + foreign.ID, "/groups/not-a-uuid", "/groups/" + strings.Repeat("a", 2000), "/groups/%00", "/groups/" + e.user.ID} {
		e.expect("GET "+path[:min(len(path), 40)], e.call("GET", path, tok, nil), http.StatusNotFound, "")
	}
	foreignApp, err := e.admin.RegisterApp(ctx, other, admin.RegisterOptions{Name: "Foreign app"})
	if err != nil {
		t.Fatal(err)
	}
	e.expect("foreign resource", e.call("POST", "/users/"+e.user.ID+"/appRoleAssignments", tok, map[string]any{"resourceId": foreignApp.ClientID, "appRoleId": admin.DefaultAccessRole}), http.StatusNotFound, "")
	e.expect("foreign assignee", e.call("POST", "/groups/"+foreign.ID+"/appRoleAssignments", tok, map[string]any{"resourceId": e.api.ClientID, "appRoleId": "Files.ReadAll"}), http.StatusNotFound, "")
	e.expect("foreign member list", e.call("GET", "/groups/"+foreign.ID+"/members", tok, nil), http.StatusNotFound, "")
	e.expect("bad skiptoken", e.call("GET", "/groups/"+engID+"/members?$skiptoken=not*base64", tok, nil), http.StatusBadRequest, "")
	e.expect("foreign member", e.call("POST", "/groups/"+engID+"/members/$ref", tok, map[string]any{"@odata.id": "…/groups/" + foreign.ID}), http.StatusNotFound, "")
	e.expect("member ref to an app", e.call("POST", "/groups/"+engID+"/members/$ref", tok, map[string]any{"@odata.id": "…/applications/" + e.web.ClientID}), http.StatusBadRequest, "")
	e.expect("empty ref", e.call("POST", "/groups/"+engID+"/members/$ref", tok, map[string]any{"@odata.id": ""}), http.StatusBadRequest, "")
	e.expect("long name", e.call("POST", "/groups", tok, map[string]any{"displayName": strings.Repeat("n", 300)}), http.StatusBadRequest, "")
	e.expect("long description", e.call("POST", "/groups", tok, map[string]any{"displayName": "x", "description": strings.Repeat("d", 2000)}), http.StatusBadRequest, "")
	e.expect("invisible name", e.call("POST", "/groups", tok, map[string]any{"displayName": "Ad\u202emins"}), http.StatusBadRequest, "")
	e.expect("remove a non-member", e.call("DELETE", "/groups/"+engID+"/members/"+foreign.ID+"/$ref", tok, nil), http.StatusNotFound, "")
	e.expect("remove another's assignment", e.call("DELETE", "/users/"+e.user.ID+"/appRoleAssignments/"+assignment, tok, nil), http.StatusNotFound, "")

	// Undo, then delete.
	e.expect("unassign", e.call("DELETE", "/groups/"+allID+"/appRoleAssignments/"+assignment, tok, nil), http.StatusNoContent, "")
	e.expect("remove member", e.call("DELETE", "/groups/"+allID+"/members/"+engID+"/$ref", tok, nil), http.StatusNoContent, "")
	e.expect("delete", e.call("DELETE", "/groups/"+engID, tok, nil), http.StatusNoContent, "")
	e.expect("deleted", e.call("GET", "/groups/"+engID, tok, nil), http.StatusNotFound, "")

	entries, err := e.admin.AuditLog(ctx, e.tenant, store.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, en := range entries {
		seen[en.Activity]++
	}
	for _, a := range []string{"Add group", "Update group", "Delete group", "Add member to group", "Remove member from group",
		"Add app role assignment", "Remove app role assignment", "Update application"} {
		if seen[a] == 0 {
			t.Errorf("no %q in the audit log: %v", a, seen)
		}
	}
}
