package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tessera-id/tessera/store"
)

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

const (
	// DefaultSchema is where the PostgreSQL store lives unless WithSchema
	// says otherwise.
	DefaultSchema = "public"

	// migrationLockClass is the first half of the advisory lock key that
	// serializes migrations; the second half is a checksum of the schema
	// name, so that stores in different schemas migrate independently (two
	// names with the same checksum merely wait for each other).
	migrationLockClass int32 = 0x74657373 // "tess"
)

// Postgres is the store for several server instances that share one
// PostgreSQL database, through pgx's database/sql adapter.
//
// Every object lives in one schema (public unless WithSchema says
// otherwise), so that one database can hold several isolated stores: the
// connections' search_path is set to it and queries name no schema.
//
// Concurrency: every connection runs at READ COMMITTED, and each state
// change that must have exactly one winner (refresh rotation, code and
// device code redemption, device decisions, assertion replay, rate-limit
// hits) is a conditional UPDATE or an INSERT on a unique key. PostgreSQL
// takes the row lock and then re-checks the statement's predicate against
// the row's latest committed version, so of any number of concurrent
// callers, across pools and instances, one changes the row and the others
// find it no longer matching. That needs no retry loop in the common case,
// unlike SERIALIZABLE, which aborts every loser with a serialization
// failure. Deadlocks (and serialization failures, should a statement ever
// run at a stricter level) are still retried a few times.
type Postgres struct {
	shared
	schema string
	// conn is the configuration of the pool's connections, for the
	// listener, which has a connection of its own.
	conn *pgx.ConnConfig
}

// OpenPostgres connects to the database at dsn (a URL or keyword/value
// string, as pgx parses it, pool_max_conns, pool_max_conn_lifetime and
// pool_max_conn_idle_time included), brings the schema up to date and
// returns a store over a new connection pool. Several instances may open
// the same schema at once: migrations run under an advisory lock. A
// search_path or default_transaction_isolation in the DSN is overridden:
// the pool's connections use the schema and READ COMMITTED whatever the DSN
// or the database's defaults say, because the concurrency argument above
// depends on both.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Postgres, error) {
	o, err := options(opts, "postgres")
	if err != nil {
		return nil, err
	}
	if o.schema == "" {
		o.schema = DefaultSchema
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx leaves the password out of its parse errors.
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if o.poolSize > 0 {
		cfg.MaxConns = int32(o.poolSize)
	}
	cc := cfg.ConnConfig
	cc.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	cc.RuntimeParams["default_transaction_isolation"] = "read committed"
	if o.tracer != nil {
		cc.Tracer = o.tracer
	}
	// database/sql's pool in the place of pgxpool's, with its settings.
	// Every connection may stay idle, as in pgxpool: database/sql would
	// otherwise keep two and open the others anew under load.
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)

	p := &Postgres{schema: o.schema, conn: cc.Copy()}
	p.shared = shared{Store: newStore(postgresDialect{}, db, db, o.metrics), lock: p.lockKey,
		tryLock: `SELECT pg_try_advisory_lock($1)`, unlock: `SELECT pg_advisory_unlock($1)`}
	// Under a session advisory lock keyed by the schema, which is created
	// first if missing.
	err = p.ready(ctx, stdlib.OpenDB(*cc), migration{dialect: goose.DialectPostgres,
		fsys: postgresMigrations, dir: "migrations/postgres",
		lock: `SELECT true FROM pg_advisory_lock($1, $2)`, unlock: `SELECT pg_advisory_unlock($1, $2)`,
		args:   []any{migrationLockClass, int32(crc32.ChecksumIEEE([]byte(o.schema)))},
		before: func(ctx context.Context, db *sql.DB) error { return createSchema(ctx, db, o.schema) },
		where:  "schema " + o.schema})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// createSchema creates the schema unless it exists. It looks first because
// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
// even when there is nothing to create, which a deployment that created the
// schema beforehand may rightly not grant.
func createSchema(ctx context.Context, db *sql.DB, schema string) error {
	var exists bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`,
		schema).Scan(&exists)
	if err != nil {
		return fmt.Errorf("postgres: migrate: look up schema %s: %w", schema, err)
	}
	if exists {
		return nil
	}
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: migrate: create schema %s: %w", schema, err)
	}
	return nil
}

// lockKey is the advisory lock of name in this schema, for Exclusive.
func (p *Postgres) lockKey(name string) any {
	return int64(crc32.ChecksumIEEE([]byte(p.schema)))<<32 | int64(crc32.ChecksumIEEE([]byte(name)))
}

// postgresDialect is PostgreSQL's, the spelling queries are written in:
// rebind changes nothing. Times are timestamptz, lists text[].
type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) rebind(query string) (string, []int) { return query, nil }

// time cuts to the millisecond on the way in, rather than comparing at
// PostgreSQL's microseconds, so that "expired at" means exactly what it
// means where times are unix milliseconds.
func (postgresDialect) time(t time.Time) any { return t.Truncate(time.Millisecond).UTC() }

// list is never nil: pgx sends a nil slice as NULL, and the columns are NOT
// NULL.
func (postgresDialect) list(v []string) any {
	if v == nil {
		return []string{}
	}
	return v
}

// listColumn reads a text[] as JSON: database/sql hands arrays over as
// PostgreSQL's text literal, which JSON spares parsing.
func (postgresDialect) listColumn(col string) string { return "array_to_json(" + col + ")" }

func (postgresDialect) insertIgnore(keys string) string {
	return "ON CONFLICT (" + keys + ") DO NOTHING"
}
func (postgresDialect) upsert(keys string) string { return "ON CONFLICT (" + keys + ") DO UPDATE SET" }
func (postgresDialect) forUpdate() string         { return " FOR UPDATE" }

// deleteExpired picks rows by primary key rather than ctid so that the
// statement still works once tables are partitioned or sharded by tenant.
// SKIP LOCKED lets the collectors of several instances run at once without
// queueing behind each other or behind a row being written right now; what
// one skips, the next run takes.
func (postgresDialect) deleteExpired(table, key string) string {
	return `DELETE FROM ` + table + ` WHERE (` + key + `) IN
		(SELECT ` + key + ` FROM ` + table + ` WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
}

const (
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	// A text value with a NUL byte or invalid UTF-8, which PostgreSQL
	// cannot hold (SQLite can).
	pgCharacterNotInRepertoire = "22021"
)

func (postgresDialect) classify(err error) errClass {
	if err == nil {
		return errOther
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch e.Code {
		case pgUniqueViolation:
			return errConflict
		case pgForeignKeyViolation:
			return errNoParent
		case pgSerializationFailure, pgDeadlockDetected:
			return errRetry
		case pgCharacterNotInRepertoire:
			return errUnrepresentable
		}
		return errOther
	}
	// An error pgx guarantees happened before anything reached the
	// server (a dead pooled connection).
	if pgconn.SafeToRetry(err) {
		return errRetry
	}
	return errOther
}

// postgresRotate is spendParent and the successor's insert in one
// statement, so one round trip and its own transaction: the CTE spends the
// parent and the INSERT stores the successor from what it returns. Of
// concurrent rotations of one parent, the first locks its row; the others
// wait, then re-check "used_at IS NULL" against the row the first left and
// update nothing, so they insert nothing and get ErrNotLive. If the insert
// fails (the successor clashes), the whole statement rolls back, parent
// included.
const postgresRotate = `WITH parent AS (` + spendParent + `
		RETURNING tenant_id, family_id, hash, generation
	)
	INSERT INTO refresh_tokens (` + tokenCols + `)
	SELECT $4::bytea, parent.tenant_id, parent.family_id, parent.hash, parent.generation + 1,
		$5::jsonb, $6::timestamptz, $7::timestamptz, $8::timestamptz
	FROM parent
	RETURNING generation`

func (postgresDialect) rotate(ctx context.Context, s *Store, tenantID string, parent []byte, successor store.RefreshToken, now time.Time) error {
	return s.retryOn(ctx, func() error {
		var generation int
		err := s.writer().queryRow(ctx, postgresRotate, now, tenantID, parent, successor.Hash,
			grantValue(successor.Grant), successor.CreatedAt, successor.ExpiresAt, successor.UsedAt).Scan(&generation)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotLive
		}
		return err
	})
}

func (postgresDialect) hit(ctx context.Context, s *Store, key string, start, end time.Time) (int, error) {
	return hitReturning(ctx, s, key, start, end)
}

var _ store.Store = (*Postgres)(nil)
