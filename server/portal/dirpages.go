package portal

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// The directory pages: Users, and the Audit and Sign-in logs.

// usersPageSize is how many users a page of the list shows.
const usersPageSize = 100

func (p *Portal) userList(q *request) error {
	v := q.r.URL.Query()
	data, err := q.admin.UsersPage(q.r.Context(), q.ep.Tenant, strings.TrimSpace(v.Get("search")), v.Get("after"), usersPageSize)
	if err != nil {
		return err
	}
	pg := q.page("Users", "users")
	pg.Data, pg.Fields["search"] = data, v.Get("search")
	p.render(q.w, http.StatusOK, "users", pg)
	return nil
}

// userData is a user's page.
type userData struct {
	User     store.User
	Roles    []string
	Choices  []admin.DirectoryRole // roles the user does not hold
	Password string                // a password just set, shown once
	// Factors are the user's second factors (no secrets), RecoveryCodes
	// how many recovery codes they have left.
	Factors       []store.Factor
	RecoveryCodes int
	// Groups are the groups the user belongs to, directly or through one
	// of them; Apps the app roles assigned to the user in person.
	Groups         []admin.Membership
	GroupsReadable bool // the signed-in admin may read groups
	Apps           []heldRole
	AppsReadable   bool // the signed-in admin may read app role assignments
}

func (p *Portal) newUser(q *request) error {
	pg := q.page("New user", "users")
	if q.r.Method != http.MethodPost {
		p.render(q.w, http.StatusOK, "newuser", pg)
		return nil
	}
	f := q.r.PostForm
	pg.Fields["username"], pg.Fields["name"], pg.Fields["email"] = f.Get("username"), f.Get("name"), f.Get("email")
	u, pw, err := q.admin.CreateUser(q.r.Context(), q.ep.Tenant, admin.UserOptions{Username: f.Get("username"), Name: f.Get("name"), Email: f.Get("email")})
	if err != nil {
		return p.refused(q, pg, "newuser", err)
	}
	return p.showUser(q, u, pw, "")
}

func (p *Portal) withUser(q *request, id string, h func(q *request, u store.User) error) error {
	u, err := q.admin.User(q.r.Context(), q.ep.Tenant, id)
	if errors.Is(err, admin.ErrNotFound) {
		return notFoundPage()
	}
	if err != nil {
		return err
	}
	return h(q, u)
}

// userPage shows a user and takes its forms: enable or disable, reset the
// password (a new one, shown once), revoke sessions, delete, directory
// roles.
func (p *Portal) userPage(q *request, u store.User) error {
	if q.r.Method != http.MethodPost {
		notice := ""
		if q.r.URL.Query().Get("saved") == "1" {
			notice = "Saved."
		}
		return p.showUser(q, u, "", notice)
	}
	ctx := q.r.Context()
	f := q.r.PostForm
	var err error
	password := ""
	switch f.Get("action") {
	case "disable", "enable":
		_, err = q.admin.SetDisabled(ctx, u, f.Get("action") == "disable")
	case "reset-password":
		password = admin.GeneratePassword()
		u, err = q.admin.SetPassword(ctx, u, password)
	case "revoke-sessions":
		err = q.admin.RevokeSessions(ctx, u)
	case "reset-mfa":
		err = q.admin.ResetAuthenticationMethods(ctx, u)
	case "add-role":
		_, err = q.admin.AssignRole(ctx, u, f.Get("role"))
	case "remove-role":
		_, err = q.admin.UnassignRole(ctx, u, f.Get("role"))
	case "delete":
		if f.Get("confirm") != u.Username {
			err = invalidForm("To delete the user, type their username, " + u.Username + ".")
			break
		}
		if err = q.admin.DeleteUser(ctx, u); err == nil {
			http.Redirect(q.w, q.r, q.base+"/users", http.StatusSeeOther)
			return nil
		}
	default:
		err = invalidForm("The form asked for nothing this page does.")
	}
	var fe *formError
	switch {
	case err == nil && password != "":
		return p.showUser(q, u, password, "A new password was set. Give it to the user: it won't be shown again.")
	case err == nil:
		http.Redirect(q.w, q.r, q.base+"/users/"+u.ID+"?saved=1", http.StatusSeeOther)
		return nil
	case errors.Is(err, admin.ErrForbidden):
		return err
	case errors.Is(err, admin.ErrInvalid) || errors.As(err, &fe):
		pg, perr := p.userPageData(q, u, "")
		if perr != nil {
			return perr
		}
		pg.Error = message(err)
		p.render(q.w, http.StatusBadRequest, "user", pg)
		return nil
	}
	return err
}

