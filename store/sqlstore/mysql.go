package sqlstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"

	"github.com/tessera-id/tessera/store"
)

//go:embed migrations/mysql/*.sql
var mysqlMigrations embed.FS

// MySQL is the store for several server instances that share one MySQL or
// MariaDB database, through github.com/go-sql-driver/mysql.
//
// Concurrency is PostgreSQL's argument (see Postgres) at READ COMMITTED,
// which InnoDB supports in the same way: a conditional UPDATE waits for
// the row lock and evaluates its condition against the latest committed
// row, so one of any number of concurrent callers wins. InnoDB's default,
// REPEATABLE READ, would add gap locks to every range the collector and
// the revocations scan, for no guarantee the store needs.
type MySQL struct {
	shared
	database string
}

// MySQLConfig is the driver configuration the store uses for a
// mysql://user:password@host:port/database?params URL: the port defaults
// to 3306, ?socket=/path connects through a Unix socket instead of TCP,
// ?pool_max_conns=N sizes the pool (as in a PostgreSQL URL; OpenMySQL
// reads it), and the other parameters are the driver's (tls=true,
// timeout=5s, …). The settings the store depends on are set whatever the
// URL says: times in UTC (parseTime, loc, the session's time_zone),
// arguments interpolated by the driver (one round trip per statement, no
// server-side statement to keep), rows matched rather than changed as the
// count of an UPDATE, ANSI_QUOTES (the queries quote identifiers such as
// "key" as standard SQL does), strict mode, and READ COMMITTED (added by
// OpenMySQL, which knows the server's name for it).
func MySQLConfig(rawURL string) (*mysql.Config, error) {
	cfg, _, err := parseMySQLURL(rawURL)
	return cfg, err
}

// parseMySQLURL is MySQLConfig, and the pool size the URL asks for (0 for
// none).
func parseMySQLURL(rawURL string) (*mysql.Config, int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's errors quote the URL, password included.
		return nil, 0, errors.New("mysql: the store URL does not parse; use mysql://user:password@host:3306/database")
	}
	if u.Scheme != "mysql" {
		return nil, 0, fmt.Errorf("mysql: store URL scheme %q: use mysql://", u.Scheme)
	}
	database := strings.TrimPrefix(u.Path, "/")
	if database == "" || strings.Contains(database, "/") {
		return nil, 0, errors.New("mysql: the store URL names no database: use mysql://user:password@host:3306/database")
	}
	q := u.Query()
	pool := 0
	if v := q.Get("pool_max_conns"); v != "" {
		if pool, err = strconv.Atoi(v); err != nil || pool < 1 || pool > 1<<15 {
			return nil, 0, fmt.Errorf("mysql: store URL: pool_max_conns=%q: want a number of connections", v)
		}
		q.Del("pool_max_conns")
	}
	addr := "tcp(" + net.JoinHostPort(u.Hostname(), cmp.Or(u.Port(), "3306")) + ")"
	if sock := q.Get("socket"); sock != "" {
		addr = "unix(" + sock + ")"
		q.Del("socket")
	}
	// The driver parses its own parameters; the credentials are set
	// afterwards, so that no escaping of them matters.
	cfg, err := mysql.ParseDSN(addr + "/" + database + "?" + q.Encode())
	if err != nil {
		return nil, 0, fmt.Errorf("mysql: store URL parameters: %w", err)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.InterpolateParams = true
	cfg.ClientFoundRows = true
	cfg.MultiStatements = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "CONCAT(@@sql_mode, ',ANSI_QUOTES,STRICT_ALL_TABLES')"
	return cfg, pool, nil
}

