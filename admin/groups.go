package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
)

// Groups and app role assignments: who holds which roles of which app,
// which user tokens then carry, and who may sign in to an app that
// requires assignment.

// DefaultAccessRole is Entra's "Default Access" app role id: an
// assignment to an app that grants no role, only the right to sign in to
// it when it requires assignment. It never appears in a roles claim.
const DefaultAccessRole = "00000000-0000-0000-0000-000000000000"

// maxGroupDescription bounds a group's description, as Graph does.
const maxGroupDescription = 1024

func groupTarget(g store.Group) target { return target{g.TenantID, "group", g.ID, g.Name} }

// GroupOptions describe a new group.
type GroupOptions struct {
	Name        string
	Description string
}

// mayReadGroups checks that the caller may read groups and their members.
func (a *Admin) mayReadGroups() error {
	return a.may(PermGroupReadWrite, PermGroupMemberRead, PermDirectoryRead, PermDirectoryReadWrite)
}

// mayChangeGroups checks that the caller may manage groups.
func (a *Admin) mayChangeGroups() error { return a.may(PermGroupReadWrite, PermDirectoryReadWrite) }

func groupFields(name, description string) (string, string, error) {
	name, description = strings.TrimSpace(name), strings.TrimSpace(description)
	if err := validName("group name", name); err != nil {
		return "", "", err
	}
	if len(description) > maxGroupDescription || invisibleIn(description) {
		return "", "", invalid("group description: at most %d characters, none of them invisible", maxGroupDescription)
	}
	return name, description, nil
}

