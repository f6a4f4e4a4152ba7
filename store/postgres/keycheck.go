package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/store"
)

// MasterKeyCheck returns the master key check value recorded in the store,
// or store.ErrNotFound if none is recorded yet (a new store, or one created
// before the check existed). The caller derives the value from its key and
// compares: see RecordMasterKeyCheck.
func (s *Store) MasterKeyCheck(ctx context.Context) ([]byte, error) {
	v, err := get(ctx, s, func(row scanner) ([]byte, error) {
		var b []byte
		err := row.Scan(&b)
		return b, err
	}, `SELECT value FROM master_key_check WHERE id`)
	return v, wrap("get master key check", err)
}

// RecordMasterKeyCheck records check as the store's master key check value
// unless one is recorded already, and returns the value recorded: check
// itself if this call or a concurrent one with the same value won, another
// value if the store was set up with another key. Two statements, not one:
// at READ COMMITTED the INSERT waits for a concurrent inserter to commit,
// and the SELECT after it, on a fresh snapshot, then sees that row.
func (s *Store) RecordMasterKeyCheck(ctx context.Context, check []byte) ([]byte, error) {
	if len(check) == 0 {
		return nil, wrap("record master key check", errors.New("empty check value"))
	}
	if _, err := s.exec(ctx, `INSERT INTO master_key_check (id, value) VALUES (true, $1)
		ON CONFLICT (id) DO NOTHING`, check); err != nil {
		return nil, wrap("record master key check", err)
	}
	v, err := s.MasterKeyCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted between the two statements, which only an operator
		// resetting the check does.
		return nil, wrap("record master key check", pgx.ErrNoRows)
	}
	return v, err
}
