// Package postgres is the store backend for several server instances that
// share one PostgreSQL database, through pgx v5 and its connection pool.
//
// Every object lives in one schema (public unless WithSchema says
// otherwise), so that one database can hold several isolated stores: the
// pool's search_path is set to it and queries name no schema.
//
// Concurrency: every connection runs at READ COMMITTED, and each state
// change that must have exactly one winner (refresh rotation, code and device
// code redemption, device decisions, assertion replay, rate-limit hits) is a
// conditional UPDATE or an INSERT on a unique key. PostgreSQL takes the row
// lock and then re-checks the statement's predicate against the row's
// latest committed version, so of any number of concurrent callers, across
// pools and instances, one changes the row and the others find it no
// longer matching. That needs no retry loop in the common case, unlike
// SERIALIZABLE, which aborts every loser with a serialization failure.
// Deadlocks (and serialization failures, should a statement ever run at a
// stricter level) are still retried a few times, in retry.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tessera-id/tessera/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

const (
	// DefaultSchema is where the store lives unless WithSchema says
	// otherwise.
	DefaultSchema = "public"

	// attempts bounds retry. At READ COMMITTED a conflict is a deadlock
	// between multi-row writes, which PostgreSQL breaks by aborting one
	// side; the next attempt almost always goes through.
	attempts = 6

	// migrationLockClass is the first half of the advisory lock key that
	// serializes migrations; the second half is a checksum of the schema
	// name, so that stores in different schemas migrate independently (two
	// names with the same checksum merely wait for each other).
	migrationLockClass int32 = 0x74657373 // "tess"
)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	schema string
}

var _ store.Store = (*Store)(nil)

// Option configures Open and Migrate.
type Option func(*options) error

type options struct {
	schema   string
	poolSize int32
	tracer   pgx.QueryTracer
}

// WithSchema puts every object of the store in the named schema, created if
// missing. The name must be what PostgreSQL folds an unquoted identifier
// to: lower-case ASCII letters, digits and underscores, not starting with a
// digit, at most 63 bytes. It is quoted wherever it is used, so even a
// reserved word is safe.
func WithSchema(name string) Option {
	return func(o *options) error {
		if !validSchema(name) {
			return fmt.Errorf("invalid schema name %q: want [a-z_][a-z0-9_]*, at most 63 bytes", name)
		}
		o.schema = name
		return nil
	}
}

// WithPoolSize sets the maximum number of connections of the pool. Without
// it, the DSN's pool_max_conns applies, or pgxpool's default (the greater of
// 4 and the number of CPUs).
func WithPoolSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 1<<15 {
			return fmt.Errorf("invalid pool size %d", n)
		}
		o.poolSize = int32(n)
		return nil
	}
}

func validSchema(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_' || 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// WithTracer has every statement the store sends, its migrations'
// included, reported to t: pgx's hook for logging, tracing, or counting
// what an operation costs in statements.
func WithTracer(t pgx.QueryTracer) Option {
	return func(o *options) error {
		o.tracer = t
		return nil
	}
}

// config parses the DSN and applies the options: the pool's connections
// use the schema and READ COMMITTED, whatever the DSN or the database's
// defaults say, because the concurrency argument above depends on both.
func config(dsn string, opts []Option) (*pgxpool.Config, string, error) {
	o := options{schema: DefaultSchema}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, "", fmt.Errorf("postgres: %w", err)
		}
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx leaves the password out of its parse errors.
		return nil, "", fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if o.poolSize > 0 {
		cfg.MaxConns = o.poolSize
		cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
		cfg.MinIdleConns = min(cfg.MinIdleConns, cfg.MaxConns)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	if o.tracer != nil {
		cfg.ConnConfig.Tracer = o.tracer
	}
	return cfg, o.schema, nil
}

// Open connects to the database at dsn (a URL or keyword/value string, as
// pgx parses it, pool_* settings included), brings the schema up to date
// and returns a store over a new connection pool. Several instances may
// open the same schema at once: migrations run under an advisory lock.
// A search_path or default_transaction_isolation in the DSN is overridden.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, schema, err := config(dsn, opts)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, cfg, schema); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	return &Store{pool: pool, schema: schema}, nil
}

