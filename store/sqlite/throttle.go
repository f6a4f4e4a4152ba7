package sqlite

import (
	"context"

	"github.com/tessera-id/tessera/store"
)

// Sign-in throttles: one row per key, read through the reader pool and
// written with a compare-and-swap on version. The writer's single
// connection already serializes writes in this process, but not against
// another process on the same file, nor against a read that a concurrent
// write made stale; the version check covers both.

const throttleCols = `tenant_id, key, failures, in_flight, lockouts, locked_until, last_failure, expires_at, version`

func scanThrottle(row scanner) (store.Throttle, error) {
	var t store.Throttle
	err := row.Scan(&t.TenantID, &t.Key, &t.Failures, &t.InFlight, &t.Lockouts, timeCol{&t.LockedUntil},
		timeCol{&t.LastFailure}, timeCol{&t.ExpiresAt}, &t.Version)
	return t, err
}

// GetThrottle implements store.Store.
func (s *Store) GetThrottle(ctx context.Context, tenantID, key string) (store.Throttle, error) {
	t, err := get(ctx, s, scanThrottle,
		`SELECT `+throttleCols+` FROM throttles WHERE tenant_id = ? AND key = ?`, tenantID, key)
	return t, wrap("get throttle", err)
}

// PutThrottle implements store.Store. Version 0 inserts, and finding a row
// already there (another writer was first) is a lost race like any other.
func (s *Store) PutThrottle(ctx context.Context, t store.Throttle) error {
	var n int64
	var err error
	if t.Version == 0 {
		n, err = s.exec(ctx, `INSERT INTO throttles (`+throttleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
			ON CONFLICT (tenant_id, key) DO NOTHING`,
			t.TenantID, t.Key, t.Failures, t.InFlight, t.Lockouts, millis(t.LockedUntil), millis(t.LastFailure), t.ExpiresAt.UnixMilli())
	} else {
		n, err = s.exec(ctx, `UPDATE throttles SET failures = ?, in_flight = ?, lockouts = ?, locked_until = ?, last_failure = ?,
			expires_at = ?, version = version + 1 WHERE tenant_id = ? AND key = ? AND version = ?`,
			t.Failures, t.InFlight, t.Lockouts, millis(t.LockedUntil), millis(t.LastFailure), t.ExpiresAt.UnixMilli(),
			t.TenantID, t.Key, t.Version)
	}
	if err == nil && n == 0 {
		err = store.ErrNotLive
	}
	return wrap("put throttle", err)
}

// DeleteThrottle implements store.Store.
func (s *Store) DeleteThrottle(ctx context.Context, tenantID, key string) error {
	_, err := s.exec(ctx, `DELETE FROM throttles WHERE tenant_id = ? AND key = ?`, tenantID, key)
	return wrap("delete throttle", err)
}
