package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

const keyCols = `tenant_id, id, alg, status, private_key, public_jwk, created_at, expires_at`

const insertKey = `INSERT INTO signing_keys (` + keyCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func keyArgs(k store.SigningKey) []any {
	return []any{k.TenantID, k.ID, k.Alg, string(k.Status), k.PrivateKey, k.PublicJWK, k.CreatedAt, k.ExpiresAt}
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
	return s.wrap("add signing key", err)
}

// ListSigningKeys implements store.Store.
func (s *Store) ListSigningKeys(ctx context.Context, tenantID string, now time.Time) ([]store.SigningKey, error) {
	ks, err := list(ctx, s, scanKey, `SELECT `+keyCols+` FROM signing_keys
		WHERE tenant_id = $1 AND (status <> 'retired' OR expires_at > $2)
		ORDER BY created_at DESC, id`, tenantID, now)
	return ks, s.wrap("list signing keys", err)
}

// RotateSigningKeys implements store.Store. newNext is stored as the next
// key whatever its Status says, in tenantID.
//
// The next key is locked first: a rotation running at the same time on
// another instance waits for this one, then finds no next key (the one it
// would have activated is active now) and fails with ErrNotFound, or finds
// the next key this one added and rotates again; either way no tenant ends
// with two active or two next keys.
func (s *Store) RotateSigningKeys(ctx context.Context, tenantID string, newNext store.SigningKey, retiredExpiresAt time.Time) error {
	err := s.tx(ctx, func(c conn) error {
		var nextID string
		err := c.queryRow(ctx, `SELECT id FROM signing_keys WHERE tenant_id = $1 AND status = 'next'`+s.d.forUpdate(),
			tenantID).Scan(&nextID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no next key to activate: %w", store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		// In this order, so that no statement sees two active or two next
		// keys.
		if _, err := c.exec(ctx, `UPDATE signing_keys SET status = 'retired', expires_at = $1
			WHERE tenant_id = $2 AND status = 'active'`, retiredExpiresAt, tenantID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE signing_keys SET status = 'active'
			WHERE tenant_id = $1 AND id = $2`, tenantID, nextID); err != nil {
			return err
		}
		k := newNext
		k.TenantID, k.Status = tenantID, store.KeyNext
		_, err = c.exec(ctx, insertKey, keyArgs(k)...)
		return err
	})
	return s.wrap("rotate signing keys", err)
}