func (p *Portal) showUser(q *request, u store.User, password, notice string) error {
	pg, err := p.userPageData(q, u, password)
	if err != nil {
		return err
	}
	pg.Notice = notice
	p.render(q.w, http.StatusOK, "user", pg)
	return nil
}

func (p *Portal) userPageData(q *request, u store.User, password string) (*page, error) {
	held, err := q.admin.RoleAssignments(q.r.Context(), q.ep.Tenant, u.ID)
	if err != nil {
		return nil, err
	}
	fs, n, err := q.admin.AuthenticationMethods(q.r.Context(), u)
	if err != nil {
		return nil, err
	}
	groups, gerr := q.admin.MemberOf(q.r.Context(), q.ep.Tenant, admin.Principal{Type: store.PrincipalUser, ID: u.ID, Name: u.Username})
	if gerr != nil && !errors.Is(gerr, admin.ErrForbidden) {
		return nil, gerr
	}
	apps, appsReadable, err := heldRoles(q, u.ID)
	if err != nil {
		return nil, err
	}
	data := &userData{User: u, Password: password, Factors: fs, RecoveryCodes: n, Groups: groups, GroupsReadable: gerr == nil, Apps: apps, AppsReadable: appsReadable}
	for _, r := range held {
		data.Roles = append(data.Roles, r.Role)
	}
	for _, r := range admin.DirectoryRoles() {
		if !slices.Contains(data.Roles, r.Name) {
			data.Choices = append(data.Choices, r)
		}
	}
	pg := q.page(u.Username, "users")
	pg.Data = data
	return pg, nil
}

// logData is a page of one of the logs.
type logData struct {
	Entries []store.AuditEntry
	Older   string // the query of the next (older) page, "" on the last
}

const logPageSize = 100

// logPage shows a page of the audit or sign-in log, filtered by the query's
// activity, result and target, newest first.
func (p *Portal) logPage(q *request, kind store.AuditKind, name, title, section string) error {
	v := q.r.URL.Query()
	aq := store.AuditQuery{Kind: kind, Limit: logPageSize + 1, Activity: v.Get("activity"), Result: v.Get("result"), TargetID: v.Get("target")}
	if before := v.Get("before"); before != "" {
		at, id, ok := strings.Cut(before, " ")
		t, err := time.Parse(time.RFC3339Nano, at)
		if !ok || err != nil {
			return invalidForm("The page's position is not one this portal gave out.")
		}
		aq.Before, aq.BeforeID = t, id
	}
	entries, err := q.admin.AuditLog(q.r.Context(), q.ep.Tenant, aq)
	if err != nil {
		return err
	}
	data := &logData{Entries: entries}
	if len(entries) > logPageSize {
		data.Entries = entries[:logPageSize]
		last := data.Entries[logPageSize-1]
		next := q.r.URL.Query()
		next.Set("before", last.Time.Format(time.RFC3339Nano)+" "+last.ID)
		data.Older = next.Encode()
	}
	pg := q.page(title, section)
	pg.Data = data
	pg.Fields["activity"], pg.Fields["result"], pg.Fields["target"] = aq.Activity, aq.Result, aq.TargetID
	p.render(q.w, http.StatusOK, name, pg)
	return nil
}
