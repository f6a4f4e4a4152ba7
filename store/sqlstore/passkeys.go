package sqlstore

import (
	"context"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Passkeys.

const passkeyColumns = `tenant_id, id, user_id, name, credential, sign_count, created_at, last_used_at`

func scanPasskey(row scanner) (store.Passkey, error) {
	var p store.Passkey
	var count int64
	err := row.Scan(&p.TenantID, &p.ID, &p.UserID, &p.Name, &p.Credential, &count, timeCol{&p.CreatedAt}, timeCol{&p.LastUsedAt})
	p.SignCount = uint32(count)
	return p, err
}

// AddPasskey implements store.Store.
func (s *Store) AddPasskey(ctx context.Context, p store.Passkey) error {
	_, err := s.exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.TenantID, p.ID, p.UserID, p.Name, p.Credential, int64(p.SignCount), p.CreatedAt, p.LastUsedAt)
	return s.wrap("add passkey", err)
}

// ListPasskeys implements store.Store.
func (s *Store) ListPasskeys(ctx context.Context, tenantID, userID string) ([]store.Passkey, error) {
	ps, err := list(ctx, s, scanPasskey, `SELECT `+passkeyColumns+` FROM passkeys
		WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id`, tenantID, userID)
	return ps, s.wrap("list passkeys", err)
}

// GetPasskey implements store.Store.
func (s *Store) GetPasskey(ctx context.Context, tenantID, id string) (store.Passkey, error) {
	p, err := get(ctx, s, scanPasskey, `SELECT `+passkeyColumns+` FROM passkeys WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return p, s.wrap("get passkey", err)
}

// UsePasskey implements store.Store. The counter is compared in the
// UPDATE itself, so of two sign-ins presenting the same counter value
// (a replayed assertion) exactly one changes the row.
func (s *Store) UsePasskey(ctx context.Context, tenantID, id string, prevCount, signCount uint32, at time.Time) error {
	n, err := s.exec(ctx, `UPDATE passkeys SET sign_count = $1, last_used_at = $2
		WHERE tenant_id = $3 AND id = $4 AND sign_count = $5`, int64(signCount), at, tenantID, id, int64(prevCount))
	if err == nil && n == 0 {
		if _, err = s.GetPasskey(ctx, tenantID, id); err == nil {
			err = store.ErrNotLive
		}
		return err
	}
	return s.wrap("use passkey", err)
}

// RemovePasskey implements store.Store.
func (s *Store) RemovePasskey(ctx context.Context, tenantID, userID, id string) error {
	err := s.execOne(ctx, `DELETE FROM passkeys WHERE tenant_id = $1 AND user_id = $2 AND id = $3`, tenantID, userID, id)
	return s.wrap("remove passkey", err)
}
