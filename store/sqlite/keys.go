package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

const keyCols = `tenant_id, id, alg, status, private_key, public_jwk, created_at, expires_at`

const insertKey = `INSERT INTO signing_keys (` + keyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func keyArgs(k store.SigningKey) []any {
	return []any{k.TenantID, k.ID, k.Alg, string(k.Status), k.PrivateKey, k.PublicJWK,
		millis(k.CreatedAt), millis(k.ExpiresAt)}
}

func scanKey(row scanner) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.TenantID, &k.ID, &k.Alg, &k.Status, &k.PrivateKey, &k.PublicJWK,
		timeCol{&k.CreatedAt}, timeCol{&k.ExpiresAt})
	return k, err
}

// AddSigningKey implements store.Store. A tenant has at most one next and
// one active key; adding a second is ErrConflict.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.exec(ctx, insertKey, keyArgs(k)...)
	return wrap("add signing key", err)
}

// ListSigningKeys implements store.Store.
func (s *Store) ListSigningKeys(ctx context.Context, tenantID string, now time.Time) ([]store.SigningKey, error) {
	ks, err := list(ctx, s, scanKey, `SELECT `+keyCols+` FROM signing_keys
		WHERE tenant_id = ? AND (status <> 'retired' OR expires_at > ?)
		ORDER BY created_at DESC, id`, tenantID, now.UnixMilli())
	return ks, wrap("list signing keys", err)
}

// RotateSigningKeys implements store.Store. newNext is stored as the next
// key whatever its Status says, in tenantID.
func (s *Store) RotateSigningKeys(ctx context.Context, tenantID string, newNext store.SigningKey, retiredExpiresAt time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var nextID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM signing_keys WHERE tenant_id = ? AND status = 'next'`,
			tenantID).Scan(&nextID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no next key to activate: %w", store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		// In this order, so that no statement sees two active or two next
		// keys.
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET status = 'retired', expires_at = ?
			WHERE tenant_id = ? AND status = 'active'`, millis(retiredExpiresAt), tenantID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET status = 'active'
			WHERE tenant_id = ? AND id = ?`, tenantID, nextID); err != nil {
			return err
		}
		newNext.TenantID, newNext.Status = tenantID, store.KeyNext
		_, err = tx.ExecContext(ctx, insertKey, keyArgs(newNext)...)
		return err
	})
	return wrap("rotate signing keys", err)
}