// Migrate brings the schema up to date and returns, for `tessera migrate`.
// Running it again finds nothing to do.
func Migrate(ctx context.Context, dsn string, opts ...Option) error {
	cfg, schema, err := config(dsn, opts)
	if err != nil {
		return err
	}
	return migrate(ctx, cfg, schema)
}

// migrate creates the schema if missing and applies the embedded
// migrations, all under a session advisory lock keyed by the schema:
// instances starting at once queue on the lock, the first applies what is
// pending, and the others find nothing left. The lock is held on a
// connection of its own, while goose works through the others of db.
func migrate(ctx context.Context, cfg *pgxpool.Config, schema string) (err error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	db := stdlib.OpenDB(*cfg.ConnConfig)
	defer func() {
		// Closing the connections also releases the lock, should the
		// unlock below have failed.
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("postgres: migrate: close: %w", cerr))
		}
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer conn.Close()

	key := int32(crc32.ChecksumIEEE([]byte(schema)))
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, migrationLockClass, key); err != nil {
		return fmt.Errorf("postgres: migrate: lock schema %s: %w", schema, err)
	}
	defer func() {
		// Not ctx: a cancelled migration must still give the lock back.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`,
			migrationLockClass, key); uerr != nil {
			err = errors.Join(err, fmt.Errorf("postgres: migrate: unlock schema %s: %w", schema, uerr))
		}
	}()

	if err := createSchema(ctx, conn, schema); err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate schema %s: %w", schema, err)
	}
	return nil
}

// createSchema creates the schema unless it exists. It looks first because
// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
// even when there is nothing to create, which a deployment that created the
// schema beforehand may rightly not grant.
func createSchema(ctx context.Context, conn *sql.Conn, schema string) error {
	var exists bool
	err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`,
		schema).Scan(&exists)
	if err != nil {
		return fmt.Errorf("postgres: migrate: look up schema %s: %w", schema, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: migrate: create schema %s: %w", schema, err)
	}
	return nil
}

// Close closes the connection pool, waiting for the connections in use to
// be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// retry runs fn again while it fails with a deadlock, a serialization
// failure, or an error pgx guarantees happened before anything reached the
// server (a dead pooled connection). fn must be safe to run again: a
// failed transaction has been rolled back, and a failed statement outside
// one changed nothing.
func retry(ctx context.Context, fn func() error) error {
	for try := 1; ; try++ {
		err := fn()
		if err == nil || try == attempts || !retryable(err) {
			return err
		}
		// Jittered, so that the two sides of a deadlock do not collide
		// again in step.
		backoff := time.Duration(try)*5*time.Millisecond + rand.N(5*time.Millisecond)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	// A text value with a NUL byte or invalid UTF-8, which PostgreSQL
	// cannot hold (SQLite can).
	codeCharacterNotInRepertoire = "22021"
)

func retryable(err error) bool {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code == codeSerializationFailure || e.Code == codeDeadlockDetected
	}
	return pgconn.SafeToRetry(err)
}

// wrap names the operation and maps PostgreSQL's answers to the store's
// sentinel errors, keeping the driver error in the chain for the logs.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch e.Code {
		case codeUniqueViolation:
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrConflict, err)
		case codeForeignKeyViolation:
			// The tenant, app or family the row belongs to does not exist.
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// exec runs one statement, as its own transaction, and returns the number
// of rows it changed.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, query, args...)
		n = tag.RowsAffected()
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

// tx runs fn in one transaction, rolled back if fn fails, and runs it again
// if the transaction lost a deadlock.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return retry(ctx, func() error {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			// A failed rollback makes pgx close the connection, which ends
			// the transaction just as well; fn's error is the story.
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	})
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// unrepresentable tells whether PostgreSQL refused a text argument it
// cannot hold. Such a value matches no row, so a lookup by it finds
// nothing, as it would in the SQLite backend: a hostile tenant name in a
// URL path is then a 404, not a 500.
func unrepresentable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == codeCharacterNotInRepertoire
}

// get reads one row.
func get[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	var v T
	err := retry(ctx, func() error {
		var err error
		v, err = scan(s.pool.QueryRow(ctx, query, args...))
		return err
	})
	if unrepresentable(err) {
		return v, pgx.ErrNoRows
	}
	return v, err
}

// list reads every row of a query.
func list[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, query, args...)
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
	if unrepresentable(err) {
		return nil, nil
	}
	return out, err
}