// OpenMySQL connects to the database a mysql:// URL names (see
// MySQLConfig), brings its schema up to date and returns a store over a
// new connection pool. The database must exist. Several instances may open
// it at once: migrations run under a named lock (GET_LOCK).
func OpenMySQL(ctx context.Context, rawURL string, opts ...Option) (*MySQL, error) {
	o, err := options(opts, "mysql")
	if err != nil {
		return nil, err
	}
	cfg, pool, err := parseMySQLURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := readCommitted(ctx, cfg); err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	// WithPoolSize, else the URL's pool_max_conns, else pgxpool's default.
	n := cmp.Or(o.poolSize, pool, max(4, runtime.NumCPU()))
	// pgxpool's settings, for the same reasons: every connection may stay
	// idle, and none lives long enough to meet the server's wait_timeout.
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(time.Hour)
	db.SetConnMaxIdleTime(30 * time.Minute)

	m := &MySQL{database: cfg.DBName}
	m.shared = shared{Store: newStore(mysqlDialect{}, db, db, o.metrics), lock: func(name string) any { return m.lockName(name) },
		tryLock: `SELECT GET_LOCK(?, 0)`, unlock: `SELECT RELEASE_LOCK(?)`}
	// auth_requests predates this engine: there are none to collect.
	m.collected = slices.DeleteFunc(m.collected, func(c collected) bool { return c.table == "auth_requests" })
	m.tenantTables = slices.DeleteFunc(m.tenantTables, func(t string) bool { return t == "auth_requests" })
	// Under a named lock. GET_LOCK waits at most its timeout: a day stands
	// for "until ctx ends", which closes the connection and so ends the
	// wait. MySQL commits each DDL statement on its own, so a migration
	// that fails halfway (a missing privilege) leaves what it did, for the
	// operator to drop before trying again.
	err = m.ready(ctx, sql.OpenDB(connector), migration{dialect: goose.DialectMySQL,
		fsys: mysqlMigrations, dir: "migrations/mysql",
		lock: `SELECT GET_LOCK(?, 86400)`, unlock: `SELECT RELEASE_LOCK(?)`, args: []any{m.lockName("migrate")},
		where: "database " + m.database})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// readCommitted sets READ COMMITTED on every connection of cfg, by the
// name the server knows the setting by: transaction_isolation on MySQL
// (which dropped tx_isolation in 8.0) and MariaDB 11.1 on, tx_isolation on
// older MariaDB. One connection asks.
func readCommitted(ctx context.Context, cfg *mysql.Config) error {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	name := "transaction_isolation"
	var v string
	err = db.QueryRowContext(ctx, `SELECT @@transaction_isolation`).Scan(&v)
	var e *mysql.MySQLError
	if errors.As(err, &e) && e.Number == mysqlUnknownSystemVariable {
		name, err = "tx_isolation", nil
	}
	if err != nil {
		return fmt.Errorf("mysql: connect to %s: %w", cfg.Addr, err)
	}
	cfg.Params[name] = "'READ-COMMITTED'"
	return nil
}

// lockName is a server-wide lock name (GET_LOCK's names are not per
// database) for name in this database, within the 64 characters MySQL
// allows.
func (m *MySQL) lockName(name string) string {
	sum := sha256.Sum256([]byte(m.database + "\x00" + name))
	return "tessera:" + hex.EncodeToString(sum[:20])
}

// DirectoryVersion returns a counter that triggers increment on every
// change to tenants, apps, secrets, credentials, users, consents and
// signing keys, by any process (migration 00001, as SQLite's 00003 does):
// MySQL has no LISTEN/NOTIFY. A cache of those rows is good as long as the
// counter has not moved. The read cache asks on the request that comes due
// (readcache.NewVersioned), so that a change made through any instance or
// the admin CLI is seen by every instance from its next request after the
// interval on, as on SQLite, and an idle instance asks nothing.
func (m *MySQL) DirectoryVersion(ctx context.Context) (int64, error) {
	return m.directoryVersion(ctx)
}

// mysqlDialect is MySQL's and MariaDB's: '?' placeholders in argument
// order, VALUES(col) for the proposed row of an upsert, times as
// DATETIME(3) in UTC, lists as JSON text, no RETURNING.
type mysqlDialect struct{}

func (mysqlDialect) name() string { return "mysql" }

func (mysqlDialect) rebind(query string) (string, []int) {
	order := []int{}
	text := rewrite(query, func(b *strings.Builder, n int) {
		b.WriteByte('?')
		order = append(order, n-1)
	}, func(b *strings.Builder, w, rest string) int {
		// excluded.col, PostgreSQL's and SQLite's name for the proposed
		// row's value in an upsert, is VALUES(col) here.
		if w == "excluded" && len(rest) > 1 && rest[0] == '.' && isWordStart(rest[1]) {
			j := 2
			for j < len(rest) && isWordPart(rest[j]) {
				j++
			}
			b.WriteString("VALUES(" + rest[1:j] + ")")
			return j
		}
		b.WriteString(w)
		return 0
	})
	return text, order
}

// time cuts to the millisecond on the way in: DATETIME(3) would round.
func (mysqlDialect) time(t time.Time) any         { return t.Truncate(time.Millisecond).UTC() }
func (mysqlDialect) list(v []string) any          { return jsonCol{v} }
func (mysqlDialect) listColumn(col string) string { return col }

// insertIgnore assigns the first key column itself: MySQL's INSERT IGNORE
// would also turn other errors (a missing parent, a value too long) into
// warnings.
func (mysqlDialect) insertIgnore(keys string) string {
	first, _, _ := strings.Cut(keys, ",")
	return "ON DUPLICATE KEY UPDATE " + first + " = " + first
}

func (mysqlDialect) upsert(string) string { return "ON DUPLICATE KEY UPDATE" }
func (mysqlDialect) forUpdate() string    { return " FOR UPDATE" }

// deleteExpired uses DELETE … LIMIT: MySQL refuses both a LIMIT in an IN
// subquery and a subquery on the table being deleted from. The rows come
// through the expires_at index; the collector runs on one instance at a
// time (Exclusive), so there is nobody to skip locked rows for.
func (mysqlDialect) deleteExpired(table, _ string) string {
	return `DELETE FROM ` + table + ` WHERE expires_at <= $1 LIMIT $2`
}

const (
	mysqlDupEntry              = 1062
	mysqlNoReferencedRow       = 1216
	mysqlNoReferencedRow2      = 1452
	mysqlLockDeadlock          = 1213
	mysqlRecordChanged         = 1020 // MariaDB's snapshot isolation conflict
	mysqlUnknownSystemVariable = 1193
)

func (mysqlDialect) classify(err error) errClass {
	var e *mysql.MySQLError
	if !errors.As(err, &e) {
		return errOther
	}
	switch e.Number {
	case mysqlDupEntry:
		return errConflict
	case mysqlNoReferencedRow, mysqlNoReferencedRow2:
		return errNoParent
	case mysqlLockDeadlock, mysqlRecordChanged:
		return errRetry
	}
	return errOther
}

// mysqlInsertSuccessor inserts the successor of the parent ($6, $7) that
// this transaction just spent, taking its lineage from the parent row.
// MySQL allows an INSERT … SELECT from the table it inserts into.
const mysqlInsertSuccessor = `INSERT INTO refresh_tokens (` + tokenCols + `)
	SELECT $1, tenant_id, family_id, hash, generation + 1, $2, $3, $4, $5
	FROM refresh_tokens WHERE tenant_id = $6 AND hash = $7`

// rotate: MySQL has no RETURNING, so the rotation is a transaction of the
// conditional spend, whose count of matched rows says whether this caller
// won, and the successor's insert, which reads the lineage from the parent
// row the spend has locked. Concurrent rotations of one parent wait for
// that lock, then find the parent spent and match nothing.
func (mysqlDialect) rotate(ctx context.Context, s *Store, tenantID string, parent []byte, successor store.RefreshToken, now time.Time) error {
	return s.tx(ctx, func(c conn) error {
		n, err := rowsAffected(c.exec(ctx, spendParent, now, tenantID, parent))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotLive
		}
		_, err = c.exec(ctx, mysqlInsertSuccessor, successor.Hash, grantValue(successor.Grant),
			successor.CreatedAt, successor.ExpiresAt, successor.UsedAt, tenantID, parent)
		return err
	})
}

// hit is one upsert, without RETURNING: the new count travels back as the
// statement's LAST_INSERT_ID, MySQL's way of answering a value from an
// UPDATE, which the driver reads from the statement's own reply. A row
// inserted anew sets none (the table has no AUTO_INCREMENT), so 0 means
// the first hit. The count is assigned before window_start, since MySQL
// assigns left to right.
func (mysqlDialect) hit(ctx context.Context, s *Store, key string, start, end time.Time) (int, error) {
	res, err := s.writer().exec(ctx, `INSERT INTO rate_limits ("key", window_start, count, expires_at)
		VALUES ($1, $2, 1, $3) ON DUPLICATE KEY UPDATE
			count = LAST_INSERT_ID(CASE WHEN VALUES(window_start) <= window_start THEN count + 1 ELSE 1 END),
			window_start = GREATEST(window_start, VALUES(window_start)),
			expires_at = GREATEST(expires_at, VALUES(expires_at))`, key, start, end)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return max(1, int(id)), nil
}

var _ store.Store = (*MySQL)(nil)
