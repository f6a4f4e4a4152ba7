package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tessera-id/tessera/store"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

const (
	// Readers in WAL mode never block the writer nor each other; a few
	// connections cover the handful of concurrent lookups per request.
	sqliteReadConns = 4

	// busy_timeout makes SQLite wait for another process's write lock;
	// the retry policy then covers the few cases that wait does not.
	sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
)

// SQLite is the store in one SQLite file in WAL mode, written through a
// single connection and read through a small pool.
//
// Several processes may open the same file (an admin CLI next to the
// server). SQLite's file locks arbitrate between them; nothing is cached in
// the process, so a write by one is seen by the next read of the other.
type SQLite struct {
	*Store
	path string
	// check is the integrity check CheckIntegrity still owes (its bound),
	// 0 when none is owed.
	check time.Duration
	log   *slog.Logger
}

// OpenSQLite opens or creates the database at path and brings its schema
// up to date. The database files are made readable by their owner only,
// whatever the umask: they hold password and secret hashes.
//
// The writer pool has exactly one connection: SQLite admits one writer at
// a time, and queueing writers in the pool is cheaper than making them
// spin on the file lock. Its transactions begin IMMEDIATE, so a
// transaction that reads before writing cannot fail halfway on a lock
// upgrade. The reader pool is query_only, so a write that slips into the
// read path fails loudly instead of racing the writer.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*SQLite, error) {
	o, err := options(opts, "sqlite")
	if err != nil {
		return nil, err
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
	w, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	// Before the migrations, which would otherwise write into a damaged
	// file; later only if none is due.
	later := time.Duration(0)
	due := true
	if o.checkWithin > 0 {
		due, err = sqliteMigrationDue(ctx, w)
		if err != nil {
			return nil, errors.Join(classifyFile(path, "migrate", err), w.Close())
		}
		if o.checkLater && !due {
			later = o.checkWithin
		} else if err := quickCheck(ctx, w, path, o.checkWithin, o.log); err != nil {
			return nil, errors.Join(err, w.Close())
		}
	}
	// Read once already when checked: nothing due, nothing to run.
	if due {
		if err := migrateSQLite(ctx, w); err != nil {
			return nil, errors.Join(classifyFile(path, "migrate", err), w.Close())
		}
	}

	// Opened after the migration so that the file is already in WAL mode.
	r, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open readers: %w", err), w.Close())
	}
	r.SetMaxOpenConns(sqliteReadConns)
	r.SetMaxIdleConns(sqliteReadConns)
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(classifyFile(path, "open readers", fmt.Errorf("sqlite: open readers: %w", err)), r.Close(), w.Close())
	}
	// The WAL and shared-memory files exist from the first connection on.
	if err := restrictFiles(path); err != nil {
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	d := &sqliteDialect{}
	s := newStore(d, w, r, o.metrics)
	s.prepare = true
	s.retry = retryPolicy{attempts: 4, backoff: func(try int) time.Duration { return time.Duration(try) * 20 * time.Millisecond }}
	d.startRotations(s)
	return &SQLite{Store: s, path: path, check: later, log: o.log}, nil
}

// CheckIntegrity runs the integrity check WithDeferredIntegrityCheck put
// off, on a reader connection so that the store keeps serving meanwhile,
// and returns ErrCorrupt for a damaged file. Without a check owed it
// returns nil at once.
func (s *SQLite) CheckIntegrity(ctx context.Context) error {
	if s.check <= 0 {
		return nil
	}
	return quickCheck(ctx, s.r, s.path, s.check, s.log)
}

