package postgres

import (
	"context"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Auth requests.

const authRequestCols = `id, tenant_id, client_id, params, browser_hash, csrf, user_id, session_id,
	auth_time, created_at, expires_at`

func scanAuthRequest(row scanner) (store.AuthRequest, error) {
	var r store.AuthRequest
	err := row.Scan(&r.ID, &r.TenantID, &r.ClientID, &r.Params, &r.BrowserHash, &r.CSRF, &r.UserID,
		&r.SessionID, timeCol{&r.AuthTime}, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt})
	return r, err
}

// CreateAuthRequest implements store.Store.
func (s *Store) CreateAuthRequest(ctx context.Context, r store.AuthRequest) error {
	_, err := s.exec(ctx, `INSERT INTO auth_requests (`+authRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.TenantID, r.ClientID, r.Params, r.BrowserHash, r.CSRF, r.UserID, r.SessionID,
		ts(r.AuthTime), ts(r.CreatedAt), ts(r.ExpiresAt))
	return wrap("create auth request", err)
}

// GetAuthRequest implements store.Store.
func (s *Store) GetAuthRequest(ctx context.Context, tenantID, id string) (store.AuthRequest, error) {
	r, err := get(ctx, s, scanAuthRequest,
		`SELECT `+authRequestCols+` FROM auth_requests WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return r, wrap("get auth request", err)
}

// SetAuthRequestUser implements store.Store.
func (s *Store) SetAuthRequestUser(ctx context.Context, tenantID, id, userID, sessionID string, authTime time.Time) error {
	err := s.execOne(ctx, `UPDATE auth_requests SET user_id = $1, session_id = $2, auth_time = $3
		WHERE tenant_id = $4 AND id = $5`, userID, sessionID, ts(authTime), tenantID, id)
	return wrap("set auth request user", err)
}

// DeleteAuthRequest implements store.Store. Deleting a request that is gone
// is ErrNotFound, so that a replayed form submission can be told apart: of
// two submissions racing, exactly one deletes the row.
func (s *Store) DeleteAuthRequest(ctx context.Context, tenantID, id string) error {
	err := s.execOne(ctx, `DELETE FROM auth_requests WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return wrap("delete auth request", err)
}

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
		ss.ID, ss.Hash, ss.TenantID, ss.UserID, ts(ss.AuthTime), ts(ss.CreatedAt), ts(ss.ExpiresAt))
	return wrap("create session", err)
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, tenantID string, hash []byte) (store.Session, error) {
	ss, err := get(ctx, s, scanSession,
		`SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return ss, wrap("get session", err)
}

// GetSessionByID implements store.Store.
func (s *Store) GetSessionByID(ctx context.Context, tenantID, id string) (store.Session, error) {
	ss, err := get(ctx, s, scanSession,
		`SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return ss, wrap("get session by id", err)
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, tenantID string, hash []byte) error {
	err := s.execOne(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return wrap("delete session", err)
}
