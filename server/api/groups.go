package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// Groups, their members, and app role assignments to users and groups, in
// Graph's shapes. Tessera's groups are all security groups.

type groupJSON struct {
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName"`
	Description     *string   `json:"description"`
	SecurityEnabled bool      `json:"securityEnabled"`
	MailEnabled     bool      `json:"mailEnabled"`
	GroupTypes      []string  `json:"groupTypes"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

func toGroupJSON(g store.Group) groupJSON {
	out := groupJSON{ID: g.ID, DisplayName: g.Name, SecurityEnabled: true, GroupTypes: []string{}, CreatedDateTime: g.CreatedAt}
	if g.Description != "" {
		out.Description = &g.Description
	}
	return out
}

func groupETag(g store.Group) string { return etag(g.UpdatedAt.UnixMilli()) }

func (api *API) listGroups(q *request) error {
	p, err := q.page()
	if err != nil {
		return err
	}
	search := strings.Trim(q.r.URL.Query().Get("$search"), `"`)
	if s, ok := strings.CutPrefix(search, "displayName:"); ok {
		search = s
	}
	if len(search) > 200 {
		return badRequest("$search is longer than 200 characters.")
	}
	page, err := q.admin.GroupsPage(q.r.Context(), q.tenant, search, p.after, p.top)
	if err != nil {
		return err
	}
	out := listResponse[groupJSON]{Value: []groupJSON{}}
	for _, g := range page.Groups {
		out.Value = append(out.Value, toGroupJSON(g))
	}
	if page.Next != "" {
		out.NextLink = q.nextLink(page.Next)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type createGroupJSON struct {
	DisplayName     string   `json:"displayName"`
	Description     string   `json:"description"`
	SecurityEnabled *bool    `json:"securityEnabled"`
	MailEnabled     *bool    `json:"mailEnabled"`
	MailNickname    string   `json:"mailNickname"` // Graph requires it; Tessera has no mail and ignores it
	GroupTypes      []string `json:"groupTypes"`
}

func (api *API) createGroup(q *request) error {
	var in createGroupJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	if (in.SecurityEnabled != nil && !*in.SecurityEnabled) || (in.MailEnabled != nil && *in.MailEnabled) || len(in.GroupTypes) > 0 {
		return badRequest("Tessera's groups are security groups: securityEnabled true, mailEnabled false, no groupTypes.")
	}
	g, err := q.admin.CreateGroup(q.r.Context(), q.tenant, admin.GroupOptions{Name: in.DisplayName, Description: in.Description})
	if err != nil {
		return err
	}
	q.w.Header().Set("Location", q.ep.Base+"/api/v1/groups/"+g.ID)
	q.w.Header().Set("ETag", groupETag(g))
	writeJSON(q.w, http.StatusCreated, toGroupJSON(g))
	return nil
}

func (q *request) group() (store.Group, error) {
	return q.admin.Group(q.r.Context(), q.tenant, q.r.PathValue("id"))
}

func (api *API) getGroup(q *request) error {
	g, err := q.group()
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", groupETag(g))
	writeJSON(q.w, http.StatusOK, toGroupJSON(g))
	return nil
}

type patchGroupJSON struct {
	DisplayName *string `json:"displayName"`
	Description *string `json:"description"`
}

func (api *API) patchGroup(q *request) error {
	var in patchGroupJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	g, err := q.group()
	if err != nil {
		return err
	}
	if err := q.checkIfMatch(groupETag(g)); err != nil {
		return err
	}
	if g, err = q.admin.PatchGroup(q.r.Context(), g, admin.GroupPatch{Name: in.DisplayName, Description: in.Description}); err != nil {
		return err
	}
	q.w.Header().Set("ETag", groupETag(g))
	writeJSON(q.w, http.StatusOK, toGroupJSON(g))
	return nil
}

func (api *API) deleteGroup(q *request) error {
	g, err := q.group()
	if err != nil {
		return err
	}
	if err := q.checkIfMatch(groupETag(g)); err != nil {
		return err
	}
	if err := q.admin.DeleteGroup(q.r.Context(), g); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberJSON is a group's member as Graph lists directoryObjects: its
// @odata.type says which kind it is.
type memberJSON struct {
	ODataType         string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

func toMemberJSON(p admin.Principal) memberJSON {
	if p.Type == store.PrincipalUser {
		return memberJSON{ODataType: "#microsoft.graph.user", ID: p.ID, DisplayName: p.Name, UserPrincipalName: p.Name}
	}
	return memberJSON{ODataType: "#microsoft.graph.group", ID: p.ID, DisplayName: p.Name}
}

func (api *API) listGroupMembers(q *request) error {
	p, err := q.page()
	if err != nil {
		return err
	}
	g, err := q.group()
	if err != nil {
		return err
	}
	page, err := q.admin.GroupMembersPage(q.r.Context(), q.tenant, g, p.after, p.top)
	if err != nil {
		return err
	}
	out := listResponse[memberJSON]{Value: []memberJSON{}}
	for _, m := range page.Members {
		out.Value = append(out.Value, toMemberJSON(m))
	}
	if page.Next != "" {
		out.NextLink = q.nextLink(page.Next)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// memberRef reads the body of a Graph reference and the object id its
// @odata.id ends with: …/users/{id}, …/groups/{id} or
// …/directoryObjects/{id}.
func (q *request) memberRef() (string, error) {
	var in memberRefJSON
	if err := q.decode(&in); err != nil {
		return "", err
	}
	ref := strings.TrimRight(in.ODataID, "/")
	i := strings.LastIndex(ref, "/")
	id := ref[i+1:]
	kind := ""
	if i > 0 {
		kind = ref[strings.LastIndex(ref[:i], "/")+1 : i]
	}
	if id == "" || (i >= 0 && kind != "users" && kind != "groups" && kind != "directoryObjects") {
		return "", badRequest("@odata.id must name a user or a group, e.g. …/users/{id} or …/groups/{id}.")
	}
	return id, nil
}

func (api *API) addGroupMember(q *request) error {
	g, err := q.group()
	if err != nil {
		return err
	}
	id, err := q.memberRef()
	if err != nil {
		return err
	}
	_, err = q.admin.AddGroupMember(q.r.Context(), q.tenant, g, id)
	return q.noContent(err)
}

func (api *API) removeGroupMember(q *request) error {
	g, err := q.group()
	if err != nil {
		return err
	}
	return q.noContent(q.admin.RemoveGroupMember(q.r.Context(), q.tenant, g, q.r.PathValue("member")))
}

// principal is the user or group the path names: /users/{id} (by id or
// username, as the other user calls) or /groups/{id}.
func (q *request) principal() (admin.Principal, error) {
	// {id} is one segment, so only a group's path holds "/groups/".
	if strings.Contains(q.r.URL.Path, "/groups/") {
		g, err := q.group()
		if err != nil {
			return admin.Principal{}, err
		}
		return admin.Principal{Type: store.PrincipalGroup, ID: g.ID, Name: g.Name}, nil
	}
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return admin.Principal{}, err
	}
	return admin.Principal{Type: store.PrincipalUser, ID: u.ID, Name: u.Username}, nil
}

func toPrincipalAssignmentJSON(a store.AppRoleAssignment, principalName, resourceName string) principalAssignmentJSON {
	t := "User"
	if a.PrincipalType == store.PrincipalGroup {
		t = "Group"
	}
	return principalAssignmentJSON{appRoleAssignmentJSON: appRoleAssignmentJSON{ID: a.ID, AppRoleID: a.Role, PrincipalID: a.PrincipalID,
		PrincipalType: t, ResourceID: a.ResourceID, CreatedDateTime: a.CreatedAt},
		PrincipalDisplayName: principalName, ResourceDisplayName: resourceName}
}

// principalAssignmentJSON is an app role assigned to a user or group, with
// the names Graph adds.
type principalAssignmentJSON struct {
	appRoleAssignmentJSON
	PrincipalDisplayName string `json:"principalDisplayName"`
	ResourceDisplayName  string `json:"resourceDisplayName"`
}

// principalAssignments is the user or group the path names with the app
// roles assigned to it.
func (q *request) principalAssignments() (admin.Principal, []store.AppRoleAssignment, error) {
	p, err := q.principal()
	if err != nil {
		return admin.Principal{}, nil, err
	}
	as, err := q.admin.AppRoleAssignments(q.r.Context(), q.tenant, p.ID, "")
	if err != nil {
		return admin.Principal{}, nil, err
	}
	return p, as, nil
}

func (api *API) listPrincipalAssignments(q *request) error {
	p, as, err := q.principalAssignments()
	if err != nil {
		return err
	}
	out := listResponse[principalAssignmentJSON]{Value: []principalAssignmentJSON{}}
	names := map[string]string{}
	for _, a := range as {
		if _, ok := names[a.ResourceID]; !ok {
			if app, err := q.admin.App(q.r.Context(), q.tenant, a.ResourceID); err == nil {
				names[a.ResourceID] = app.Name
			}
		}
		out.Value = append(out.Value, toPrincipalAssignmentJSON(a, p.Name, names[a.ResourceID]))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type assignJSON struct {
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	AppRoleID   string `json:"appRoleId"`
}

func (api *API) assignToPrincipal(q *request) error {
	var in assignJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	p, err := q.principal()
	if err != nil {
		return err
	}
	if in.PrincipalID != "" && !strings.EqualFold(in.PrincipalID, p.ID) {
		return badRequest("principalId must be the id of the %s in the path, %s.", p.Type, p.ID)
	}
	if in.ResourceID == "" || in.AppRoleID == "" {
		return badRequest("resourceId (the app's client id or App ID URI) and appRoleId (one of its roles, or %s for default access) are required.", admin.DefaultAccessRole)
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, in.ResourceID)
	if err != nil {
		return err
	}
	a, err := q.admin.AssignAppRole(q.r.Context(), q.tenant, app, p.ID, in.AppRoleID)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusCreated, toPrincipalAssignmentJSON(a, p.Name, app.Name))
	return nil
}

func (api *API) unassignFromPrincipal(q *request) error {
	p, as, err := q.principalAssignments()
	if err != nil {
		return err
	}
	// Looked up among the path's principal's only: by its id alone, one
	// principal's path would remove another's assignment.
	id := q.r.PathValue("assignment")
	i := slices.IndexFunc(as, func(a store.AppRoleAssignment) bool { return a.ID == id })
	if i < 0 {
		return apiError(http.StatusNotFound, "Request_ResourceNotFound", "No such app role assignment of this "+string(p.Type)+".")
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, as[i].ResourceID)
	if err != nil {
		return err
	}
	return q.noContent(q.admin.UnassignAppRole(q.r.Context(), q.tenant, app, as[i].ID))
}

// listAppRoleAssignedTo lists the users and groups assigned the app's
// roles (Graph's servicePrincipal appRoleAssignedTo: Tessera's app is
// also its service principal).
func (api *API) listAppRoleAssignedTo(q *request) error {
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	as, err := q.admin.AppRoleAssignments(q.r.Context(), q.tenant, "", app.ClientID)
	if err != nil {
		return err
	}
	out := listResponse[principalAssignmentJSON]{Value: []principalAssignmentJSON{}}
	for _, a := range as {
		out.Value = append(out.Value, toPrincipalAssignmentJSON(a, a.PrincipalName, app.Name))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type memberObjectsJSON struct {
	SecurityEnabledOnly *bool `json:"securityEnabledOnly"`
}

// getMemberObjects is the endpoint a groups overage claim names: the ids
// of the user's groups, one level of nesting included.
func (api *API) getMemberObjects(q *request) error {
	var in memberObjectsJSON
	if q.r.ContentLength != 0 {
		if err := q.decode(&in); err != nil {
			return err
		}
	}
	// By id only, and with a group reader's permission (GroupMember.Read.All
	// is enough): the resource server resolving an overage need not
	// read users.
	p, err := q.admin.Principal(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if p.Type != store.PrincipalUser {
		return apiError(http.StatusNotFound, "Request_ResourceNotFound", "No user "+clip(q.r.PathValue("id"))+".")
	}
	ids, err := q.admin.MemberGroupIDs(q.r.Context(), q.tenant, p)
	if err != nil {
		return err
	}
	out := listResponse[string]{Value: []string{}}
	out.Value = append(out.Value, ids...)
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// transitiveMemberOf lists the user's groups as objects.
func (api *API) transitiveMemberOf(q *request) error {
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	ids, err := q.admin.MemberGroupIDs(q.r.Context(), q.tenant, admin.Principal{Type: store.PrincipalUser, ID: u.ID, Name: u.Username})
	if err != nil {
		return err
	}
	out := listResponse[memberJSON]{Value: []memberJSON{}}
	for _, id := range ids {
		g, err := q.admin.Group(q.r.Context(), q.tenant, id)
		if err != nil {
			continue // deleted since
		}
		out.Value = append(out.Value, toMemberJSON(admin.Principal{Type: store.PrincipalGroup, ID: g.ID, Name: g.Name}))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}
