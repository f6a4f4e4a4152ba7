package sqlstore

import (
	"context"

	"github.com/tessera-id/tessera/store"
)

// Directory roles.

func scanRole(row scanner) (store.RoleAssignment, error) {
	var r store.RoleAssignment
	err := row.Scan(&r.TenantID, &r.UserID, &r.Role, timeCol{&r.CreatedAt})
	return r, err
}

// AddDirectoryRole implements store.Store.
func (s *Store) AddDirectoryRole(ctx context.Context, r store.RoleAssignment) error {
	_, err := s.exec(ctx, `INSERT INTO directory_roles (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
		r.TenantID, r.UserID, r.Role, r.CreatedAt)
	return s.wrap("add directory role", err)
}

// RemoveDirectoryRole implements store.Store.
func (s *Store) RemoveDirectoryRole(ctx context.Context, tenantID, userID, role string) error {
	err := s.execOne(ctx, `DELETE FROM directory_roles WHERE tenant_id = $1 AND user_id = $2 AND role = $3`, tenantID, userID, role)
	return s.wrap("remove directory role", err)
}

// ListDirectoryRoles implements store.Store.
func (s *Store) ListDirectoryRoles(ctx context.Context, tenantID, userID string) ([]store.RoleAssignment, error) {
	rs, err := list(ctx, s, scanRole, `SELECT tenant_id, user_id, role, created_at FROM directory_roles
		WHERE tenant_id = $1 AND ($2 = '' OR user_id = $2) ORDER BY user_id, role`, tenantID, userID)
	return rs, s.wrap("list directory roles", err)
}
