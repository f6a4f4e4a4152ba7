package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
)

// Groups and app role assignments through the admin API.

type apiGroup struct {
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName"`
	Description     *string   `json:"description"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

func (g apiGroup) group(tenantID string) store.Group {
	out := store.Group{ID: g.ID, TenantID: tenantID, Name: g.DisplayName, CreatedAt: g.CreatedDateTime}
	if g.Description != nil {
		out.Description = *g.Description
	}
	return out
}

func groupPath(id string) string { return "/groups/" + url.PathEscape(id) }

func (d *remoteDirectory) CreateGroup(ctx context.Context, t store.Tenant, o admin.GroupOptions) (store.Group, error) {
	var g apiGroup
	body := map[string]any{"displayName": o.Name, "description": o.Description}
	if _, err := d.call(ctx, http.MethodPost, "/groups", body, "", &g); err != nil {
		return store.Group{}, err
	}
	return g.group(t.ID), nil
}

// FindGroup reads a group by id, or finds the one group named so.
func (d *remoteDirectory) FindGroup(ctx context.Context, t store.Tenant, idOrName string) (store.Group, error) {
	if ids.IsUUID(strings.TrimSpace(idOrName)) {
		var g apiGroup
		if _, err := d.call(ctx, http.MethodGet, groupPath(strings.TrimSpace(idOrName)), nil, "", &g); err == nil {
			return g.group(t.ID), nil
		}
	}
	var found []store.Group
	err := d.list(ctx, "/groups?$top=999&$search="+url.QueryEscape(`"`+idOrName+`"`), func(raw json.RawMessage) error {
		var g apiGroup
		err := json.Unmarshal(raw, &g)
		if strings.EqualFold(g.DisplayName, strings.TrimSpace(idOrName)) {
			found = append(found, g.group(t.ID))
		}
		return err
	})
	if err != nil {
		return store.Group{}, err
	}
	switch len(found) {
	case 0:
		return store.Group{}, fmt.Errorf("no group %q", idOrName)
	case 1:
		return found[0], nil
	}
	return store.Group{}, fmt.Errorf("%d groups are named %q: name one by its id", len(found), idOrName)
}

// GroupsPage reads every page: the CLI lists them all.
func (d *remoteDirectory) GroupsPage(ctx context.Context, t store.Tenant, search, _ string, _ int) (admin.GroupPage, error) {
	path := "/groups?$top=999"
	if search != "" {
		path += "&$search=" + url.QueryEscape(`"`+search+`"`)
	}
	var out admin.GroupPage
	err := d.list(ctx, path, func(raw json.RawMessage) error {
		var g apiGroup
		err := json.Unmarshal(raw, &g)
		out.Groups = append(out.Groups, g.group(t.ID))
		return err
	})
	return out, err
}

func (d *remoteDirectory) DeleteGroup(ctx context.Context, g store.Group) error {
	_, err := d.call(ctx, http.MethodDelete, groupPath(g.ID), nil, "", nil)
	return err
}

func (d *remoteDirectory) AddGroupMember(ctx context.Context, _ store.Tenant, g store.Group, memberID string) (admin.Principal, error) {
	ref := map[string]string{"@odata.id": d.server + "/api/v1/directoryObjects/" + memberID}
	_, err := d.call(ctx, http.MethodPost, groupPath(g.ID)+"/members/$ref", ref, "", nil)
	return admin.Principal{ID: memberID}, err
}

func (d *remoteDirectory) RemoveGroupMember(ctx context.Context, _ store.Tenant, g store.Group, memberID string) error {
	_, err := d.call(ctx, http.MethodDelete, groupPath(g.ID)+"/members/"+url.PathEscape(memberID)+"/$ref", nil, "", nil)
	return err
}

type apiMember struct {
	ODataType         string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
}

func (d *remoteDirectory) GroupMembers(ctx context.Context, _ store.Tenant, g store.Group) ([]admin.Principal, error) {
	var out []admin.Principal
	err := d.list(ctx, groupPath(g.ID)+"/members", func(raw json.RawMessage) error {
		var m apiMember
		err := json.Unmarshal(raw, &m)
		p := admin.Principal{Type: store.PrincipalGroup, ID: m.ID, Name: m.DisplayName}
		if m.ODataType == "#microsoft.graph.user" {
			p = admin.Principal{Type: store.PrincipalUser, ID: m.ID, Name: m.UserPrincipalName}
		}
		out = append(out, p)
		return err
	})
	return out, err
}

type apiPrincipalAssignment struct {
	ID              string    `json:"id"`
	AppRoleID       string    `json:"appRoleId"`
	PrincipalID     string    `json:"principalId"`
	PrincipalType   string    `json:"principalType"`
	PrincipalName   string    `json:"principalDisplayName"`
	ResourceID      string    `json:"resourceId"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

func (a apiPrincipalAssignment) assignment(tenantID string) store.AppRoleAssignment {
	t := store.PrincipalUser
	if a.PrincipalType == "Group" {
		t = store.PrincipalGroup
	}
	return store.AppRoleAssignment{ID: a.ID, TenantID: tenantID, PrincipalID: a.PrincipalID, PrincipalType: t,
		ResourceID: a.ResourceID, Role: a.AppRoleID, CreatedAt: a.CreatedDateTime, PrincipalName: a.PrincipalName}
}

// AppRoleAssignments lists a resource's assignments (appRoleAssignedTo),
// narrowed to one principal when given.
func (d *remoteDirectory) AppRoleAssignments(ctx context.Context, t store.Tenant, principalID, resourceID string) ([]store.AppRoleAssignment, error) {
	if resourceID == "" {
		return nil, fmt.Errorf("the admin API lists assignments by app: name the app")
	}
	var out []store.AppRoleAssignment
	err := d.list(ctx, appPath(resourceID)+"/appRoleAssignedTo", func(raw json.RawMessage) error {
		var a apiPrincipalAssignment
		err := json.Unmarshal(raw, &a)
		if principalID == "" || a.PrincipalID == principalID {
			out = append(out, a.assignment(t.ID))
		}
		return err
	})
	return out, err
}

// principalPath is the user's or group's path: users and groups share no
// id, so a user who is not found is taken for a group.
func (d *remoteDirectory) principalPath(ctx context.Context, id string) string {
	var u apiUser
	if _, err := d.call(ctx, http.MethodGet, userPath(id), nil, "", &u); err == nil {
		return userPath(id)
	}
	return groupPath(id)
}

func (d *remoteDirectory) AssignAppRole(ctx context.Context, t store.Tenant, resource store.App, principalID, role string) (store.AppRoleAssignment, error) {
	var a apiPrincipalAssignment
	body := map[string]string{"principalId": principalID, "resourceId": resource.ClientID, "appRoleId": role}
	if _, err := d.call(ctx, http.MethodPost, d.principalPath(ctx, principalID)+"/appRoleAssignments", body, "", &a); err != nil {
		return store.AppRoleAssignment{}, err
	}
	return a.assignment(t.ID), nil
}

func (d *remoteDirectory) UnassignAppRole(ctx context.Context, t store.Tenant, resource store.App, id string) error {
	as, err := d.AppRoleAssignments(ctx, t, "", resource.ClientID)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.ID == id {
			_, err := d.call(ctx, http.MethodDelete, d.principalPath(ctx, a.PrincipalID)+"/appRoleAssignments/"+url.PathEscape(id), nil, "", nil)
			return err
		}
	}
	return fmt.Errorf("app %s has no role assignment %q", resource.Name, id)
}
