package sqlstore

import (
	"context"
	"time"

	"github.com/tessera-id/tessera/store"
)

// What a user does to their own account (the account page): their
// sessions and the consents they gave. Each change is one transaction,
// so that a session or a grant never ends without what it issued.

// ListUserSessions implements store.Store.
func (s *Store) ListUserSessions(ctx context.Context, tenantID, userID string, now time.Time) ([]store.Session, error) {
	ss, err := list(ctx, s, scanSession, `SELECT `+s.sessionCols+` FROM sessions
		WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3
		ORDER BY created_at DESC, id`, tenantID, userID, now)
	return ss, s.wrap("list user sessions", err)
}

// EndUserSessions implements store.Store. Each session is addressed by
// tenant, id and user together, so an id of another user's session ends
// nothing.
func (s *Store) EndUserSessions(ctx context.Context, tenantID, userID string, ids, keep []string, now time.Time) (int, error) {
	ended := 0
	err := s.tx(ctx, func(c conn) error {
		ended = 0
		for _, id := range ids {
			n, err := rowsAffected(c.exec(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND id = $2 AND user_id = $3`,
				tenantID, id, userID))
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			ended++
			query := `UPDATE refresh_families SET revoked_at = $1
				WHERE tenant_id = $2 AND session_id = $3 AND user_id = $4 AND revoked_at IS NULL AND expires_at > $1`
			args := []any{now, tenantID, id, userID}
			if len(keep) > 0 {
				query += ` AND client_id NOT IN (` + placeholders(len(args)+1, len(keep)) + `)`
				for _, k := range keep {
					args = append(args, k)
				}
			}
			if _, err := c.exec(ctx, query, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return ended, s.wrap("end user sessions", err)
}

// ListUserConsents implements store.Store.
func (s *Store) ListUserConsents(ctx context.Context, tenantID, userID string) ([]store.Consent, error) {
	if userID == "" {
		// "" is the tenant-wide principal, which is no user.
		return nil, nil
	}
	cs, err := list(ctx, s, scanConsent, `SELECT `+consentCols+` FROM consents
		WHERE tenant_id = $1 AND principal_id = $2
		ORDER BY client_id, resource_id, kind, value`, tenantID, userID)
	return cs, s.wrap("list user consents", err)
}

// WithdrawConsent implements store.Store.
func (s *Store) WithdrawConsent(ctx context.Context, tenantID, clientID, userID string, now time.Time) error {
	if userID == "" {
		return store.ErrNotFound
	}
	err := s.tx(ctx, func(c conn) error {
		if err := deleteOne(ctx, c, `DELETE FROM consents WHERE tenant_id = $1 AND client_id = $2 AND principal_id = $3`,
			tenantID, clientID, userID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
			WHERE tenant_id = $2 AND user_id = $3 AND client_id = $4 AND revoked_at IS NULL AND expires_at > $1`,
			now, tenantID, userID, clientID)
		return err
	})
	return s.wrap("withdraw consent", err)
}
