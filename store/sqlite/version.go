package sqlite

import (
	"context"
	"fmt"
)

// DirectoryVersion returns a counter that triggers increment on every
// change to tenants, apps, secrets, credentials, users, consents and
// signing keys, by any process (migration 00003). A cache of those rows is
// good as long as the counter has not moved.
func (s *Store) DirectoryVersion(ctx context.Context) (int64, error) {
	// Asked every few milliseconds under load, by whichever request comes
	// due, so it is prepared once (parsing it each time was a third of its
	// cost) and runs without the request's cancellation: the driver
	// watches a cancellable context with a goroutine per query, which was
	// half of what remained, and one row of a one-row table, read by a WAL
	// reader that never waits for writers, needs no cancelling.
	v, err := get(context.WithoutCancel(ctx), s, func(r scanner) (int64, error) {
		var v int64
		err := r.Scan(&v)
		return v, err
	}, `SELECT version FROM directory_version WHERE id = 1`)
	if err != nil {
		return 0, fmt.Errorf("sqlite: directory version: %w", err)
	}
	return v, nil
}
