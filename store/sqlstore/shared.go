package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/tessera-id/tessera/store"
)

// shared is what the engines that several instances share (PostgreSQL,
// MySQL) have beyond store.Store: a lock per name for work one instance at
// a time should do, and the master key check.
type shared struct {
	*Store
	// tryLock takes a session lock without waiting and unlock gives it
	// back, both of the one argument lock makes of a name.
	tryLock, unlock string
	lock            func(name string) any
}

// Exclusive runs fn only if no other process holds the lock named name in
// this store (a PostgreSQL advisory lock in the schema, a MySQL named lock
// for the database), holding it meanwhile; it reports whether fn ran.
// Background work that one instance at a time should do (collecting
// expired rows) goes through it.
func (s shared) Exclusive(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	ran, err := exclusive(ctx, s.w, s.tryLock, s.unlock, fn, s.lock(name))
	if err != nil {
		return ran, fmt.Errorf("%s: exclusive %s: %w", s.d.name(), name, err)
	}
	return ran, nil
}

// MasterKeyCheck returns the master key check value recorded in the store,
// or store.ErrNotFound if none is recorded yet (a new store, or one created
// before the check existed). The caller derives the value from its key and
// compares: see RecordMasterKeyCheck.
func (s shared) MasterKeyCheck(ctx context.Context) ([]byte, error) {
	return s.masterKeyCheck(ctx)
}

// RecordMasterKeyCheck records check as the store's master key check value
// unless one is recorded already, and returns the value recorded: check
// itself if this call or a concurrent one with the same value won, another
// value if the store was set up with another key.
func (s shared) RecordMasterKeyCheck(ctx context.Context, check []byte) ([]byte, error) {
	return s.recordMasterKeyCheck(ctx, check)
}

// migration is how a shared engine applies its embedded migrations.
type migration struct {
	dialect goose.Dialect
	fsys    fs.FS
	dir     string
	// lock and unlock take and give back the session lock that
	// serializes migrations of the store, both of args; lock waits for it.
	lock, unlock string
	args         []any
	// before runs under the lock, before goose (PostgreSQL: create the
	// schema).
	before func(ctx context.Context, db *sql.DB) error
	// where names the store in errors ("schema x", "database y").
	where string
}

// ready brings a shared engine's store to use: it applies its migrations
// (see migrateShared) and checks that the pool connects, and closes the
// pool if either fails.
func (s *Store) ready(ctx context.Context, migrations *sql.DB, m migration) error {
	err := s.migrateShared(ctx, migrations, m)
	if err == nil {
		if err = s.w.PingContext(ctx); err != nil {
			err = fmt.Errorf("%s: open pool: %w", s.d.name(), err)
		}
	}
	if err != nil {
		return errors.Join(err, s.w.Close())
	}
	return nil
}

// migrateShared applies m under its session lock, on db, a pool of its own
// closed afterwards: the lock holds one connection while goose works
// through others, more than a small pool may have. Instances starting at
// once queue on the lock, the first applies what is pending, and the
// others find nothing left.
func (s *Store) migrateShared(ctx context.Context, db *sql.DB, m migration) (err error) {
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: migrate: %w", s.d.name(), cerr))
		}
	}()
	fsys, err := fs.Sub(m.fsys, m.dir)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.name(), err)
	}
	unlock, err := lockSession(ctx, db, m.lock, m.unlock, m.args...)
	if err != nil {
		return fmt.Errorf("%s: migrate: lock %s: %w", s.d.name(), m.where, err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: migrate: unlock %s: %w", s.d.name(), m.where, uerr))
		}
	}()
	if m.before != nil {
		if err := m.before(ctx, db); err != nil {
			return err
		}
	}
	gp, err := goose.NewProvider(m.dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.name(), err)
	}
	if _, err := gp.Up(ctx); err != nil {
		return fmt.Errorf("%s: migrate %s: %w", s.d.name(), m.where, err)
	}
	return nil
}

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
