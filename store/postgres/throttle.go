package postgres

import (
	"context"

	"github.com/tessera-id/tessera/store"
)

// Sign-in throttles: one row per key, shared by every instance and written
// with a compare-and-swap on version. At READ COMMITTED the conditional
// UPDATE of a loser waits for the winner's row lock, re-reads the row,
// finds the version moved and changes nothing; an INSERT racing another
// INSERT of the same key waits on the unique index and then does nothing.
// Either way exactly one writer per version wins, with no
// serialization failure to retry.

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
		`SELECT `+throttleCols+` FROM throttles WHERE tenant_id = $1 AND key = $2`, tenantID, key)
	return t, wrap("get throttle", err)
}

// PutThrottle implements store.Store.
func (s *Store) PutThrottle(ctx context.Context, t store.Throttle) error {
	var n int64
	var err error
	if t.Version == 0 {
		n, err = s.exec(ctx, `INSERT INTO throttles (`+throttleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
			ON CONFLICT (tenant_id, key) DO NOTHING`,
			t.TenantID, t.Key, t.Failures, t.InFlight, t.Lockouts, ts(t.LockedUntil), ts(t.LastFailure), ts(t.ExpiresAt))
	} else {
		n, err = s.exec(ctx, `UPDATE throttles SET failures = $1, in_flight = $2, lockouts = $3, locked_until = $4, last_failure = $5,
			expires_at = $6, version = version + 1 WHERE tenant_id = $7 AND key = $8 AND version = $9`,
			t.Failures, t.InFlight, t.Lockouts, ts(t.LockedUntil), ts(t.LastFailure), ts(t.ExpiresAt),
			t.TenantID, t.Key, t.Version)
	}
	if err == nil && n == 0 {
		err = store.ErrNotLive
	}
	return wrap("put throttle", err)
}

// DeleteThrottle implements store.Store.
func (s *Store) DeleteThrottle(ctx context.Context, tenantID, key string) error {
	_, err := s.exec(ctx, `DELETE FROM throttles WHERE tenant_id = $1 AND key = $2`, tenantID, key)
	return wrap("delete throttle", err)
}
