package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// Users, directory roles and the audit logs, in Graph's shapes.

type passwordProfileJSON struct {
	Password string `json:"password,omitempty"`
}

type userJSON struct {
	ID                string               `json:"id"`
	UserPrincipalName string               `json:"userPrincipalName"`
	DisplayName       string               `json:"displayName"`
	Mail              *string              `json:"mail"`
	AccountEnabled    bool                 `json:"accountEnabled"`
	CreatedDateTime   time.Time            `json:"createdDateTime"`
	PasswordProfile   *passwordProfileJSON `json:"passwordProfile,omitempty"`
}

func toUserJSON(u store.User) userJSON {
	out := userJSON{ID: u.ID, UserPrincipalName: u.Username, DisplayName: u.Name, AccountEnabled: !u.Disabled, CreatedDateTime: u.CreatedAt}
	if u.Email != "" {
		out.Mail = &u.Email
	}
	return out
}

func userETag(u store.User) string { return etag(u.UpdatedAt.UnixMilli()) }

func (api *API) listUsers(q *request) error {
	p, err := q.page()
	if err != nil {
		return err
	}
	search := strings.ToLower(strings.Trim(q.r.URL.Query().Get("$search"), `"`))
	if len(search) > 200 {
		return badRequest("$search is longer than 200 characters.")
	}
	page, err := q.admin.UsersPage(q.r.Context(), q.tenant, search, p.after, p.top)
	if err != nil {
		return err
	}
	out := listResponse[userJSON]{Value: []userJSON{}}
	for _, u := range page.Users {
		out.Value = append(out.Value, toUserJSON(u))
	}
	if page.Next != "" {
		out.NextLink = q.nextLink(page.Next)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type createUserJSON struct {
	UserPrincipalName string               `json:"userPrincipalName"`
	DisplayName       string               `json:"displayName"`
	Mail              string               `json:"mail"`
	AccountEnabled    *bool                `json:"accountEnabled"`
	PasswordProfile   *passwordProfileJSON `json:"passwordProfile"`
}

// createUser creates a user; without a password in passwordProfile one is
// generated and returned in this response only.
func (api *API) createUser(q *request) error {
	var in createUserJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	if in.AccountEnabled != nil && !*in.AccountEnabled {
		return badRequest("accountEnabled: a user is created enabled; disable it afterwards with PATCH.")
	}
	pw := ""
	if in.PasswordProfile != nil {
		pw = in.PasswordProfile.Password
	}
	u, generated, err := q.admin.CreateUser(q.r.Context(), q.tenant, admin.UserOptions{Username: in.UserPrincipalName, Password: pw, Email: in.Mail, Name: in.DisplayName})
	if err != nil {
		return err
	}
	out := toUserJSON(u)
	if pw == "" {
		out.PasswordProfile = &passwordProfileJSON{Password: generated}
	}
	q.w.Header().Set("Location", q.ep.Base+"/api/v1/users/"+u.ID)
	q.w.Header().Set("ETag", userETag(u))
	writeJSON(q.w, http.StatusCreated, out)
	return nil
}

func (api *API) getUser(q *request) error {
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", userETag(u))
	writeJSON(q.w, http.StatusOK, toUserJSON(u))
	return nil
}

type patchUserJSON struct {
	DisplayName     *string              `json:"displayName"`
	Mail            *string              `json:"mail"`
	AccountEnabled  *bool                `json:"accountEnabled"`
	PasswordProfile *passwordProfileJSON `json:"passwordProfile"`
}

func (api *API) patchUser(q *request) error {
	var in patchUserJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.checkIfMatch(userETag(u)); err != nil {
		return err
	}
	p := admin.UserPatch{Name: in.DisplayName, Email: in.Mail, Enabled: in.AccountEnabled}
	if in.PasswordProfile != nil {
		p.Password = &in.PasswordProfile.Password
	}
	if u, err = q.admin.PatchUser(q.r.Context(), u, p); err != nil {
		return err
	}
	q.w.Header().Set("ETag", userETag(u))
	writeJSON(q.w, http.StatusOK, toUserJSON(u))
	return nil
}

func (api *API) deleteUser(q *request) error {
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.checkIfMatch(userETag(u)); err != nil {
		return err
	}
	if err := q.admin.DeleteUser(q.r.Context(), u); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) revokeSignInSessions(q *request) error {
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.admin.RevokeSessions(q.r.Context(), u); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"value": true})
	return nil
}

