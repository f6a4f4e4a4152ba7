package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Groups, their members, and app role assignments to users and groups.

const groupCols = `id, tenant_id, name, description, created_at, updated_at`

func scanGroup(row scanner) (store.Group, error) {
	var g store.Group
	err := row.Scan(&g.ID, &g.TenantID, &g.Name, &g.Description, timeCol{&g.CreatedAt}, timeCol{&g.UpdatedAt})
	return g, err
}

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	_, err := s.exec(ctx, `INSERT INTO directory_groups (`+groupCols+`, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		g.ID, g.TenantID, g.Name, g.Description, g.CreatedAt, g.UpdatedAt, store.GroupKey(g.Name))
	return s.wrap("create group", err)
}

// GetGroup implements store.Store.
func (s *Store) GetGroup(ctx context.Context, tenantID, groupID string) (store.Group, error) {
	g, err := get(ctx, s, scanGroup, `SELECT `+groupCols+` FROM directory_groups WHERE tenant_id = $1 AND id = $2`, tenantID, groupID)
	return g, s.wrap("get group", err)
}

// ListGroupsPage implements store.Store. Names are not unique, so the
// order and the cursor are (name key, id); the directory_groups_name
// index serves both, as users_username does for users.
func (s *Store) ListGroupsPage(ctx context.Context, tenantID string, q store.GroupQuery) ([]store.Group, error) {
	if q.Limit < 1 {
		return nil, nil
	}
	afterKey, afterID, _ := strings.Cut(q.After, "\x00")
	query := `SELECT ` + groupCols + ` FROM directory_groups WHERE tenant_id = $1
		AND (name_key > $2 OR (name_key = $2 AND id > $3))`
	args := []any{tenantID, afterKey, afterID}
	if q.Search != "" {
		query += ` AND name_key LIKE $4 ESCAPE '!'`
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(q.Search))+"%")
	}
	query += fmt.Sprintf(` ORDER BY name_key, id LIMIT %d`, q.Limit)
	gs, err := list(ctx, s, scanGroup, query, args...)
	return gs, s.wrap("list groups page", err)
}

// UpdateGroupIf implements store.Store.
func (s *Store) UpdateGroupIf(ctx context.Context, g store.Group, ifUpdatedAt time.Time) error {
	n, err := s.exec(ctx, `UPDATE directory_groups SET name = $1, name_key = $2, description = $3, updated_at = $4
		WHERE tenant_id = $5 AND id = $6 AND (updated_at = $7 OR $7 IS NULL)`,
		g.Name, store.GroupKey(g.Name), g.Description, g.UpdatedAt, g.TenantID, g.ID, ifUpdatedAt)
	if err == nil && n == 0 {
		err = s.missingOrChanged(ctx, ifUpdatedAt, func() error { _, err := s.GetGroup(ctx, g.TenantID, g.ID); return err })
	}
	return s.wrap("update group", err)
}

// DeleteGroup implements store.Store. Its members go with its row (foreign
// key, ON DELETE CASCADE); its own memberships and its assignments name it
// as a principal only, so they are deleted here.
func (s *Store) DeleteGroup(ctx context.Context, tenantID, groupID string) error {
	err := s.tx(ctx, func(c conn) error {
		if err := deletePrincipal(ctx, c, tenantID, groupID); err != nil {
			return err
		}
		return deleteOne(ctx, c, `DELETE FROM directory_groups WHERE tenant_id = $1 AND id = $2`, tenantID, groupID)
	})
	return s.wrap("delete group", err)
}

// deletePrincipal removes, in c's transaction, what names a user or group
// as a member or an assignee.
func deletePrincipal(ctx context.Context, c conn, tenantID, id string) error {
	if _, err := c.exec(ctx, `DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2`, tenantID, id); err != nil {
		return err
	}
	_, err := c.exec(ctx, `DELETE FROM app_role_assignments WHERE tenant_id = $1 AND principal_id = $2`, tenantID, id)
	return err
}

const memberCols = `tenant_id, group_id, member_id, member_type, created_at`

// principalName is the name of the user or group a row of table t names
// in its column col, joined in the same query rather than read a row at a
// time; the joins name their tables pu and pg.
func principalName(t, col, typeCol string) (expr, joins string) {
	return `COALESCE(pu.username, pg.name, '')`,
		` LEFT JOIN users pu ON pu.tenant_id = ` + t + `.tenant_id AND pu.id = ` + t + `.` + col + ` AND ` + t + `.` + typeCol + ` = 'user'` +
			` LEFT JOIN directory_groups pg ON pg.tenant_id = ` + t + `.tenant_id AND pg.id = ` + t + `.` + col + ` AND ` + t + `.` + typeCol + ` = 'group'`
}

// memberSelect reads group_members rows as m, with their names.
func memberSelect() string {
	name, joins := principalName("m", "member_id", "member_type")
	return `SELECT m.tenant_id, m.group_id, m.member_id, m.member_type, m.created_at, ` + name + ` FROM group_members m` + joins
}

func scanMember(row scanner) (store.GroupMember, error) {
	var m store.GroupMember
	err := row.Scan(&m.TenantID, &m.GroupID, &m.MemberID, &m.MemberType, timeCol{&m.CreatedAt}, &m.MemberName)
	return m, err
}

// AddGroupMember implements store.Store.
func (s *Store) AddGroupMember(ctx context.Context, m store.GroupMember) error {
	_, err := s.exec(ctx, `INSERT INTO group_members (`+memberCols+`) VALUES ($1, $2, $3, $4, $5)`,
		m.TenantID, m.GroupID, m.MemberID, string(m.MemberType), m.CreatedAt)
	return s.wrap("add group member", err)
}

// RemoveGroupMember implements store.Store.
func (s *Store) RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error {
	err := s.execOne(ctx, `DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = $3`,
		tenantID, groupID, memberID)
	return s.wrap("remove group member", err)
}

// ListGroupMembers implements store.Store. The primary key (tenant_id,
// group_id, member_id) serves the lookup; the sort of a page is the
// engine's, over the group's rows only.
func (s *Store) ListGroupMembers(ctx context.Context, tenantID, groupID string, q store.MemberQuery) ([]store.GroupMember, error) {
	afterType, afterID, _ := strings.Cut(q.After, "\x00")
	query := memberSelect() + `
		WHERE m.tenant_id = $1 AND m.group_id = $2 AND ($3 = '' OR m.member_type = $3)
		AND (m.member_type > $4 OR (m.member_type = $4 AND m.member_id > $5))
		ORDER BY m.member_type, m.member_id`
	if q.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	ms, err := list(ctx, s, scanMember, query, tenantID, groupID, string(q.Type), afterType, afterID)
	return ms, s.wrap("list group members", err)
}

// ListMemberships implements store.Store.
func (s *Store) ListMemberships(ctx context.Context, tenantID, memberID string) ([]store.GroupMember, error) {
	ms, err := list(ctx, s, scanMember, memberSelect()+`
		WHERE m.tenant_id = $1 AND m.member_id = $2 ORDER BY m.group_id`, tenantID, memberID)
	return ms, s.wrap("list memberships", err)
}

const assignmentCols = `id, tenant_id, principal_id, principal_type, resource_id, app_role, created_at`

func scanAssignment(row scanner) (store.AppRoleAssignment, error) {
	var a store.AppRoleAssignment
	err := row.Scan(&a.ID, &a.TenantID, &a.PrincipalID, &a.PrincipalType, &a.ResourceID, &a.Role, timeCol{&a.CreatedAt}, &a.PrincipalName)
	return a, err
}

// AddAppRoleAssignment implements store.Store.
func (s *Store) AddAppRoleAssignment(ctx context.Context, a store.AppRoleAssignment) error {
	_, err := s.exec(ctx, `INSERT INTO app_role_assignments (`+assignmentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, a.TenantID, a.PrincipalID, string(a.PrincipalType), a.ResourceID, a.Role, a.CreatedAt)
	return s.wrap("add app role assignment", err)
}

// RemoveAppRoleAssignment implements store.Store.
func (s *Store) RemoveAppRoleAssignment(ctx context.Context, tenantID, id string) error {
	err := s.execOne(ctx, `DELETE FROM app_role_assignments WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return s.wrap("remove app role assignment", err)
}

// ListAppRoleAssignments implements store.Store.
func (s *Store) ListAppRoleAssignments(ctx context.Context, tenantID, principalID, resourceID string) ([]store.AppRoleAssignment, error) {
	name, joins := principalName("a", "principal_id", "principal_type")
	as, err := list(ctx, s, scanAssignment, `SELECT a.id, a.tenant_id, a.principal_id, a.principal_type, a.resource_id,
		a.app_role, a.created_at, `+name+` FROM app_role_assignments a`+joins+`
		WHERE a.tenant_id = $1 AND ($2 = '' OR a.principal_id = $2) AND ($3 = '' OR a.resource_id = $3)
		ORDER BY a.resource_id, a.app_role, a.principal_id`, tenantID, principalID, resourceID)
	return as, s.wrap("list app role assignments", err)
}

// UserAccess implements store.Store: one statement, whatever q asks, so
// that a token needing both groups and roles costs one round trip. mine
// is the user's groups: direct, and those one of them is a member of.
func (s *Store) UserAccess(ctx context.Context, tenantID, userID string, q store.AccessQuery) (store.Access, error) {
	out := store.Access{Roles: map[string][]string{}}
	if !q.Groups && len(q.Resources) == 0 {
		return out, nil
	}
	var parts []string
	args := []any{tenantID, userID}
	if q.Groups {
		parts = append(parts, `SELECT 'g', group_id, '' FROM mine`)
	}
	if len(q.Resources) > 0 {
		parts = append(parts, `SELECT 'r', resource_id, app_role FROM app_role_assignments
			WHERE tenant_id = $1 AND resource_id IN (`+placeholders(3, len(q.Resources))+`)
			AND (principal_id = $2 OR principal_id IN (SELECT group_id FROM mine))`)
		for _, r := range q.Resources {
			args = append(args, r)
		}
	}
	query := `WITH direct AS (SELECT group_id FROM group_members WHERE tenant_id = $1 AND member_id = $2),
		mine AS (SELECT group_id FROM direct UNION
			SELECT p.group_id FROM group_members p JOIN direct d ON p.member_id = d.group_id WHERE p.tenant_id = $1)
		` + strings.Join(parts, " UNION ALL ")
	type row struct{ kind, id, role string }
	rows, err := list(ctx, s, func(sc scanner) (row, error) {
		var r row
		err := sc.Scan(&r.kind, &r.id, &r.role)
		return r, err
	}, query, args...)
	if err != nil {
		return store.Access{}, s.wrap("user access", err)
	}
	for _, r := range rows {
		if r.kind == "g" {
			out.GroupIDs = append(out.GroupIDs, r.id)
		} else {
			out.Roles[r.id] = append(out.Roles[r.id], r.role)
		}
	}
	slices.Sort(out.GroupIDs)
	out.GroupIDs = slices.Compact(out.GroupIDs)
	for k, v := range out.Roles {
		slices.Sort(v)
		out.Roles[k] = slices.Compact(v)
	}
	return out, nil
}
