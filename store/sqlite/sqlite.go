// Package sqlite is the embedded store backend: one SQLite file in WAL mode,
// written through a single connection and read through a small pool.
//
// Several processes may open the same file (an admin CLI next to the
// server). SQLite's file locks arbitrate between them; nothing is cached in
// the process, so a write by one is seen by the next read of the other.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tessera-id/tessera/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

const (
	// Readers in WAL mode never block the writer nor each other; a few
	// connections cover the handful of concurrent lookups per request.
	readConns = 4

	// busy_timeout makes SQLite wait for another process's write lock;
	// attempts then retries the few cases that wait does not cover.
	pragmas  = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	attempts = 4
)

// Store is the SQLite implementation of store.Store.
type Store struct {
	// w has exactly one connection: SQLite admits one writer at a time, and
	// queueing writers in the pool is cheaper than making them spin on the
	// file lock. Transactions begin IMMEDIATE so a transaction that reads
	// before writing cannot fail halfway on a lock upgrade.
	w *sql.DB
	// r is query_only, so a write that slips into the read path fails loudly
	// instead of racing the writer.
	r *sql.DB

	// stmts holds statements prepared once per pool and query: SQLite's
	// parser costs as much as running a simple statement.
	stmts sync.Map // stmtKey -> *sql.Stmt

	// rotations feeds the group-commit loop (rotate.go); stop ends it.
	rotations chan *rotation
	stop      chan struct{}
	stopped   chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database at path and brings its schema up to
// date. The database files are made readable by their owner only, whatever
// the umask: they hold password and secret hashes.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	// The driver cuts the DSN at the first '?', reads "file:" names as
	// URIs (which would name another file than the one created here), and
	// an in-memory database would not be shared between the two pools.
	if path == "" || strings.ContainsRune(path, '?') || strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open: unsupported path %q", path)
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	if err := restrictFiles(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	// Before the migrations, which would otherwise write into a damaged
	// file.
	if o.checkWithin > 0 {
		if err := quickCheck(ctx, w, path, o.checkWithin, o.log); err != nil {
			return nil, errors.Join(err, w.Close())
		}
	}
	if err := migrate(ctx, w); err != nil {
		return nil, errors.Join(classify(path, "migrate", err), w.Close())
	}

	// Opened after the migration so that the file is already in WAL mode.
	r, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open readers: %w", err), w.Close())
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(classify(path, "open readers", fmt.Errorf("sqlite: open readers: %w", err)), r.Close(), w.Close())
	}
	// The WAL and shared-memory files exist from the first connection on.
	if err := restrictFiles(path); err != nil {
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	s := &Store{w: w, r: r, rotations: make(chan *rotation, rotationBatch), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.rotateLoop()
	return s, nil
}

// migrate applies the embedded migrations. Two processes opening a fresh
// file at once both see a migration as pending; the loser's statement fails
// once the winner commits (CREATE of an existing table, ADD COLUMN of an
// existing column), and running again starts after it. Each failed run thus
// means another process applied at least one more migration, so one run per
// migration plus the last, which finds nothing left to do, always suffices.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for try := 1; ; try++ {
		p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		_, err = p.Up(ctx)
		if err == nil {
			return nil
		}
		if try > len(p.ListSources()) || ctx.Err() != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
	}
}

// Close closes both connection pools.
func (s *Store) Close() error {
	close(s.stop)
	<-s.stopped
	var errs []error
	s.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// stmt returns query prepared on db, preparing it the first time.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{db, query}
	if v, ok := s.stmts.Load(k); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := s.stmts.LoadOrStore(k, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// retry runs fn again while SQLite reports the database busy or locked.
// busy_timeout already waits inside SQLite, so this is for the waits it does
// not cover (WAL recovery, a long writer in another process). fn must be
// safe to run again: a failed transaction has been rolled back.
func retry(ctx context.Context, fn func() error) error {
	for try := 1; ; try++ {
		err := fn()
		if err == nil || try == attempts || !isBusy(err) {
			return err
		}
		t := time.NewTimer(time.Duration(try) * 20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

func isBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// wrap names the operation and maps SQLite's answers to the store's
// sentinel errors, keeping the driver error in the chain for the logs.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// The tenant or app the row belongs to does not exist.
			return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// exec runs one statement on the writer, as its own transaction, and
// returns the number of rows it changed.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := retry(ctx, func() error {
		st, err := s.stmt(ctx, s.w, query)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// execOne is exec for statements addressed by primary key: changing no row
// means the row does not exist.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	n, err := s.exec(ctx, query, args...)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// tx runs fn in one write transaction, rolled back if fn fails.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return retry(ctx, func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			// The rollback can only fail if the connection is gone, which
			// ends the transaction just as well; fn's error is the story.
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// get reads one row through the reader pool.
func get[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	var v T
	err := retry(ctx, func() error {
		st, err := s.stmt(ctx, s.r, query)
		if err != nil {
			return err
		}
		v, err = scan(st.QueryRowContext(ctx, args...))
		return err
	})
	return v, err
}

// list reads every row of a query through the reader pool.
func list[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := retry(ctx, func() error {
		out = nil
		rows, err := s.r.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}
