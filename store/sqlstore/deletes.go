package sqlstore

import (
	"context"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Deleting directory objects. Each is one transaction, so that what the
// object held (secrets, grants, sessions, refresh tokens) never outlives it
// half-way. Revoked refresh families are kept until they expire, like every
// revoked family, so that a late reuse of one of their tokens is still
// recognised.

// deleteOne runs a DELETE addressed by primary key in c: deleting nothing
// means the row does not exist.
func deleteOne(ctx context.Context, c conn, query string, args ...any) error {
	n, err := rowsAffected(c.exec(ctx, query, args...))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// DeleteApp implements store.Store. Secrets, credentials and the consents
// given to the app go with its row (foreign keys, ON DELETE CASCADE); the
// consents other apps hold on its API are deleted here, since they name it
// only as a resource.
func (s *Store) DeleteApp(ctx context.Context, tenantID, clientID string, now time.Time) error {
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
			WHERE tenant_id = $2 AND client_id = $3 AND revoked_at IS NULL AND expires_at > $1`, now, tenantID, clientID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND resource_id = $2`, tenantID, clientID); err != nil {
			return err
		}
		return deleteOne(ctx, c, `DELETE FROM apps WHERE tenant_id = $1 AND client_id = $2`, tenantID, clientID)
	})
	return s.wrap("delete app", err)
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, tenantID, userID string, now time.Time) error {
	err := s.tx(ctx, func(c conn) error {
		if err := revokeUserFamilies(ctx, c, tenantID, userID, now); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND principal_id = $2`, tenantID, userID); err != nil {
			return err
		}
		if err := deletePrincipal(ctx, c, tenantID, userID); err != nil {
			return err
		}
		return deleteOne(ctx, c, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID)
	})
	return s.wrap("delete user", err)
}

// RevokeUserSessions implements store.Store.
func (s *Store) RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time) error {
	err := s.tx(ctx, func(c conn) error {
		if err := revokeUserFamilies(ctx, c, tenantID, userID, now); err != nil {
			return err
		}
		_, err := c.exec(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
		return err
	})
	return s.wrap("revoke user sessions", err)
}

func revokeUserFamilies(ctx context.Context, c conn, tenantID, userID string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
		WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1`, now, tenantID, userID)
	return err
}

// tenantTables are the tables DeleteTenant empties of a tenant's rows, in
// an order no foreign key objects to: what refers to a row goes first.
// The audit log is kept; rate-limit windows carry no tenant and expire.
func tenantTables() []string {
	return []string{
		"refresh_tokens", "refresh_families", "auth_codes", "auth_requests", "sessions", "device_codes",
		"assertion_ids", "revoked_access_tokens", "throttles", "consents", "client_secrets", "app_credentials",
		"directory_roles", "app_role_assignments", "group_members", "directory_groups", "users", "signing_keys", "apps",
	}
}

// DeleteTenant implements store.Store.
func (s *Store) DeleteTenant(ctx context.Context, tenantID string) error {
	err := s.tx(ctx, func(c conn) error {
		for _, table := range s.tenantTables {
			if _, err := c.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1`, tenantID); err != nil {
				return err
			}
		}
		return deleteOne(ctx, c, `DELETE FROM tenants WHERE id = $1`, tenantID)
	})
	return s.wrap("delete tenant", err)
}

// RemoveGrant implements store.Store.
func (s *Store) RemoveGrant(ctx context.Context, tenantID, clientID, principalID, resourceID string, now time.Time) error {
	err := s.tx(ctx, func(c conn) error {
		if err := deleteOne(ctx, c, `DELETE FROM consents WHERE tenant_id = $1 AND client_id = $2 AND principal_id = $3
			AND resource_id = $4 AND kind = 'scope'`, tenantID, clientID, principalID, resourceID); err != nil || principalID == "" {
			return err
		}
		_, err := c.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
			WHERE tenant_id = $2 AND user_id = $3 AND client_id = $4 AND revoked_at IS NULL AND expires_at > $1`,
			now, tenantID, principalID, clientID)
		return err
	})
	return s.wrap("remove grant", err)
}
