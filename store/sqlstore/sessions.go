package sqlstore

import (
	"context"

	"github.com/tessera-id/tessera/store"
)

// Sessions.

const sessionCols = `id, hash, tenant_id, user_id, auth_time, created_at, expires_at`

func scanSession(row scanner) (store.Session, error) {
	var ss store.Session
	err := row.Scan(&ss.ID, &ss.Hash, &ss.TenantID, &ss.UserID, timeCol{&ss.AuthTime},
		timeCol{&ss.CreatedAt}, timeCol{&ss.ExpiresAt})
	return ss, err
}

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ss.ID, ss.Hash, ss.TenantID, ss.UserID, ss.AuthTime, ss.CreatedAt, ss.ExpiresAt)
	return s.wrap("create session", err)
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, tenantID string, hash []byte) (store.Session, error) {
	ss, err := get(ctx, s, scanSession,
		`SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return ss, s.wrap("get session", err)
}

// GetSessionByID implements store.Store.
func (s *Store) GetSessionByID(ctx context.Context, tenantID, id string) (store.Session, error) {
	ss, err := get(ctx, s, scanSession,
		`SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return ss, s.wrap("get session by id", err)
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, tenantID string, hash []byte) error {
	err := s.execOne(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return s.wrap("delete session", err)
}