// CreateGroup creates a security group.
func (a *Admin) CreateGroup(ctx context.Context, t store.Tenant, o GroupOptions) (store.Group, error) {
	if err := a.mayChangeGroups(); err != nil {
		return store.Group{}, err
	}
	name, description, err := groupFields(o.Name, o.Description)
	if err != nil {
		return store.Group{}, err
	}
	now := a.now()
	g := store.Group{ID: ids.New(), TenantID: t.ID, Name: name, Description: description, CreatedAt: now, UpdatedAt: now}
	var c changes
	c.text("displayName", "", g.Name)
	c.text("description", "", g.Description)
	e := a.entry(catGroup, "Add group", groupTarget(g), c)
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.CreateGroup(ctx, g) }); err != nil {
		return store.Group{}, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// Group finds a group by id.
func (a *Admin) Group(ctx context.Context, t store.Tenant, id string) (store.Group, error) {
	if err := a.mayReadGroups(); err != nil {
		return store.Group{}, err
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if !ids.IsUUID(id) {
		return store.Group{}, notFound("no group %q in tenant %s", id, t.Name)
	}
	g, err := a.store.GetGroup(ctx, t.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Group{}, notFound("no group %q in tenant %s", id, t.Name)
	}
	return g, err
}

// FindGroup finds a group by id or, failing that, by its exact name (any
// case), for the CLI; a name two groups share is refused as ambiguous.
func (a *Admin) FindGroup(ctx context.Context, t store.Tenant, idOrName string) (store.Group, error) {
	if g, err := a.Group(ctx, t, idOrName); err == nil || !errors.Is(err, ErrNotFound) {
		return g, err
	}
	page, err := a.store.ListGroupsPage(ctx, t.ID, store.GroupQuery{Search: strings.TrimSpace(idOrName), Limit: 100})
	if err != nil {
		return store.Group{}, fmt.Errorf("find group: %w", err)
	}
	var found []store.Group
	for _, g := range page {
		if strings.EqualFold(g.Name, strings.TrimSpace(idOrName)) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return store.Group{}, notFound("no group %q in tenant %s", idOrName, t.Name)
	case 1:
		return found[0], nil
	}
	return store.Group{}, invalid("%d groups are named %q: name one by its id", len(found), idOrName)
}

// GroupPage is one page of groups (see GroupsPage). Next is the cursor the
// following page starts after, "" on the last page.
type GroupPage struct {
	Groups []store.Group
	Next   string
}

// GroupsPage reads one page of groups in order of their names, those whose
// name contains search (any case), at most n, after the cursor after.
func (a *Admin) GroupsPage(ctx context.Context, t store.Tenant, search, after string, n int) (GroupPage, error) {
	if err := a.mayReadGroups(); err != nil {
		return GroupPage{}, err
	}
	if n < 1 {
		return GroupPage{}, invalid("a page holds at least one group")
	}
	gs, err := a.store.ListGroupsPage(ctx, t.ID, store.GroupQuery{After: after, Search: search, Limit: n + 1})
	if err != nil {
		return GroupPage{}, fmt.Errorf("list groups: %w", err)
	}
	page := GroupPage{Groups: gs}
	if len(gs) > n {
		page.Groups, page.Next = gs[:n], store.GroupCursor(gs[n-1])
	}
	return page, nil
}

// GroupPatch replaces the fields it sets; nil leaves one as it is.
type GroupPatch struct {
	Name        *string
	Description *string
}

// PatchGroup renames a group or changes its description, only if it is
// still as g was read.
func (a *Admin) PatchGroup(ctx context.Context, g store.Group, p GroupPatch) (store.Group, error) {
	if err := a.mayChangeGroups(); err != nil {
		return store.Group{}, err
	}
	name, description := g.Name, g.Description
	if p.Name != nil {
		name = *p.Name
	}
	if p.Description != nil {
		description = *p.Description
	}
	name, description, err := groupFields(name, description)
	if err != nil {
		return store.Group{}, err
	}
	updated := g
	updated.Name, updated.Description, updated.UpdatedAt = name, description, nextUpdate(a.now(), g.UpdatedAt)
	var c changes
	c.text("displayName", g.Name, updated.Name)
	c.text("description", g.Description, updated.Description)
	if len(c) == 0 {
		return g, nil
	}
	e := a.entry(catGroup, "Update group", groupTarget(updated), c)
	err = a.audited(ctx, e, func(ctx context.Context) error { return a.store.UpdateGroupIf(ctx, updated, g.UpdatedAt) })
	switch {
	case errors.Is(err, store.ErrNotLive):
		return store.Group{}, stale("group " + g.Name)
	case errors.Is(err, store.ErrNotFound):
		return store.Group{}, notFound("no group %q: it was deleted", g.ID)
	case err != nil:
		return store.Group{}, fmt.Errorf("update group %s: %w", g.ID, err)
	}
	return updated, nil
}

// DeleteGroup deletes a group with its memberships and role assignments.
func (a *Admin) DeleteGroup(ctx context.Context, g store.Group) error {
	if err := a.mayChangeGroups(); err != nil {
		return err
	}
	e := a.entry(catGroup, "Delete group", groupTarget(g), []store.AuditChange{{Property: "displayName", Old: g.Name}})
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.DeleteGroup(ctx, g.TenantID, g.ID) })
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no group %q: it was deleted", g.ID)
	}
	if err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return nil
}

// Principal is a user or a group, as a member or an assignee.
type Principal struct {
	Type store.PrincipalType
	ID   string
	Name string // a user's username, a group's name
}

// principal finds the user or group of id in t.
func (a *Admin) principal(ctx context.Context, t store.Tenant, id string) (Principal, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !ids.IsUUID(id) {
		return Principal{}, notFound("no user or group %q in tenant %s", id, t.Name)
	}
	u, err := a.store.GetUser(ctx, t.ID, id)
	if err == nil {
		return Principal{store.PrincipalUser, u.ID, u.Username}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Principal{}, err
	}
	g, err := a.store.GetGroup(ctx, t.ID, id)
	if err == nil {
		return Principal{store.PrincipalGroup, g.ID, g.Name}, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, notFound("no user or group %q in tenant %s", id, t.Name)
	}
	return Principal{}, err
}

// Principal finds the user or group of an id.
func (a *Admin) Principal(ctx context.Context, t store.Tenant, id string) (Principal, error) {
	if err := a.mayReadGroups(); err != nil {
		if err := a.may(PermUserReadWrite, PermApplicationReadWrite); err != nil {
			return Principal{}, err
		}
	}
	return a.principal(ctx, t, id)
}

