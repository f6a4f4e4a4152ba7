package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// The Groups pages: the list, New group, and a group's page with its
// members.

const (
	groupsPageSize  = 100
	membersPageSize = 100
)

func (p *Portal) groupList(q *request) error {
	v := q.r.URL.Query()
	data, err := q.admin.GroupsPage(q.r.Context(), q.ep.Tenant, strings.TrimSpace(v.Get("search")), v.Get("after"), groupsPageSize)
	if err != nil {
		return err
	}
	pg := q.page("Groups", "groups")
	pg.Data, pg.Fields["search"] = data, v.Get("search")
	p.render(q.w, http.StatusOK, "groups", pg)
	return nil
}

func (p *Portal) newGroup(q *request) error {
	pg := q.page("New group", "groups")
	if q.r.Method != http.MethodPost {
		p.render(q.w, http.StatusOK, "newgroup", pg)
		return nil
	}
	f := q.r.PostForm
	pg.Fields["name"], pg.Fields["description"] = f.Get("name"), f.Get("description")
	g, err := q.admin.CreateGroup(q.r.Context(), q.ep.Tenant, admin.GroupOptions{Name: f.Get("name"), Description: f.Get("description")})
	if err != nil {
		return p.refused(q, pg, "newgroup", err)
	}
	http.Redirect(q.w, q.r, q.base+"/groups/"+g.ID, http.StatusSeeOther)
	return nil
}

// groupData is a group's page.
type groupData struct {
	Group   store.Group
	Members []admin.Principal
	Next    string // the cursor of the next page of members, "" on the last
	// Apps are the app roles assigned to the group, which its members
	// hold.
	Apps []heldRole
}

// heldRole is one app role assigned to a user or group: the app's name,
// the role, and the app's Users and groups page.
type heldRole struct {
	Name, Role, Href string
}

// heldRoles lists the app roles assigned to a user or group in person,
// by app name; readable is false when the signed-in admin may not read
// assignments.
func heldRoles(q *request, principalID string) (roles []heldRole, readable bool, err error) {
	ctx := q.r.Context()
	as, err := q.admin.AppRoleAssignments(ctx, q.ep.Tenant, principalID, "")
	if errors.Is(err, admin.ErrForbidden) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, a := range as {
		name := a.ResourceID
		if app, err := q.admin.App(ctx, q.ep.Tenant, a.ResourceID); err == nil {
			name = app.Name
		}
		role := a.Role
		if role == admin.DefaultAccessRole {
			role = "Default Access"
		}
		roles = append(roles, heldRole{name, role, q.base + "/apps/" + a.ResourceID + "/assignments"})
	}
	return roles, true, nil
}

// groupPage shows a group and takes its forms: add a member (a user by
// username or id, or a group by id or name), remove one, delete.
func (p *Portal) groupPage(q *request, id string) error {
	ctx := q.r.Context()
	g, err := q.admin.Group(ctx, q.ep.Tenant, id)
	if errors.Is(err, admin.ErrNotFound) {
		return notFoundPage()
	}
	if err != nil {
		return err
	}
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		switch f.Get("action") {
		case "add-member":
			var memberID string
			memberID, err = p.principalID(q, f.Get("member"))
			if err == nil {
				_, err = q.admin.AddGroupMember(ctx, q.ep.Tenant, g, memberID)
			}
		case "remove-member":
			err = q.admin.RemoveGroupMember(ctx, q.ep.Tenant, g, f.Get("member"))
		case "delete":
			if f.Get("confirm") != g.Name {
				err = invalidForm("To delete the group, type its name, " + g.Name + ".")
				break
			}
			if err = q.admin.DeleteGroup(ctx, g); err == nil {
				http.Redirect(q.w, q.r, q.base+"/groups", http.StatusSeeOther)
				return nil
			}
		default:
			err = invalidForm("The form asked for nothing this page does.")
		}
		var fe *formError
		switch {
		case err == nil:
			http.Redirect(q.w, q.r, q.base+"/groups/"+g.ID+"?saved=1", http.StatusSeeOther)
			return nil
		case errors.Is(err, admin.ErrForbidden):
			return err
		case !errors.Is(err, admin.ErrInvalid) && !errors.As(err, &fe):
			return err
		}
	}
	members, merr := q.admin.GroupMembersPage(ctx, q.ep.Tenant, g, q.r.URL.Query().Get("after"), membersPageSize)
	if merr != nil {
		return merr
	}
	apps, _, aerr := heldRoles(q, g.ID)
	if aerr != nil {
		return aerr
	}
	data := &groupData{Group: g, Members: members.Members, Next: members.Next, Apps: apps}
	pg := q.page(g.Name, "groups")
	pg.Data = data
	status := http.StatusOK
	if err != nil {
		pg.Error, status = message(err), http.StatusBadRequest
	} else if q.r.URL.Query().Get("saved") == "1" {
		pg.Notice = "Saved."
	}
	p.render(q.w, status, "group", pg)
	return nil
}

