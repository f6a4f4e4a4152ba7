// Package sqlstore is the store.Store of every SQL engine Tessera runs on,
// through database/sql: SQLite (modernc.org/sqlite: one file, for one
// server), PostgreSQL (pgx's database/sql adapter) and MySQL or MariaDB
// (github.com/go-sql-driver/mysql), the last two shared by several server
// instances.
//
// Each query is written once. A dialect (the interface in dialect.go, one
// implementation in each engine's file) covers what differs: placeholders,
// the stored form of times and lists, upserts, GREATEST, row locks, error
// codes, and the few operations whose best form differs in kind (the
// refresh rotation, the rate-limit hit, expiry collection). What an engine
// offers beyond store.Store (PostgreSQL's change feed, SQLite's and MySQL's
// directory version, the shared engines' locks between processes and
// master key check) is a method of the engine's own type (SQLite, Postgres,
// MySQL), which callers discover by type assertion on small interfaces of
// their own.
//
// Secrets never reach this package in clear: see package store.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/tracing"
	"github.com/tessera-id/tessera/store"
)

// Store is the database/sql implementation of store.Store. The engines'
// types (SQLite, Postgres, MySQL) embed it.
type Store struct {
	d dialect
	// w takes every write, r every read outside a write transaction. They
	// are one pool except with SQLite: see OpenSQLite.
	w, r *sql.DB
	// prepare has statements prepared once per pool and query, for an
	// engine whose parser costs as much as running a simple statement
	// (SQLite). PostgreSQL's driver prepares and caches per connection on
	// its own, and MySQL's interpolates the arguments (one round trip, no
	// statement for the server to keep).
	prepare bool
	// stmts holds each query as the engine runs it: stmtKey -> *stmt.
	stmts sync.Map
	// appCols is the apps table's select list (see appColumns).
	appCols string
	// sessionCols is the sessions table's select list (see sessionColumns).
	sessionCols string

	retry retryPolicy
	// collected are the tables DeleteExpired collects, with their keys.
	collected []collected
	// tenantTables are the tables DeleteTenant empties (see tenantTables).
	tenantTables []string
	// closers end what the engine runs beside the pools (SQLite's
	// rotation loop), before the pools close.
	closers []func() error
	// metrics, when not nil, times round trips and counts retries and
	// lost races, labelled with engine.
	metrics *metrics.Metrics
	engine  string
}

var _ store.Store = (*Store)(nil)

// retryPolicy bounds how often a transient conflict (errRetry) is run
// again, and how long to wait before each new attempt.
type retryPolicy struct {
	attempts int
	backoff  func(try int) time.Duration
}

// collected is a table DeleteExpired collects by expires_at.
type collected struct{ table, key string }

// collectedTables are the tables collected by expiry, with their primary
// keys. Tokens go before families, so that the cascade from a family
// usually finds none of its tokens left: they expire no later than the
// family does.
func collectedTables() []collected {
	return []collected{
		{"auth_codes", "tenant_id, hash"},
		{"auth_requests", "tenant_id, id"},
		{"sessions", "tenant_id, hash"},
		{"refresh_tokens", "tenant_id, hash"},
		{"refresh_families", "tenant_id, id"},
		{"device_codes", "tenant_id, hash"},
		{"assertion_ids", "tenant_id, client_id, jti"},
		{"revoked_access_tokens", "tenant_id, jti"},
		{"rate_limits", `"key"`},
		{"throttles", `tenant_id, "key"`},
		{"audit_log", "tenant_id, id"},
	}
}

// Close ends the engine's own work and closes the pools.
func (s *Store) Close() error {
	var errs []error
	for _, fn := range s.closers {
		errs = append(errs, fn())
	}
	s.stmts.Range(func(_, v any) bool {
		if st := v.(*stmt); st.prepared != nil {
			errs = append(errs, st.prepared.Close())
		}
		return true
	})
	errs = append(errs, s.r.Close())
	if s.w != s.r {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// stmt is a query as the engine runs it.
type stmt struct {
	text     string
	order    []int     // see dialect.rebind
	prepared *sql.Stmt // on the pool of its key, when the engine prepares
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// stmt returns query ready to run on db, rewriting (and preparing) it the
// first time.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*stmt, error) {
	k := stmtKey{db, query}
	if v, ok := s.stmts.Load(k); ok {
		return v.(*stmt), nil
	}
	st := &stmt{}
	st.text, st.order = s.d.rebind(query)
	if s.prepare {
		p, err := db.PrepareContext(ctx, st.text)
		if err != nil {
			return nil, err
		}
		st.prepared = p
	}
	if v, loaded := s.stmts.LoadOrStore(k, st); loaded {
		if st.prepared != nil {
			_ = st.prepared.Close()
		}
		return v.(*stmt), nil
	}
	return st, nil
}

// args converts arguments to what the engine stores (see columns.go) and,
// for an engine with unnumbered placeholders, puts them in placeholder
// order. It converts in place, which running it again (a retry) leaves as
// it is.
func (s *Store) args(order []int, args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			if v.IsZero() {
				args[i] = nil
			} else {
				args[i] = s.d.time(v)
			}
		case time.Duration:
			args[i] = v.Milliseconds()
		case []string:
			args[i] = s.d.list(v)
		}
	}
	if order == nil {
		return args
	}
	out := make([]any, len(order))
	for i, n := range order {
		out[i] = args[n]
	}
	return out
}

