package sqlstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/metrics"
)

// Option configures an engine's Open. Each applies to the engines it names;
// given to another, Open refuses it rather than ignore it.
type Option func(*config) error

type config struct {
	engine string // the engine being opened: "sqlite", "postgres", "mysql"

	checkWithin time.Duration // SQLite: 0 skips the integrity check
	checkLater  bool          // SQLite: the check waits for CheckIntegrity unless a migration is due
	log         *slog.Logger

	schema   string          // PostgreSQL
	poolSize int             // PostgreSQL, MySQL: 0 for the default
	tracer   pgx.QueryTracer // PostgreSQL

	metrics *metrics.Metrics
}

func options(opts []Option, engine string) (config, error) {
	c := config{engine: engine}
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return config{}, fmt.Errorf("%s: %w", engine, err)
		}
	}
	return c, nil
}

// only refuses an option on an engine it does not apply to.
func (c *config) only(option string, engines ...string) error {
	for _, e := range engines {
		if c.engine == e {
			return nil
		}
	}
	return fmt.Errorf("%s does not apply to %s", option, c.engine)
}

// WithMetrics (every engine) times the store's round trips and counts its
// retries and lost races in m.
func WithMetrics(m *metrics.Metrics) Option {
	return func(c *config) error {
		c.metrics = m
		return nil
	}
}

// WithIntegrityCheck (SQLite) makes Open run SQLite's quick_check on the
// file before anything else reads it, and refuse a damaged file with
// ErrCorrupt rather than serve until a request reaches a bad page. The
// check reads the whole file, so it stops after within: a check that did
// not finish is logged to log and the database is opened anyway.
func WithIntegrityCheck(within time.Duration, log *slog.Logger) Option {
	return func(c *config) error {
		c.checkWithin, c.log = within, log
		return c.only("WithIntegrityCheck", "sqlite")
	}
}

// WithDeferredIntegrityCheck (SQLite) is WithIntegrityCheck for a server
// that should start at once: the check runs when the caller asks
// (CheckIntegrity), on a reader while the store serves, since it reads the
// whole file (seconds for a store of a million users). When a migration is
// due, the file is checked at open all the same, before the migration
// writes into it.
func WithDeferredIntegrityCheck(within time.Duration, log *slog.Logger) Option {
	return func(c *config) error {
		c.checkWithin, c.checkLater, c.log = within, true, log
		return c.only("WithDeferredIntegrityCheck", "sqlite")
	}
}

// WithSchema (PostgreSQL) puts every object of the store in the named
// schema, created if missing. The name must be what PostgreSQL folds an
// unquoted identifier to: lower-case ASCII letters, digits and
// underscores, not starting with a digit, at most 63 bytes. It is quoted
// wherever it is used, so even a reserved word is safe.
func WithSchema(name string) Option {
	return func(c *config) error {
		if !validSchema(name) {
			return fmt.Errorf("invalid schema name %q: want [a-z_][a-z0-9_]*, at most 63 bytes", name)
		}
		c.schema = name
		return c.only("WithSchema", "postgres")
	}
}

// WithPoolSize (PostgreSQL, MySQL) sets the maximum number of connections
// of the pool. Without it, PostgreSQL's DSN setting pool_max_conns
// applies, or else the greater of 4 and the number of CPUs, which is
// MySQL's default too.
func WithPoolSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1<<15 {
			return fmt.Errorf("invalid pool size %d", n)
		}
		c.poolSize = n
		return c.only("WithPoolSize", "postgres", "mysql")
	}
}

// WithTracer (PostgreSQL) has every statement the store sends, its
// migrations' included, reported to t: pgx's hook for logging, tracing,
// or counting what an operation costs in statements.
func WithTracer(t pgx.QueryTracer) Option {
	return func(c *config) error {
		c.tracer = t
		return c.only("WithTracer", "postgres")
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
