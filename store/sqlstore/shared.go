package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/store"
)

// What the engines that several instances share (PostgreSQL, MySQL) have
// in common beyond store.Store: session locks and the master key check.

// lockSession takes a session lock (PostgreSQL's advisory lock, MySQL's
// GET_LOCK) on a connection of its own, and returns what releases it. The
// lock lives as long as the session: should the release fail, the
// connection is closed rather than returned to the pool still holding it.
func lockSession(ctx context.Context, db *sql.DB, lock, unlock string, args ...any) (func() error, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var got lockResult
	if err := c.QueryRowContext(ctx, lock, args...).Scan(&got); err != nil || !got {
		if err == nil {
			err = errors.New("not granted")
		}
		return nil, errors.Join(err, c.Close())
	}
	return func() error {
		// Not ctx: a cancelled caller must still give the lock back.
		var released lockResult
		err := c.QueryRowContext(context.WithoutCancel(ctx), unlock, args...).Scan(&released)
		if err == nil && !released {
			err = errors.New("the lock was not held")
		}
		if err != nil {
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
		}
		return errors.Join(err, c.Close())
	}, nil
}

// exclusive runs fn if the session lock tryLock (which does not wait) is
// granted, and releases it afterwards; it reports whether fn ran.
func exclusive(ctx context.Context, db *sql.DB, tryLock, unlock string, fn func(context.Context) error, args ...any) (bool, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	var got lockResult
	if err := c.QueryRowContext(ctx, tryLock, args...).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, nil
	}
	defer func() {
		var released lockResult
		if err := c.QueryRowContext(context.WithoutCancel(ctx), unlock, args...).Scan(&released); err != nil || !released {
			// Released with the session: do not return the connection to
			// the pool still locked.
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn(ctx)
}

// lockResult scans what a lock function answers: PostgreSQL's boolean,
// MySQL's 1 (granted), 0 (not) or NULL (an error).
type lockResult bool

func (r *lockResult) Scan(src any) error {
	switch v := src.(type) {
	case bool:
		*r = lockResult(v)
	case int64:
		*r = v == 1
	case nil:
		*r = false
	default:
		return fmt.Errorf("lock function answered %T", src)
	}
	return nil
}

// masterKeyCheck returns the master key check value recorded in the store
// (migrations: PostgreSQL 00004, MySQL 00001), store.ErrNotFound if none.
func (s *Store) masterKeyCheck(ctx context.Context) ([]byte, error) {
	v, err := get(ctx, s, func(row scanner) ([]byte, error) {
		var b []byte
		err := row.Scan(&b)
		return b, err
	}, `SELECT value FROM master_key_check`)
	return v, s.wrap("get master key check", err)
}

// recordMasterKeyCheck records check unless a value is recorded already,
// and returns the value recorded. Two statements, not one: at READ
// COMMITTED the INSERT waits for a concurrent inserter to commit, and the
// SELECT after it, on a fresh snapshot, then sees that row.
func (s *Store) recordMasterKeyCheck(ctx context.Context, check []byte) ([]byte, error) {
	if len(check) == 0 {
		return nil, s.wrap("record master key check", errors.New("empty check value"))
	}
	if _, err := s.exec(ctx, `INSERT INTO master_key_check (value) VALUES ($1) `+s.d.insertIgnore("id"), check); err != nil {
		return nil, s.wrap("record master key check", err)
	}
	v, err := s.masterKeyCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted between the two statements, which only an operator
		// resetting the check does.
		return nil, s.wrap("record master key check", sql.ErrNoRows)
	}
	return v, err
}