// conn is what a statement runs on: a pool, or a transaction of the
// writer's.
type conn struct {
	s  *Store
	db *sql.DB
	tx *sql.Tx // nil outside a transaction
	// missed collects, in a transaction of an engine that prepares, the
	// queries not prepared yet: preparing needs a connection, and the
	// writer's only one is the transaction's (SQLite), so they run as
	// text this time and are prepared once it ends (see Store.tx).
	missed *[]string
}

// stmt is query as c runs it.
func (c conn) stmt(ctx context.Context, query string) (*stmt, error) {
	if c.tx == nil || !c.s.prepare {
		return c.s.stmt(ctx, c.db, query)
	}
	if v, ok := c.s.stmts.Load(stmtKey{c.db, query}); ok {
		return v.(*stmt), nil
	}
	*c.missed = append(*c.missed, query)
	text, order := c.s.d.rebind(query)
	return &stmt{text: text, order: order}, nil
}

// runner runs one statement with its arguments: a *sql.Stmt, or a
// query's text on a pool or transaction (text).
type runner interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
}

// queryer is a pool or a transaction.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// text is a query that runs as text on q.
type text struct {
	q    queryer
	text string
}

func (t text) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.q.ExecContext(ctx, t.text, args...)
}

func (t text) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return t.q.QueryRowContext(ctx, t.text, args...)
}

func (t text) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(ctx, t.text, args...)
}