// sqliteMigrationDue reports whether the embedded migrations hold one the
// database has not applied.
func sqliteMigrationDue(ctx context.Context, db *sql.DB) (bool, error) {
	fsys, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		return false, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

// migrateSQLite applies the embedded migrations. Two processes opening a
// fresh file at once both see a migration as pending; the loser's
// statement fails once the winner commits (CREATE of an existing table,
// ADD COLUMN of an existing column), and running again starts after it.
// Each failed run thus means another process applied at least one more
// migration, so one run per migration plus the last, which finds nothing
// left to do, always suffices.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
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

// DirectoryVersion returns a counter that triggers increment on every
// change to tenants, apps, secrets, credentials, users, consents and
// signing keys, by any process (migration 00003). A cache of those rows is
// good as long as the counter has not moved.
func (s *SQLite) DirectoryVersion(ctx context.Context) (int64, error) {
	// Asked every few milliseconds under load, by whichever request comes
	// due, so it is prepared once (parsing it each time was a third of its
	// cost) and runs without the request's cancellation: the driver
	// watches a cancellable context with a goroutine per query, which was
	// half of what remained, and one row of a one-row table, read by a WAL
	// reader that never waits for writers, needs no cancelling.
	return s.directoryVersion(context.WithoutCancel(ctx))
}

// directoryVersion reads the directory_version row that triggers keep (on
// SQLite and MySQL).
func (s *Store) directoryVersion(ctx context.Context) (int64, error) {
	v, err := get(ctx, s, func(r scanner) (int64, error) {
		var v int64
		err := r.Scan(&v)
		return v, err
	}, `SELECT version FROM directory_version WHERE id = 1`)
	if err != nil {
		return 0, fmt.Errorf("%s: directory version: %w", s.d.name(), err)
	}
	return v, nil
}

// sqliteDialect is SQLite's: numbered '?NNN' placeholders, max() for
// GREATEST, times as unix milliseconds, lists as JSON text. It owns the
// group-commit loop of refresh rotations (sqlite_rotate.go).
type sqliteDialect struct {
	rotations chan *rotation
	stop      chan struct{}
	stopped   chan struct{}
}

func (*sqliteDialect) name() string { return "sqlite" }

func (*sqliteDialect) rebind(query string) (string, []int) {
	return rewrite(query, func(b *strings.Builder, n int) {
		b.WriteByte('?')
		b.WriteString(strconv.Itoa(n))
	}, func(b *strings.Builder, w, _ string) int {
		// SQLite's max() of two or more arguments is GREATEST; callers
		// keep NULL out of it, as it returns NULL for one.
		if w == "GREATEST" {
			w = "max"
		}
		b.WriteString(w)
		return 0
	}), nil
}

func (*sqliteDialect) time(t time.Time) any         { return t.UnixMilli() }
func (*sqliteDialect) list(v []string) any          { return jsonCol{v} }
func (*sqliteDialect) listColumn(col string) string { return col }
func (*sqliteDialect) insertIgnore(keys string) string {
	return "ON CONFLICT (" + keys + ") DO NOTHING"
}
func (*sqliteDialect) upsert(keys string) string {
	return "ON CONFLICT (" + keys + ") DO UPDATE SET"
}

// forUpdate is empty: a write transaction is IMMEDIATE, so it already
// holds the database's only write lock when it reads.
func (*sqliteDialect) forUpdate() string { return "" }

// deleteExpired picks rows by rowid, the cheapest handle SQLite has.
func (*sqliteDialect) deleteExpired(table, _ string) string {
	return `DELETE FROM ` + table + ` WHERE rowid IN (SELECT rowid FROM ` + table + ` WHERE expires_at <= $1 LIMIT $2)`
}

func (*sqliteDialect) classify(err error) errClass {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return errOther
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errNoParent
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		// busy_timeout already waits inside SQLite, so this is for the
		// waits it does not cover (WAL recovery, a long writer in another
		// process).
		return errRetry
	}
	return errOther
}

func (*sqliteDialect) hit(ctx context.Context, s *Store, key string, start, end time.Time) (int, error) {
	return hitReturning(ctx, s, key, start, end)
}

var _ store.Store = (*SQLite)(nil)
