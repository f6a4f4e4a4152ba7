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
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM directory_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: directory version: %w", err)
	}
	return v, nil
}