// AddGroupMember adds a user or a group to g. Nesting goes one level deep,
// which is as far as tokens resolve it: a group with groups among its
// members cannot join another, and a group that is itself a member of one
// cannot take a group in.
func (a *Admin) AddGroupMember(ctx context.Context, t store.Tenant, g store.Group, memberID string) (Principal, error) {
	if err := a.mayChangeGroups(); err != nil {
		return Principal{}, err
	}
	m, err := a.principal(ctx, t, memberID)
	if err != nil {
		return Principal{}, err
	}
	if m.Type == store.PrincipalGroup {
		if err := a.checkNesting(ctx, g, m); err != nil {
			return Principal{}, err
		}
	}
	e := a.entry(catGroup, "Add member to group", groupTarget(g),
		[]store.AuditChange{{Property: "member", New: string(m.Type) + " " + m.Name + " (" + m.ID + ")"}})
	err = a.audited(ctx, e, func(ctx context.Context) error {
		return a.store.AddGroupMember(ctx, store.GroupMember{TenantID: g.TenantID, GroupID: g.ID, MemberID: m.ID,
			MemberType: m.Type, CreatedAt: a.now()})
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return Principal{}, invalid("%s is a member of %s already", m.Name, g.Name)
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, notFound("no group %q: it was deleted", g.ID)
	case err != nil:
		return Principal{}, fmt.Errorf("add group member: %w", err)
	}
	return m, nil
}

func (a *Admin) checkNesting(ctx context.Context, g store.Group, m Principal) error {
	if m.ID == g.ID {
		return invalid("a group cannot be a member of itself")
	}
	parents, err := a.store.ListMemberships(ctx, g.TenantID, g.ID)
	if err != nil {
		return fmt.Errorf("check nesting: %w", err)
	}
	if len(parents) > 0 {
		return invalid("%s is a member of another group, so it cannot take a group in: groups nest one level deep", g.Name)
	}
	members, err := a.store.ListGroupMembers(ctx, g.TenantID, m.ID, store.MemberQuery{Type: store.PrincipalGroup, Limit: 1})
	if err != nil {
		return fmt.Errorf("check nesting: %w", err)
	}
	if len(members) > 0 {
		return invalid("%s has groups among its members, so it cannot join another group: groups nest one level deep", m.Name)
	}
	return nil
}

// RemoveGroupMember removes a member from g.
func (a *Admin) RemoveGroupMember(ctx context.Context, t store.Tenant, g store.Group, memberID string) error {
	if err := a.mayChangeGroups(); err != nil {
		return err
	}
	memberID = strings.ToLower(strings.TrimSpace(memberID))
	name := memberID
	if m, err := a.principal(ctx, t, memberID); err == nil {
		name = string(m.Type) + " " + m.Name + " (" + m.ID + ")"
	}
	e := a.entry(catGroup, "Remove member from group", groupTarget(g), []store.AuditChange{{Property: "member", Old: name}})
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.RemoveGroupMember(ctx, g.TenantID, g.ID, memberID) })
	if errors.Is(err, store.ErrNotFound) {
		return notFound("%s is not a member of %s", memberID, g.Name)
	}
	if err != nil {
		return fmt.Errorf("remove group member: %w", err)
	}
	return nil
}

// GroupMembers lists all of g's direct members with their names, in one
// query, for the CLI.
func (a *Admin) GroupMembers(ctx context.Context, t store.Tenant, g store.Group) ([]Principal, error) {
	page, err := a.GroupMembersPage(ctx, t, g, "", 0)
	return page.Members, err
}

// MemberPage is one page of a group's members: groups, then users, each in
// id order. Next is the cursor the following page starts after, "" on the
// last page.
type MemberPage struct {
	Members []Principal
	Next    string
}

