package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/store"
)

// testDirectoryRoles: a user holds each role once, only a user who exists
// holds one, roles are listed per user or per tenant, and they go with the
// user.
func testDirectoryRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	role := func(tid, uid, r string) store.RoleAssignment {
		return store.RoleAssignment{TenantID: tid, UserID: uid, Role: r, CreatedAt: now}
	}
	ok(t, s.AddDirectoryRole(ctx, role(t1, "u1", "Global Administrator")))
	ok(t, s.AddDirectoryRole(ctx, role(t1, "u1", "Reports Reader")))
	ok(t, s.AddDirectoryRole(ctx, role(t1, "u2", "User Administrator")))
	ok(t, s.AddDirectoryRole(ctx, role(t2, "u1", "Application Administrator")))
	isErr(t, s.AddDirectoryRole(ctx, role(t1, "u1", "Global Administrator")), store.ErrConflict)
	isErr(t, s.AddDirectoryRole(ctx, role(t1, "nobody", "Global Administrator")), store.ErrNotFound)

	got, err := s.ListDirectoryRoles(ctx, t1, "u1")
	ok(t, err)
	same(t, got, []store.RoleAssignment{role(t1, "u1", "Global Administrator"), role(t1, "u1", "Reports Reader")})
	all, err := s.ListDirectoryRoles(ctx, t1, "")
	ok(t, err)
	if len(all) != 3 {
		t.Errorf("tenant 1 has %d assignments, want 3: %+v", len(all), all)
	}

	ok(t, s.RemoveDirectoryRole(ctx, t1, "u1", "Reports Reader"))
	isErr(t, s.RemoveDirectoryRole(ctx, t1, "u1", "Reports Reader"), store.ErrNotFound)
	ok(t, s.DeleteUser(ctx, t1, "u1", now))
	got, err = s.ListDirectoryRoles(ctx, t1, "u1")
	ok(t, err)
	if len(got) != 0 {
		t.Errorf("a deleted user's roles are left: %+v", got)
	}
	got, err = s.ListDirectoryRoles(ctx, t2, "u1")
	ok(t, err)
	same(t, got, []store.RoleAssignment{role(t2, "u1", "Application Administrator")})
}
