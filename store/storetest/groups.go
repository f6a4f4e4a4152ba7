package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// testGroups: groups, their members, paging by name, and deleting a group
// or a user taking their memberships and assignments with them.
func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)

	eng := store.Group{ID: "g-eng", TenantID: t1, Name: "Engineering", Description: "Builders", CreatedAt: now, UpdatedAt: now}
	ops := store.Group{ID: "g-ops", TenantID: t1, Name: "Ópérations", CreatedAt: now, UpdatedAt: now}
	eng2 := store.Group{ID: "g-eng2", TenantID: t1, Name: "engineering", CreatedAt: now, UpdatedAt: now}
	for _, g := range []store.Group{eng, ops, eng2} {
		ok(t, s.CreateGroup(ctx, g))
	}
	isErr(t, s.CreateGroup(ctx, eng), store.ErrConflict)
	isErr(t, s.CreateGroup(ctx, store.Group{ID: "g-x", TenantID: "no-tenant", Name: "x"}), store.ErrNotFound)
	got, err := s.GetGroup(ctx, t1, eng.ID)
	ok(t, err)
	same(t, got, eng)
	_, err = s.GetGroup(ctx, t2, eng.ID)
	isErr(t, err, store.ErrNotFound)

	// Pages in name order, ties by id, one row at a time.
	var seen []string
	after := ""
	for {
		page, err := s.ListGroupsPage(ctx, t1, store.GroupQuery{After: after, Limit: 1})
		ok(t, err)
		if len(page) == 0 {
			break
		}
		seen = append(seen, page[0].ID)
		after = store.GroupCursor(page[0])
	}
	same(t, seen, []string{"g-eng", "g-eng2", "g-ops"})
	found, err := s.ListGroupsPage(ctx, t1, store.GroupQuery{Search: "ÓPÉ", Limit: 10})
	ok(t, err)
	same(t, found, []store.Group{ops})
	found, err = s.ListGroupsPage(ctx, t1, store.GroupQuery{Search: "%", Limit: 10})
	ok(t, err)
	same(t, len(found), 0)

	renamed := eng
	renamed.Name, renamed.Description, renamed.UpdatedAt = "Engineers", "", now.Add(time.Second)
	ok(t, s.UpdateGroupIf(ctx, renamed, eng.UpdatedAt))
	isErr(t, s.UpdateGroupIf(ctx, renamed, eng.UpdatedAt), store.ErrNotLive)
	gone := renamed
	gone.ID = "nope"
	isErr(t, s.UpdateGroupIf(ctx, gone, now), store.ErrNotFound)
	got, err = s.GetGroup(ctx, t1, eng.ID)
	ok(t, err)
	same(t, got, renamed)

	// u1 in eng; eng in ops (one level of nesting); u2 in eng2.
	members := []store.GroupMember{
		{TenantID: t1, GroupID: eng.ID, MemberID: "u1", MemberType: store.PrincipalUser, CreatedAt: now},
		{TenantID: t1, GroupID: ops.ID, MemberID: eng.ID, MemberType: store.PrincipalGroup, CreatedAt: now},
		{TenantID: t1, GroupID: eng2.ID, MemberID: "u2", MemberType: store.PrincipalUser, CreatedAt: now},
	}
	for _, m := range members {
		ok(t, s.AddGroupMember(ctx, m))
	}
	isErr(t, s.AddGroupMember(ctx, members[0]), store.ErrConflict)
	isErr(t, s.AddGroupMember(ctx, store.GroupMember{TenantID: t2, GroupID: eng.ID, MemberID: "u1", MemberType: store.PrincipalUser}), store.ErrNotFound)
	// Reads name the members, in the same query.
	named := slices.Clone(members)
	named[0].MemberName, named[1].MemberName, named[2].MemberName = "u1@example.com", "Engineers", "u2@example.com"
	ms, err := s.ListGroupMembers(ctx, t1, eng.ID, store.MemberQuery{})
	ok(t, err)
	same(t, ms, named[:1])
	ms, err = s.ListMemberships(ctx, t1, eng.ID)
	ok(t, err)
	same(t, ms, named[1:2])

	// Pages of members: groups, then users, one at a time; by type.
	ok(t, s.AddGroupMember(ctx, store.GroupMember{TenantID: t1, GroupID: ops.ID, MemberID: "u2", MemberType: store.PrincipalUser, CreatedAt: now}))
	var order []string
	for after := ""; ; {
		page, err := s.ListGroupMembers(ctx, t1, ops.ID, store.MemberQuery{After: after, Limit: 1})
		ok(t, err)
		if len(page) == 0 {
			break
		}
		order, after = append(order, page[0].MemberID), store.MemberCursor(page[0])
	}
	same(t, order, []string{eng.ID, "u2"})
	ms, err = s.ListGroupMembers(ctx, t1, ops.ID, store.MemberQuery{Type: store.PrincipalGroup})
	ok(t, err)
	same(t, len(ms), 1)
	ok(t, s.RemoveGroupMember(ctx, t1, ops.ID, "u2"))

	// Roles of api: Reader to u1 directly, Writer to ops (u1 through
	// eng), Admin to eng2 (not u1's); one of web's to eng.
	assignments := []store.AppRoleAssignment{
		{ID: "a1", TenantID: t1, PrincipalID: "u1", PrincipalType: store.PrincipalUser, ResourceID: "api", Role: "Reader", CreatedAt: now},
		{ID: "a2", TenantID: t1, PrincipalID: ops.ID, PrincipalType: store.PrincipalGroup, ResourceID: "api", Role: "Writer", CreatedAt: now},
		{ID: "a3", TenantID: t1, PrincipalID: eng2.ID, PrincipalType: store.PrincipalGroup, ResourceID: "api", Role: "Admin", CreatedAt: now},
		{ID: "a4", TenantID: t1, PrincipalID: eng.ID, PrincipalType: store.PrincipalGroup, ResourceID: "web", Role: "User", CreatedAt: now},
		{ID: "a5", TenantID: t1, PrincipalID: eng.ID, PrincipalType: store.PrincipalGroup, ResourceID: "api", Role: "Reader", CreatedAt: now},
	}
	for _, a := range assignments {
		ok(t, s.AddAppRoleAssignment(ctx, a))
	}
	dup := assignments[0]
	dup.ID = "a-dup"
	isErr(t, s.AddAppRoleAssignment(ctx, dup), store.ErrConflict)
	isErr(t, s.AddAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a-x", TenantID: t1, PrincipalID: "u1",
		PrincipalType: store.PrincipalUser, ResourceID: "no-app", Role: "R"}), store.ErrNotFound)
	as, err := s.ListAppRoleAssignments(ctx, t1, "u1", "")
	ok(t, err)
	want := assignments[0]
	want.PrincipalName = "u1@example.com"
	same(t, as, []store.AppRoleAssignment{want})
	as, err = s.ListAppRoleAssignments(ctx, t1, "", "web")
	ok(t, err)
	want = assignments[3]
	want.PrincipalName = "Engineers"
	same(t, as, []store.AppRoleAssignment{want})

	access, err := s.UserAccess(ctx, t1, "u1", store.AccessQuery{Groups: true, Resources: []string{"api", "web"}})
	ok(t, err)
	same(t, access, store.Access{GroupIDs: []string{"g-eng", "g-ops"},
		Roles: map[string][]string{"api": {"Reader", "Writer"}, "web": {"User"}}})
	access, err = s.UserAccess(ctx, t1, "u1", store.AccessQuery{Groups: true})
	ok(t, err)
	same(t, access, store.Access{GroupIDs: []string{"g-eng", "g-ops"}, Roles: map[string][]string{}})
	access, err = s.UserAccess(ctx, t1, "u2", store.AccessQuery{Resources: []string{"api"}})
	ok(t, err)
	same(t, access, store.Access{Roles: map[string][]string{"api": {"Admin"}}})
	// Another tenant's user of the same id holds nothing of these.
	access, err = s.UserAccess(ctx, t2, "u1", store.AccessQuery{Groups: true, Resources: []string{"api"}})
	ok(t, err)
	same(t, access, store.Access{Roles: map[string][]string{}})

	isErr(t, s.RemoveAppRoleAssignment(ctx, t2, "a1"), store.ErrNotFound)
	ok(t, s.RemoveAppRoleAssignment(ctx, t1, "a1"))
	isErr(t, s.RemoveAppRoleAssignment(ctx, t1, "a1"), store.ErrNotFound)
	isErr(t, s.RemoveGroupMember(ctx, t1, ops.ID, "u1"), store.ErrNotFound)
	ok(t, s.RemoveGroupMember(ctx, t1, ops.ID, eng.ID))
	access, err = s.UserAccess(ctx, t1, "u1", store.AccessQuery{Groups: true, Resources: []string{"api"}})
	ok(t, err)
	same(t, access, store.Access{GroupIDs: []string{"g-eng"}, Roles: map[string][]string{"api": {"Reader"}}})

	// Deleting eng takes its members, its memberships and its assignments.
	ok(t, s.AddGroupMember(ctx, members[1]))
	ok(t, s.DeleteGroup(ctx, t1, eng.ID))
	isErr(t, s.DeleteGroup(ctx, t1, eng.ID), store.ErrNotFound)
	ms, err = s.ListMemberships(ctx, t1, "u1")
	ok(t, err)
	same(t, len(ms), 0)
	ms, err = s.ListGroupMembers(ctx, t1, ops.ID, store.MemberQuery{})
	ok(t, err)
	same(t, len(ms), 0)
	as, err = s.ListAppRoleAssignments(ctx, t1, eng.ID, "")
	ok(t, err)
	same(t, len(as), 0)

	// Deleting a user takes theirs; deleting an app the assignments of its roles.
	ok(t, s.DeleteUser(ctx, t1, "u2", now))
	ms, err = s.ListGroupMembers(ctx, t1, eng2.ID, store.MemberQuery{})
	ok(t, err)
	same(t, len(ms), 0)
	ok(t, s.AddAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a6", TenantID: t1, PrincipalID: "u1",
		PrincipalType: store.PrincipalUser, ResourceID: "api", Role: "Reader", CreatedAt: now}))
	ok(t, s.DeleteApp(ctx, t1, "api", now))
	as, err = s.ListAppRoleAssignments(ctx, t1, "", "")
	ok(t, err)
	same(t, len(as), 0)

	// An app keeps its assignment and groups claim settings.
	app, err := s.GetApp(ctx, t1, "web")
	ok(t, err)
	app.AppRoleAssignmentRequired, app.GroupMembershipClaims = true, store.GroupsSecurity
	ok(t, s.UpdateApp(ctx, app))
	got2, err := s.GetApp(ctx, t1, "web")
	ok(t, err)
	same(t, got2, app)

	ok(t, s.DeleteTenant(ctx, t1))
}
