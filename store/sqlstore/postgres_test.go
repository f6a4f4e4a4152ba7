package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// freshName returns a schema name no other test uses.
func freshName() string { return pgtest.Name("tessera_test_") }

// freshSchema names a schema no other test uses, and drops it with
// everything in it when the test ends, after the stores are closed (the
// cleanup is registered first, so it runs last).
func freshSchema(t testing.TB) string {
	t.Helper()
	schema := freshName()
	pgtest.DropOnCleanup(t, pgDSN(t), schema)
	return schema
}

// openPostgres opens a store on schema, closed when the test ends.
func openPostgres(t testing.TB, schema string, opts ...sqlstore.Option) *sqlstore.Postgres {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), pgDSN(t), append([]sqlstore.Option{sqlstore.WithSchema(schema)}, opts...)...)
	return closed(t, s, err)
}

// pgDSN returns the PostgreSQL test database, or skips the test without one.
func pgDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t, "PostgreSQL tests skipped")
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
	if n := scalar[int](t, postgresEngine(), schema, `SELECT count(*) FROM tenants WHERE id = '`+id+`'`); n != 1 {
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
	tenantWriteNotifies(t, freshSchema(t), "notify")
}