// run returns what runs query on c, and its arguments converted and in
// order: the prepared statement (in c's transaction, if any) or the text.
func (c conn) run(ctx context.Context, query string, args []any) (runner, []any, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	args = c.s.args(st.order, args)
	switch {
	case c.tx != nil && st.prepared != nil:
		return c.tx.StmtContext(ctx, st.prepared), args, nil
	case c.tx != nil:
		return text{c.tx, st.text}, args, nil
	case st.prepared != nil:
		return st.prepared, args, nil
	}
	return text{c.db, st.text}, args, nil
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, args, err := c.run(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return r.ExecContext(ctx, args...)
}

// queryRow runs a query for one row. An error preparing it is the row's
// error, as database/sql reports every other.
func (c conn) queryRow(ctx context.Context, query string, args ...any) scanner {
	r, args, err := c.run(ctx, query, args)
	if err != nil {
		return errRow{err}
	}
	return r.QueryRowContext(ctx, args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r, args, err := c.run(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return r.QueryContext(ctx, args...)
}

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func (s *Store) writer() conn { return conn{s: s, db: s.w} }
func (s *Store) reader() conn { return conn{s: s, db: s.r} }

// retryOn runs fn again while it fails with a transient conflict (see
// errRetry). fn must be safe to run again: a failed transaction has been
// rolled back, and a failed statement outside one changed nothing.
func (s *Store) retryOn(ctx context.Context, fn func() error) error {
	for try := 1; ; try++ {
		err := fn()
		if err == nil || try >= s.retry.attempts || s.d.classify(err) != errRetry {
			return err
		}
		s.metrics.StoreRetry(s.engine)
		t := time.NewTimer(s.retry.backoff(try))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// jittered is a backoff that grows with each try and is spread at random,
// so that the two sides of a deadlock do not collide again in step.
func jittered(step time.Duration) func(int) time.Duration {
	return func(try int) time.Duration {
		return time.Duration(try)*step + rand.N(step)
	}
}

// wrap names the operation and maps the engine's answers to the store's
// sentinel errors, keeping the driver error in the chain for the logs.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %s: %w", s.d.name(), op, store.ErrNotFound)
	}
	switch s.d.classify(err) {
	case errConflict:
		s.metrics.StoreConflict(s.engine)
		return fmt.Errorf("%s: %s: %w: %w", s.d.name(), op, store.ErrConflict, err)
	case errNoParent:
		// The tenant or app the row belongs to does not exist.
		return fmt.Errorf("%s: %s: %w: %w", s.d.name(), op, store.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %s: %w", s.d.name(), op, err)
}

// exec runs one statement on the writer, as its own transaction, and
// returns the number of rows it matched. A change that carries an audit
// entry (store.WithAudit) runs in a transaction with it, unless it
// matches no row.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	if _, _, ok := store.PendingAudit(ctx); ok {
		// A statement that changed nothing is rolled back rather than
		// audited: the caller decides whether that was an error.
		err := s.tx(ctx, func(c conn) error {
			var err error
			n, err = rowsAffected(c.exec(ctx, query, args...))
			if err == nil && n == 0 {
				return errUnchanged
			}
			return err
		})
		if errors.Is(err, errUnchanged) {
			return 0, nil
		}
		return n, err
	}
	defer s.timed(ctx, "write")()
	err := s.retryOn(ctx, func() error {
		res, err := s.writer().exec(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// timed starts timing a round trip of kind (read, write, tx) for the
// metrics and the request's trace; the returned func records it. Without
// either it costs no clock read.
func (s *Store) timed(ctx context.Context, kind string) func() {
	_, endSpan := tracing.StartAttr(ctx, storeSpan(kind), "db.system.name", s.engine)
	if s.metrics == nil {
		return endSpan
	}
	start := time.Now()
	return func() {
		s.metrics.StoreOp(s.engine, kind, time.Since(start))
		endSpan()
	}
}

// storeSpan names a round trip's span: a constant per kind, so that
// nothing is built for it while tracing is off.
func storeSpan(kind string) string {
	switch kind {
	case "read":
		return "store.read"
	case "write":
		return "store.write"
	}
	return "store.tx"
}

// errUnchanged rolls back an audited statement that matched no row.
var errUnchanged = errors.New("sqlstore: no row changed")

// execOne is exec for statements addressed by primary key: changing no row
// means the row does not exist.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	n, err := s.exec(ctx, query, args...)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// tx runs fn in one write transaction, rolled back if fn fails, and runs
// it again after a transient conflict. The audit entry ctx carries for the
// change, if any, is written in the same transaction.
func (s *Store) tx(ctx context.Context, fn func(c conn) error) error {
	defer s.timed(ctx, "tx")()
	var missed []string
	var recorded func()
	err := s.retryOn(ctx, func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		c := conn{s: s, db: s.w, tx: tx, missed: &missed}
		err = fn(c)
		if err == nil {
			recorded, err = recordPending(ctx, c)
		}
		if err != nil {
			// The rollback can only fail if the connection is gone, which
			// ends the transaction just as well; fn's error is the story.
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if err == nil && recorded != nil {
		recorded()
	}
	// The writer's connection is free again: prepare what the transaction
	// ran as text, for the next one. A failure here only means the next
	// transaction runs it as text again.
	for _, q := range missed {
		_, _ = s.stmt(ctx, s.w, q)
	}
	return err
}

// get reads one row through the reader pool. A lookup by a value the
// engine cannot hold finds nothing.
func get[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	var v T
	defer s.timed(ctx, "read")()
	err := s.retryOn(ctx, func() error {
		var err error
		v, err = scan(s.reader().queryRow(ctx, query, args...))
		return err
	})
	if err != nil && s.d.classify(err) == errUnrepresentable {
		return v, sql.ErrNoRows
	}
	return v, err
}

// list reads every row of a query through the reader pool.
func list[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	defer s.timed(ctx, "read")()
	err := s.retryOn(ctx, func() error {
		out = nil
		rows, err := s.reader().query(ctx, query, args...)
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
	if err != nil && s.d.classify(err) == errUnrepresentable {
		return nil, nil
	}
	return out, err
}

// placeholders is "$from, $from+1, …" for n values, for a list whose
// length varies (IN (…), several rows of VALUES).
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// rowsAffected is the number of rows a statement matched.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// newStore is the part of opening that every engine shares.
func newStore(d dialect, w, r *sql.DB, m *metrics.Metrics) *Store {
	return &Store{d: d, w: w, r: r, metrics: m, engine: d.name(), appCols: appColumns(d), sessionCols: sessionColumns(d), collected: collectedTables(), tenantTables: tenantTables(),
		retry: retryPolicy{attempts: 6, backoff: jittered(5 * time.Millisecond)}}
}