// GroupMembersPage reads at most n of g's direct members (all of them for
// n 0) after the cursor after, with their names, in one query.
func (a *Admin) GroupMembersPage(ctx context.Context, t store.Tenant, g store.Group, after string, n int) (MemberPage, error) {
	if err := a.mayReadGroups(); err != nil {
		return MemberPage{}, err
	}
	limit := 0
	if n > 0 {
		limit = n + 1
	}
	ms, err := a.store.ListGroupMembers(ctx, t.ID, g.ID, store.MemberQuery{After: after, Limit: limit})
	if err != nil {
		return MemberPage{}, fmt.Errorf("list group members: %w", err)
	}
	var page MemberPage
	if n > 0 && len(ms) > n {
		ms, page.Next = ms[:n], store.MemberCursor(ms[n-1])
	}
	page.Members = make([]Principal, 0, len(ms))
	for _, m := range ms {
		if m.MemberName == "" {
			continue // deleted since, in a transaction that is removing it
		}
		page.Members = append(page.Members, Principal{Type: m.MemberType, ID: m.MemberID, Name: m.MemberName})
	}
	return page, nil
}

// MemberGroupIDs lists the ids of the groups a user or group is a member
// of, directly or through one level of nesting (Graph's getMemberObjects
// and transitive memberOf): where a resource server resolves a groups
// claim overage.
func (a *Admin) MemberGroupIDs(ctx context.Context, t store.Tenant, p Principal) ([]string, error) {
	if err := a.mayReadGroups(); err != nil {
		return nil, err
	}
	if p.Type == store.PrincipalUser {
		access, err := a.store.UserAccess(ctx, t.ID, p.ID, store.AccessQuery{Groups: true})
		if err != nil {
			return nil, fmt.Errorf("list member groups: %w", err)
		}
		return access.GroupIDs, nil
	}
	direct, err := a.store.ListMemberships(ctx, t.ID, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list member groups: %w", err)
	}
	var out []string
	for _, m := range direct {
		out = append(out, m.GroupID)
		up, err := a.store.ListMemberships(ctx, t.ID, m.GroupID)
		if err != nil {
			return nil, fmt.Errorf("list member groups: %w", err)
		}
		for _, u := range up {
			out = append(out, u.GroupID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Membership is a group a user or group belongs to: directly, or through
// a group it is a direct member of (Via names that group).
type Membership struct {
	Group store.Group
	Via   string // "" for a direct membership, else the name of the group it comes through
}

// MemberOf lists the groups p belongs to, directly and through one level
// of nesting (as tokens resolve it), each once, by name. A group reached
// both ways counts as direct.
func (a *Admin) MemberOf(ctx context.Context, t store.Tenant, p Principal) ([]Membership, error) {
	if err := a.mayReadGroups(); err != nil {
		return nil, err
	}
	direct, err := a.store.ListMemberships(ctx, t.ID, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	byID := map[string]Membership{}
	var parents []Membership
	for _, m := range direct {
		g, err := a.store.GetGroup(ctx, t.ID, m.GroupID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since the membership was read
		}
		if err != nil {
			return nil, fmt.Errorf("list memberships: %w", err)
		}
		byID[g.ID] = Membership{Group: g}
		parents = append(parents, Membership{Group: g})
	}
	for _, parent := range parents {
		up, err := a.store.ListMemberships(ctx, t.ID, parent.Group.ID)
		if err != nil {
			return nil, fmt.Errorf("list memberships: %w", err)
		}
		for _, m := range up {
			if _, seen := byID[m.GroupID]; seen {
				continue
			}
			g, err := a.store.GetGroup(ctx, t.ID, m.GroupID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list memberships: %w", err)
			}
			byID[g.ID] = Membership{Group: g, Via: parent.Group.Name}
		}
	}
	out := make([]Membership, 0, len(byID))
	for _, m := range byID {
		out = append(out, m)
	}
	slices.SortFunc(out, func(x, y Membership) int {
		if c := strings.Compare(strings.ToLower(x.Group.Name), strings.ToLower(y.Group.Name)); c != 0 {
			return c
		}
		return strings.Compare(x.Group.ID, y.Group.ID)
	})
	return out, nil
}

// AppRoleAssignments lists the role assignments to a principal, or of a
// resource app's roles, or both together.
func (a *Admin) AppRoleAssignments(ctx context.Context, t store.Tenant, principalID, resourceID string) ([]store.AppRoleAssignment, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead, PermDirectoryReadWrite, PermUserReadWrite, PermGroupReadWrite); err != nil {
		return nil, err
	}
	as, err := a.store.ListAppRoleAssignments(ctx, t.ID, principalID, resourceID)
	if err != nil {
		return nil, fmt.Errorf("list app role assignments: %w", err)
	}
	return as, nil
}

// AssignAppRole gives a user or group one of resource's app roles, or
// DefaultAccessRole (leave to sign in, no role).
func (a *Admin) AssignAppRole(ctx context.Context, t store.Tenant, resource store.App, principalID, role string) (store.AppRoleAssignment, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryReadWrite); err != nil {
		return store.AppRoleAssignment{}, err
	}
	// The built-in apps' roles are admin API permissions, which user
	// tokens must never carry: those are what directory roles are for.
	if err := refuseBuiltIn(resource); err != nil {
		return store.AppRoleAssignment{}, err
	}
	if resource.TenantID != t.ID {
		return store.AppRoleAssignment{}, notFound("no app %q in tenant %s", resource.ClientID, t.Name)
	}
	role = strings.TrimSpace(role)
	if role != DefaultAccessRole && !slices.Contains(resource.Roles, role) {
		return store.AppRoleAssignment{}, invalid("app %s does not define the app role %q (it defines: %s; or %s for default access)",
			resource.Name, role, strings.Join(resource.Roles, " "), DefaultAccessRole)
	}
	p, err := a.principal(ctx, t, principalID)
	if err != nil {
		return store.AppRoleAssignment{}, err
	}
	as := store.AppRoleAssignment{ID: ids.New(), TenantID: t.ID, PrincipalID: p.ID, PrincipalType: p.Type,
		ResourceID: resource.ClientID, Role: role, CreatedAt: a.now()}
	e := a.entry(catApplication, "Add app role assignment", appTarget(resource),
		[]store.AuditChange{{Property: "appRoleAssignment", New: assignmentText(p, role)}})
	err = a.audited(ctx, e, func(ctx context.Context) error { return a.store.AddAppRoleAssignment(ctx, as) })
	switch {
	case errors.Is(err, store.ErrConflict):
		return store.AppRoleAssignment{}, invalid("%s holds %s of %s already", p.Name, role, resource.Name)
	case errors.Is(err, store.ErrNotFound):
		return store.AppRoleAssignment{}, notFound("no app %q: it was deleted", resource.ClientID)
	case err != nil:
		return store.AppRoleAssignment{}, fmt.Errorf("assign app role: %w", err)
	}
	return as, nil
}

func assignmentText(p Principal, role string) string {
	if role == DefaultAccessRole {
		role = "Default Access"
	}
	return role + " to " + string(p.Type) + " " + p.Name + " (" + p.ID + ")"
}

// UnassignAppRole removes one assignment of resource's roles by its id.
func (a *Admin) UnassignAppRole(ctx context.Context, t store.Tenant, resource store.App, id string) error {
	if err := a.may(PermApplicationReadWrite, PermDirectoryReadWrite); err != nil {
		return err
	}
	if resource.TenantID != t.ID {
		return notFound("no app %q in tenant %s", resource.ClientID, t.Name)
	}
	as, err := a.store.ListAppRoleAssignments(ctx, t.ID, "", resource.ClientID)
	if err != nil {
		return fmt.Errorf("unassign app role: %w", err)
	}
	i := slices.IndexFunc(as, func(x store.AppRoleAssignment) bool { return x.ID == id })
	if i < 0 {
		return notFound("app %s has no role assignment %q", resource.Name, id)
	}
	p := Principal{Type: as[i].PrincipalType, ID: as[i].PrincipalID, Name: as[i].PrincipalID}
	if found, err := a.principal(ctx, t, p.ID); err == nil {
		p = found
	}
	e := a.entry(catApplication, "Remove app role assignment", appTarget(resource),
		[]store.AuditChange{{Property: "appRoleAssignment", Old: assignmentText(p, as[i].Role)}})
	err = a.audited(ctx, e, func(ctx context.Context) error { return a.store.RemoveAppRoleAssignment(ctx, t.ID, id) })
	if errors.Is(err, store.ErrNotFound) {
		return notFound("app %s has no role assignment %q", resource.Name, id)
	}
	if err != nil {
		return fmt.Errorf("unassign app role: %w", err)
	}
	return nil
}