// resetAuthenticationMethods removes a user's second factors and
// recovery codes. Graph deletes methods one by one under
// /users/{id}/authentication/…; one call that removes them all is what
// an admin helping a user who lost their phone needs, and what the
// portal's button and `tessera user mfa reset` do.
func (api *API) resetAuthenticationMethods(q *request) error {
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.admin.ResetAuthenticationMethods(q.r.Context(), u); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"value": true})
	return nil
}

type directoryRoleJSON struct {
	ID             string `json:"id"`
	RoleTemplateID string `json:"roleTemplateId"`
	DisplayName    string `json:"displayName"`
	Description    string `json:"description"`
}

func toRoleJSON(r admin.DirectoryRole) directoryRoleJSON {
	return directoryRoleJSON{ID: r.TemplateID, RoleTemplateID: r.TemplateID, DisplayName: r.Name, Description: r.Description}
}

func (api *API) listDirectoryRoles(q *request) error {
	roles, err := q.admin.RoleCatalogue()
	if err != nil {
		return err
	}
	out := listResponse[directoryRoleJSON]{Value: []directoryRoleJSON{}}
	for _, r := range roles {
		out.Value = append(out.Value, toRoleJSON(r))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func (q *request) directoryRole() (admin.DirectoryRole, error) {
	r, ok := admin.FindDirectoryRole(q.r.PathValue("role"))
	if !ok {
		return admin.DirectoryRole{}, apiError(http.StatusNotFound, "Request_ResourceNotFound", "No directory role "+clip(q.r.PathValue("role"))+".")
	}
	return r, nil
}

func (api *API) listRoleMembers(q *request) error {
	role, err := q.directoryRole()
	if err != nil {
		return err
	}
	all, err := q.admin.RoleAssignments(q.r.Context(), q.tenant, "")
	if err != nil {
		return err
	}
	out := listResponse[userJSON]{Value: []userJSON{}}
	for _, a := range all {
		if a.Role != role.Name {
			continue
		}
		u, err := q.admin.User(q.r.Context(), q.tenant, a.UserID)
		if err != nil {
			return err
		}
		out.Value = append(out.Value, toUserJSON(u))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type memberRefJSON struct {
	ODataID string `json:"@odata.id"`
}

// addRoleMember takes Graph's reference body, whose @odata.id ends with
// the user's id.
func (api *API) addRoleMember(q *request) error {
	role, err := q.directoryRole()
	if err != nil {
		return err
	}
	var in memberRefJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	id := in.ODataID[strings.LastIndex(in.ODataID, "/")+1:]
	if id == "" {
		return badRequest("@odata.id must name the user, e.g. …/users/{id}.")
	}
	u, err := q.admin.User(q.r.Context(), q.tenant, id)
	if err != nil {
		return err
	}
	if _, err := q.admin.AssignRole(q.r.Context(), u, role.Name); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) removeRoleMember(q *request) error {
	role, err := q.directoryRole()
	if err != nil {
		return err
	}
	u, err := q.admin.User(q.r.Context(), q.tenant, q.r.PathValue("user"))
	if err != nil {
		return err
	}
	if _, err := q.admin.UnassignRole(q.r.Context(), u, role.Name); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type modifiedPropertyJSON struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

type targetResourceJSON struct {
	ID                 string                 `json:"id"`
	DisplayName        string                 `json:"displayName"`
	Type               string                 `json:"type"`
	ModifiedProperties []modifiedPropertyJSON `json:"modifiedProperties"`
}

type initiatorJSON struct {
	User *actorJSON `json:"user"`
	App  *actorJSON `json:"app"`
}

type actorJSON struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	IPAddress         string `json:"ipAddress,omitempty"`
}

type directoryAuditJSON struct {
	ID                  string               `json:"id"`
	Category            string               `json:"category"`
	ActivityDisplayName string               `json:"activityDisplayName"`
	ActivityDateTime    time.Time            `json:"activityDateTime"`
	Result              string               `json:"result"`
	ResultReason        string               `json:"resultReason"`
	LoggedByService     string               `json:"loggedByService"`
	InitiatedBy         initiatorJSON        `json:"initiatedBy"`
	TargetResources     []targetResourceJSON `json:"targetResources"`
}

func toAuditJSON(e store.AuditEntry) directoryAuditJSON {
	out := directoryAuditJSON{ID: e.ID, Category: e.Category, ActivityDisplayName: e.Activity, ActivityDateTime: e.Time,
		Result: e.Result, ResultReason: e.Reason, LoggedByService: "Tessera", TargetResources: []targetResourceJSON{}}
	actor := &actorJSON{ID: e.ActorID, DisplayName: e.ActorName, IPAddress: e.ActorAddress}
	if e.ActorType == admin.ActorApp {
		out.InitiatedBy.App = actor
	} else {
		actor.UserPrincipalName = e.ActorName
		out.InitiatedBy.User = actor
	}
	if e.TargetID != "" {
		t := targetResourceJSON{ID: e.TargetID, DisplayName: e.TargetName, Type: e.TargetType, ModifiedProperties: []modifiedPropertyJSON{}}
		for _, c := range e.Changes {
			t.ModifiedProperties = append(t.ModifiedProperties, modifiedPropertyJSON{DisplayName: c.Property, OldValue: c.Old, NewValue: c.New})
		}
		out.TargetResources = append(out.TargetResources, t)
	}
	return out
}

type signInJSON struct {
	ID                string    `json:"id"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	UserID            string    `json:"userId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	AppID             string    `json:"appId"`
	AppDisplayName    string    `json:"appDisplayName"`
	IPAddress         string    `json:"ipAddress"`
	Status            struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason"`
	} `json:"status"`
}

// Graph's sign-in error code for a refused password; 0 is success.
const signInFailedCode = 50126

func toSignInJSON(e store.AuditEntry) signInJSON {
	out := signInJSON{ID: e.ID, CreatedDateTime: e.Time, UserID: e.ActorID, UserPrincipalName: e.ActorName,
		AppID: e.TargetID, AppDisplayName: e.TargetName, IPAddress: e.ActorAddress}
	if e.Result != store.AuditSuccess {
		out.Status.ErrorCode, out.Status.FailureReason = signInFailedCode, e.Reason
	}
	return out
}

// auditPage lists one log, newest first, filtered by the query's
// parameters (Tessera's plain ones, not OData's $filter).
func auditPage[T any](q *request, kind store.AuditKind, convert func(store.AuditEntry) T) error {
	p, err := q.page()
	if err != nil {
		return err
	}
	v := q.r.URL.Query()
	aq := store.AuditQuery{Kind: kind, Limit: p.top + 1, Category: v.Get("category"), Activity: v.Get("activity"),
		ActorID: v.Get("actor"), TargetID: v.Get("target"), Result: v.Get("result")}
	for _, f := range []string{aq.Category, aq.Activity, aq.ActorID, aq.TargetID, aq.Result} {
		if len(f) > 200 {
			return badRequest("A filter is longer than 200 characters.")
		}
	}
	if p.after != "" {
		at, id, ok := strings.Cut(p.after, " ")
		t, err := time.Parse(time.RFC3339Nano, at)
		if !ok || err != nil {
			return badRequest("$skiptoken is not one this API gave out.")
		}
		aq.Before, aq.BeforeID = t, id
	}
	entries, err := q.admin.AuditLog(q.r.Context(), q.tenant, aq)
	if err != nil {
		return err
	}
	out := listResponse[T]{Value: []T{}}
	for i, e := range entries {
		if i == p.top {
			last := entries[i-1]
			out.NextLink = q.nextLink(last.Time.Format(time.RFC3339Nano) + " " + last.ID)
			break
		}
		out.Value = append(out.Value, convert(e))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func (api *API) directoryAudits(q *request) error {
	return auditPage(q, store.AuditDirectory, toAuditJSON)
}

func (api *API) signIns(q *request) error {
	return auditPage(q, store.AuditSignIn, toSignInJSON)
}
