package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/store"
)

// dialect is what differs between the SQL engines. Queries are written
// once, in the syntax the engines share, with PostgreSQL's numbered
// placeholders ($1, $2, …) and GREATEST; rebind turns that into the
// engine's own spelling, and the other methods supply the clauses and
// statements that differ in more than spelling. Everything else in this
// package is the same for every engine.
type dialect interface {
	// name prefixes the store's errors: "sqlite", "postgres", "mysql".
	name() string

	// rebind rewrites a query for the engine. order, when not nil, says
	// which argument each placeholder takes, for engines whose
	// placeholders cannot be numbered (MySQL's '?'): $1 used twice is then
	// the first argument twice.
	rebind(query string) (text string, order []int)

	// time is the stored form of a time that is not zero (the zero time
	// is NULL on every engine).
	time(t time.Time) any
	// list is the stored form of a list of strings.
	list(v []string) any
	// listColumn is the expression that reads list column col back as
	// JSON text, which listCol scans on every engine.
	listColumn(col string) string

	// insertIgnore is the tail of an INSERT that skips the rows whose key
	// columns (keys) are taken. How many rows it reports is not the
	// number inserted on every engine.
	insertIgnore(keys string) string
	// upsert is the tail of an INSERT up to the assignments that update
	// the row whose keys are taken. The assignments name the proposed
	// row's values excluded.col and the stored row's table.col.
	upsert(keys string) string
	// forUpdate locks the rows a SELECT in a write transaction reads, on
	// engines where another transaction could change them meanwhile.
	forUpdate() string
	// deleteExpired deletes at most $2 rows of table whose expires_at is
	// at or before $1; key is the table's primary key.
	deleteExpired(table, key string) string

	// classify tells what an engine's error means to the store.
	classify(err error) errClass

	// rotate is RotateRefreshToken: the conditional spend of the parent
	// and the insert of its successor, one transaction, that exactly one
	// of any number of concurrent callers wins.
	rotate(ctx context.Context, s *Store, tenantID string, parent []byte, successor store.RefreshToken, now time.Time) error
	// hit is the upsert of a fixed-window counter, returning the count.
	hit(ctx context.Context, s *Store, key string, start, end time.Time) (int, error)
}

// errClass is what an engine error means to the store.
type errClass int

const (
	errOther errClass = iota
	// errConflict: a unique key is taken (store.ErrConflict).
	errConflict
	// errNoParent: a foreign key names a row that does not exist (the
	// tenant or app a row belongs to): store.ErrNotFound.
	errNoParent
	// errRetry: a transient conflict (SQLite busy, a deadlock, a
	// serialization failure) after which running again goes through.
	errRetry
	// errUnrepresentable: an argument the engine cannot hold as text (a
	// NUL byte or invalid UTF-8 for PostgreSQL); a lookup by it finds
	// nothing, as on the engines that can hold it.
	errUnrepresentable
)

// rewrite is the shared scanner behind the dialects' rebind: it copies
// query, calling placeholder for each $n and word for each identifier
// outside string literals and quoted identifiers, and returns what they
// made of them.
func rewrite(query string, placeholder func(b *strings.Builder, n int), word func(b *strings.Builder, w string, rest string) int) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) && query[j] != c {
				j++
			}
			b.WriteString(query[i:min(j+1, len(query))])
			i = j + 1
		case c == '$' && i+1 < len(query) && isDigit(query[i+1]):
			j := i + 1
			for j < len(query) && isDigit(query[j]) {
				j++
			}
			n, _ := strconv.Atoi(query[i+1 : j])
			placeholder(&b, n)
			i = j
		case isWordStart(c):
			j := i + 1
			for j < len(query) && isWordPart(query[j]) {
				j++
			}
			if word == nil {
				b.WriteString(query[i:j])
				i = j
				continue
			}
			// word may consume what follows the word (a ".col") and
			// says how much.
			i = j + word(&b, query[i:j], query[j:])
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isWordStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isWordPart(c byte) bool  { return isWordStart(c) || isDigit(c) }
