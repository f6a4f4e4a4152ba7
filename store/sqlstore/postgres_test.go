package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/store/storetest"
)

// freshName returns a schema name no other test uses.
func freshName() string { return pgtest.Name("tessera_test_") }

// freshSchema names a schema no other test uses, and drops it with
// everything in it when the test ends, after the stores are closed (the
// cleanup is registered first, so it runs last).
func freshSchema(t *testing.T) string {
	t.Helper()
	schema := freshName()
	pgtest.DropOnCleanup(t, pgDSN(t), schema)
	return schema
}

// openPostgres opens a store on schema, closed when the test ends.
func openPostgres(t *testing.T, schema string, opts ...sqlstore.Option) *sqlstore.Postgres {
	t.Helper()
	s, err := sqlstore.OpenPostgres(t.Context(), pgDSN(t), append([]sqlstore.Option{sqlstore.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// pgQuery runs a query outside the store, on a connection of its own.
func pgQuery[T any](t *testing.T, schema, q string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `SET search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	var v T
	if err := conn.QueryRow(t.Context(), q, args...).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Instances starting at once on a fresh schema all succeed, and the
// migrations ran once: the advisory lock made the others wait, then find
// nothing to do. Without the lock, the losers would fail on tables that
// already exist.
func TestPostgresConcurrentOpen(t *testing.T) {
	schema := freshSchema(t)
	const n = 4
	stores := make([]*sqlstore.Postgres, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = sqlstore.OpenPostgres(t.Context(), pgDSN(t), sqlstore.WithSchema(schema))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
	}

	migrations, err := os.ReadDir("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	// goose records version 0 when it creates its table, then one row per
	// migration applied.
	applied := pgQuery[int](t, schema, `SELECT count(*) FROM goose_db_version WHERE is_applied`)
	if want := len(migrations) + 1; applied != want {
		t.Errorf("goose_db_version has %d rows, want %d: migrations ran more than once", applied, want)
	}

	for i, s := range stores {
		tn := store.Tenant{ID: string(rune('a' + i)), Name: string(rune('a' + i)), SigningAlg: "RS256"}
		if err := s.CreateTenant(t.Context(), tn); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := stores[0].ListTenants(t.Context())
	if err != nil || len(ts) != n {
		t.Fatalf("ListTenants: %d tenants, %v; want %d", len(ts), err, n)
	}
}

// migrateOnly opens a store on schema, which runs the migrations, and
// closes it, as `tessera migrate` does.
func migrateOnly(t *testing.T, schema string) {
	t.Helper()
	s, err := sqlstore.OpenPostgres(t.Context(), pgDSN(t), sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// Opening creates the schema, and opening again changes nothing and keeps
// the data.
func TestPostgresMigrateIdempotent(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	for range 2 {
		migrateOnly(t, schema)
	}
	versions := func() int { return pgQuery[int](t, schema, `SELECT count(*) FROM goose_db_version`) }
	before := versions()

	s := openPostgres(t, schema)
	tn := store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: time.UnixMilli(1_900_000_000_123).UTC()}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	migrateOnly(t, schema)
	if after := versions(); after != before {
		t.Errorf("goose_db_version went from %d to %d rows", before, after)
	}
	got, err := openPostgres(t, schema).GetTenant(ctx, "contoso")
	if err != nil || got != tn {
		t.Errorf("tenant after migrating again: %+v, %v", got, err)
	}
}

// Two schemas of one database are two stores that share nothing, which is
// what lets the conformance tests run side by side.
func TestPostgresSchemaIsolation(t *testing.T) {
	ctx := t.Context()
	a, b := openPostgres(t, freshSchema(t)), openPostgres(t, freshSchema(t))
	tn := store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256"}
	if err := a.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetTenant(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant of schema a seen in schema b: %v", err)
	}
	if err := b.CreateTenant(ctx, tn); err != nil {
		t.Errorf("same tenant in schema b: %v", err)
	}
}

func TestPostgresOptions(t *testing.T) {
	for _, name := range []string{"", "Tessera", "1tessera", "tes-sera", "tessera;drop", `te"ssera`,
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"} {
		if _, err := sqlstore.OpenPostgres(t.Context(), "postgres://127.0.0.1:1/none", sqlstore.WithSchema(name)); err == nil {
			t.Errorf("WithSchema(%q): got nil error", name)
		}
	}
	for _, n := range []int{0, -1} {
		if _, err := sqlstore.OpenPostgres(t.Context(), "postgres://127.0.0.1:1/none", sqlstore.WithPoolSize(n)); err == nil {
			t.Errorf("WithPoolSize(%d): got nil error", n)
		}
	}
	if _, err := sqlstore.OpenPostgres(t.Context(), "not a dsn ::"); err == nil {
		t.Error("Open with a malformed DSN: got nil error")
	}
}

// A reserved word is a valid schema name: it is quoted everywhere.
func TestPostgresReservedSchemaName(t *testing.T) {
	pgDSN(t)
	// The drop is registered for the same name, so that a failed run
	// leaves nothing behind either.
	schema := "select"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgDSN(t))
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS "select" CASCADE`); err != nil {
			t.Error(err)
		}
	})
	s := openPostgres(t, schema)
	id := strings.TrimPrefix(freshName(), "tessera_test_")
	if err := s.CreateTenant(t.Context(), store.Tenant{ID: id, Name: id, SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	if n := pgQuery[int](t, schema, `SELECT count(*) FROM tenants WHERE id = $1`, id); n != 1 {
		t.Errorf("%d tenants %s in schema %q, want 1", n, id, schema)
	}
}

// Collection skips rows another transaction holds, instead of waiting for
// it, and takes them on a later run.
func TestPostgresDeleteExpiredSkipsLockedRows(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := openPostgres(t, schema)
	now := time.UnixMilli(1_900_000_000_000).UTC()
	for _, id := range []string{"a", "b"} {
		err := s.CreateSession(ctx, store.Session{ID: id, Hash: []byte(id), TenantID: "t1", UserID: "u1",
			ExpiresAt: now.Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}

	conn, err := pgx.Connect(ctx, pgDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, "sessions"}.Sanitize()+
		` WHERE id = 'a' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	waited, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := s.DeleteExpired(waited, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("DeleteExpired with one row locked: removed %d, want 1", n)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx, now, 10); err != nil || n != 1 {
		t.Errorf("DeleteExpired after the lock: removed %d, %v; want 1", n, err)
	}
}

// tenantWriteNotifies opens two stores on schema, creates a tenant named
// name through the second and fails unless the first is told of it.
func tenantWriteNotifies(t *testing.T, schema, name string) (a, b *sqlstore.Postgres) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, b = openPostgres(t, schema), openPostgres(t, schema)
	changes := a.Changes(ctx)
	select { // the initial signal after subscribing
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no initial signal")
	}
	if err := b.CreateTenant(ctx, store.Tenant{ID: "t-" + name, Name: name, SigningAlg: "RS256", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("a directory write in schema %s: %v", schema, err)
	}
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatalf("a tenant created through another store in schema %s was not notified", schema)
	}
	return a, b
}

func TestPostgresChangesNotifyAcrossStores(t *testing.T) {
	a, b := tenantWriteNotifies(t, freshSchema(t), "notify")
	ctx := t.Context()

	ran, err := a.Exclusive(ctx, "gc", func(ctx context.Context) error {
		other, err := b.Exclusive(ctx, "gc", func(context.Context) error { return nil })
		if err != nil || other {
			t.Errorf("a second holder ran (%v, %v)", other, err)
		}
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("Exclusive: %v %v", ran, err)
	}
	if ran, err := b.Exclusive(ctx, "gc", func(context.Context) error { return nil }); err != nil || !ran {
		t.Errorf("the lock was not released: %v %v", ran, err)
	}
}

// benchPostgres opens a store on a fresh schema dropped after the benchmark.
func benchPostgres(b *testing.B) *sqlstore.Postgres {
	b.Helper()
	dsn, schema := pgtest.Schema(b, "tessera_test_")
	s, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkRotateRefreshToken: one durable rotation, one statement.
func BenchmarkPostgresRotateRefreshToken(b *testing.B) {
	s := benchPostgres(b)
	storetest.BenchRotate(b, s)
}

// BenchmarkRotateRefreshTokenParallel: concurrent rotations over the pool.
func BenchmarkPostgresRotateRefreshTokenParallel(b *testing.B) {
	s := benchPostgres(b)
	b.SetParallelism(8)
	storetest.BenchRotateParallel(b, s)
}

// The zero time is stored as NULL (the conformance suite checks that it
// reads back as zero; this is the on-disk form other tools see).
func TestPostgresZeroTimeIsNull(t *testing.T) {
	schema := freshSchema(t)
	s := openPostgres(t, schema)
	if err := s.CreateTenant(t.Context(), store.Tenant{ID: "t2", Name: "t2", SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	if null := pgQuery[bool](t, schema, `SELECT created_at IS NULL FROM tenants WHERE id = 't2'`); !null {
		t.Error("zero time not stored as NULL")
	}
}
