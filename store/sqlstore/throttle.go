package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// Sign-in throttles: one row per key, shared by every handle and instance.
// UpdateThrottles changes a set of keys in one write transaction that
// holds them while it reads and writes: SQLite's transactions take the
// single writer's lock when they begin; PostgreSQL and MySQL lock the
// rows read (SELECT ... FOR UPDATE), in key order, so that two updates of
// overlapping keys do not wait on each other in a circle; a deadlock the
// engine still reports (MySQL's gap locks around a key without a row) is
// retried as any transient conflict. A key without a row has nothing to
// lock, so two first writes of one key can race: the loser's INSERT meets
// the primary key, and its transaction runs again, finding the row.

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

// throttleInsertTries bounds how often UpdateThrottles starts over after
// losing a first write of a key to another; each time one writer wins,
// so few rounds are ever needed.
const throttleInsertTries = 10

// UpdateThrottles implements store.Store.
func (s *Store) UpdateThrottles(ctx context.Context, tenantID string, keys []string, change func([]store.Throttle) ([]store.ThrottleUpdate, error)) ([]store.Throttle, error) {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	for i := 1; i < len(order); i++ {
		if keys[order[i]] == keys[order[i-1]] {
			return nil, fmt.Errorf("%s: update throttles: key %q given twice", s.d.name(), keys[order[i]])
		}
	}
	// An error of change's own ends the update as it is: not retried,
	// not wrapped as the store's.
	var changeErr error
	guarded := func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
		ups, err := change(cur)
		changeErr = err
		return ups, err
	}
	var after []store.Throttle
	var err error
	for range throttleInsertTries {
		err = s.tx(ctx, func(c conn) error {
			var err error
			after, err = s.updateThrottles(ctx, c, tenantID, keys, order, guarded)
			return err
		})
		if changeErr != nil {
			return nil, changeErr
		}
		if s.d.classify(err) != errConflict {
			break
		}
	}
	if err != nil {
		return nil, s.wrap("update throttles", err)
	}
	return after, nil
}

// updateThrottles is one try of UpdateThrottles, in c's transaction.
func (s *Store) updateThrottles(ctx context.Context, c conn, tenantID string, keys []string, order []int, change func([]store.Throttle) ([]store.ThrottleUpdate, error)) ([]store.Throttle, error) {
	cur := make([]store.Throttle, len(keys))
	for _, i := range order {
		t, err := scanThrottle(c.queryRow(ctx, `SELECT `+throttleCols+` FROM throttles WHERE tenant_id = $1 AND "key" = $2`+s.d.forUpdate(), tenantID, keys[i]))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			t = store.Throttle{TenantID: tenantID, Key: keys[i]}
		case err != nil:
			return nil, err
		}
		cur[i] = t
	}
	updates, err := change(slices.Clone(cur))
	if err != nil {
		return nil, err
	}
	if len(updates) != len(keys) {
		return nil, fmt.Errorf("change returned %d updates for %d keys", len(updates), len(keys))
	}
	after := cur
	for _, i := range order {
		u, was := updates[i], cur[i]
		switch u.Op {
		case store.ThrottleKeep:
			continue
		case store.ThrottleForget:
			if was.Version == 0 {
				continue
			}
			if _, err := c.exec(ctx, `DELETE FROM throttles WHERE tenant_id = $1 AND "key" = $2`, tenantID, keys[i]); err != nil {
				return nil, err
			}
			after[i] = store.Throttle{TenantID: tenantID, Key: keys[i]}
			continue
		case store.ThrottleStore:
		default:
			return nil, fmt.Errorf("unknown throttle operation %d", u.Op)
		}
		t := u.Next
		t.TenantID, t.Key, t.Version = tenantID, keys[i], was.Version+1
		var res sql.Result
		if was.Version == 0 {
			res, err = c.exec(ctx, `INSERT INTO throttles (`+throttleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
				t.TenantID, t.Key, t.Failures, t.InFlight, t.InFlightUntil, t.Lockouts, t.LockedUntil, t.LastFailure, t.ExpiresAt)
		} else {
			// The version check cannot fail while the row is held; it
			// is kept so that a broken hold shows as an error, not as a
			// lost count.
			res, err = c.exec(ctx, `UPDATE throttles SET failures = $1, in_flight = $2, in_flight_until = $3, lockouts = $4,
				locked_until = $5, last_failure = $6, expires_at = $7, version = version + 1
				WHERE tenant_id = $8 AND "key" = $9 AND version = $10`,
				t.Failures, t.InFlight, t.InFlightUntil, t.Lockouts, t.LockedUntil, t.LastFailure, t.ExpiresAt, t.TenantID, t.Key, was.Version)
		}
		n, err := rowsAffected(res, err)
		if err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, fmt.Errorf("throttle %q changed while held", keys[i])
		}
		after[i] = t
	}
	return after, nil
}
