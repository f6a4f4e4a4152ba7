package sqlstore

import (
	"context"

	"github.com/tessera-id/tessera/store"
)

// Sign-in throttles: one row per key, shared by every handle and instance,
// written with a compare-and-swap on version. A conditional UPDATE of a
// loser waits for the winner's row lock (or, on SQLite, for the single
// writer), re-reads the row, finds the version moved and changes nothing;
// an INSERT racing another INSERT of the same key waits on the primary key
// and then fails. Either way exactly one writer per version wins, with no
// serialization failure to retry.

const throttleCols = `tenant_id, "key", failures, in_flight, in_flight_until, lockouts, locked_until, last_failure, expires_at, version`

func scanThrottle(row scanner) (store.Throttle, error) {
	var t store.Throttle
	err := row.Scan(&t.TenantID, &t.Key, &t.Failures, &t.InFlight, timeCol{&t.InFlightUntil}, &t.Lockouts, timeCol{&t.LockedUntil},
		timeCol{&t.LastFailure}, timeCol{&t.ExpiresAt}, &t.Version)
	return t, err
}

// GetThrottle implements store.Store.
func (s *Store) GetThrottle(ctx context.Context, tenantID, key string) (store.Throttle, error) {
	t, err := get(ctx, s, scanThrottle,
		`SELECT `+throttleCols+` FROM throttles WHERE tenant_id = $1 AND "key" = $2`, tenantID, key)
	return t, s.wrap("get throttle", err)
}

// PutThrottle implements store.Store. Version 0 inserts, and finding the
// key taken (another writer was first) is a lost race like any other: a
// plain INSERT whose conflict says so on every engine, where a clause that
// skips taken keys would not tell on all of them whether it inserted.
func (s *Store) PutThrottle(ctx context.Context, t store.Throttle) error {
	var n int64
	var err error
	if t.Version == 0 {
		n, err = s.exec(ctx, `INSERT INTO throttles (`+throttleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
			t.TenantID, t.Key, t.Failures, t.InFlight, t.InFlightUntil, t.Lockouts, t.LockedUntil, t.LastFailure, t.ExpiresAt)
		if s.d.classify(err) == errConflict {
			n, err = 0, nil
		}
	} else {
		n, err = s.exec(ctx, `UPDATE throttles SET failures = $1, in_flight = $2, in_flight_until = $3, lockouts = $4,
			locked_until = $5, last_failure = $6, expires_at = $7, version = version + 1
			WHERE tenant_id = $8 AND "key" = $9 AND version = $10`,
			t.Failures, t.InFlight, t.InFlightUntil, t.Lockouts, t.LockedUntil, t.LastFailure, t.ExpiresAt, t.TenantID, t.Key, t.Version)
	}
	if err == nil && n == 0 {
		err = store.ErrNotLive
	}
	return s.wrap("put throttle", err)
}

// DeleteThrottle implements store.Store.
func (s *Store) DeleteThrottle(ctx context.Context, tenantID, key string) error {
	_, err := s.exec(ctx, `DELETE FROM throttles WHERE tenant_id = $1 AND "key" = $2`, tenantID, key)
	return s.wrap("delete throttle", err)
}