// principalID reads what a form names as a member or assignee: a user's
// username or id, or a group's id or name.
func (p *Portal) principalID(q *request, typed string) (string, error) {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return "", invalidForm("Type a user's username or a group's name.")
	}
	if u, err := q.admin.User(q.r.Context(), q.ep.Tenant, typed); err == nil {
		return u.ID, nil
	} else if !errors.Is(err, admin.ErrNotFound) {
		return "", err
	}
	g, err := q.admin.FindGroup(q.r.Context(), q.ep.Tenant, typed)
	if errors.Is(err, admin.ErrNotFound) {
		return "", invalidForm("No user or group " + typed + ".")
	}
	if err != nil {
		return "", err
	}
	return g.ID, nil
}

// assignmentRow is one line of an app's Users and groups page.
type assignmentRow struct {
	store.AppRoleAssignment
	Name string // the user's username or the group's name
}

// assignmentsData is an app's Users and groups page: who is assigned
// which of its roles, and whether only they may sign in.
type assignmentsData struct {
	Rows          []assignmentRow
	Roles         []string // the app's roles, offered for assignment
	DefaultAccess string
}

// assignments is the Users and groups page of an app (Entra's enterprise
// app blade): assign its roles, or default access, to users and groups,
// and require assignment to sign in.
func (p *Portal) assignments(q *request, app store.App) error {
	ctx := q.r.Context()
	pg := p.appPage(q, app, "Users and groups · "+app.Name, "assignments")
	var err error
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		switch f.Get("action") {
		case "assignment-required":
			required := f.Get("assignment_required") == "yes"
			_, err = q.admin.PatchApp(ctx, app, admin.AppPatch{AppRoleAssignmentRequired: &required})
		case "assign":
			pg.Fields["principal"] = f.Get("principal")
			var id string
			if id, err = p.principalID(q, f.Get("principal")); err == nil {
				_, err = q.admin.AssignAppRole(ctx, q.ep.Tenant, app, id, f.Get("role"))
			}
		case "unassign":
			err = q.admin.UnassignAppRole(ctx, q.ep.Tenant, app, f.Get("assignment"))
		default:
			err = invalidForm("The form asked for nothing this page does.")
		}
		var fe *formError
		switch {
		case err == nil:
			q.saved("/apps/" + app.ClientID + "/assignments")
			return nil
		case !errors.Is(err, admin.ErrInvalid) && !errors.Is(err, admin.ErrStale) && !errors.As(err, &fe):
			return err
		}
		// Shown with the app as it is now.
		if app, err2 := q.admin.App(ctx, q.ep.Tenant, app.ClientID); err2 == nil {
			pg.App = &app
		}
	}
	as, aerr := q.admin.AppRoleAssignments(ctx, q.ep.Tenant, "", app.ClientID)
	if aerr != nil {
		return aerr
	}
	data := &assignmentsData{Roles: app.Roles, DefaultAccess: admin.DefaultAccessRole}
	for _, a := range as {
		data.Rows = append(data.Rows, assignmentRow{a, a.PrincipalName})
	}
	pg.Data = data
	status := http.StatusOK
	if err != nil {
		pg.Error, status = message(err), http.StatusBadRequest
	} else {
		q.notice(pg)
	}
	p.render(q.w, status, "assignments", pg)
	return nil
}
