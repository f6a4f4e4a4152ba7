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

const groupsPageSize = 100

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
	members, merr := q.admin.GroupMembers(ctx, q.ep.Tenant, g)
	if merr != nil {
		return merr
	}
	pg := q.page(g.Name, "groups")
	pg.Data = &groupData{Group: g, Members: members}
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
