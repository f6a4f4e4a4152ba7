// Package pgtest gives tests a PostgreSQL schema of their own.
//
// Tests that need PostgreSQL read its DSN from TESSERA_TEST_POSTGRES and
// skip with a clear message when it is unset (CI sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN returns the test database, or skips the test without one; why
// names what the skipped test needed it for.
func DSN(t testing.TB, why string) string {
	t.Helper()
	dsn := os.Getenv("TESSERA_TEST_POSTGRES")
	if dsn == "" {
		t.Skipf("TESSERA_TEST_POSTGRES is not set; %s (CI sets it)", why)
	}
	return dsn
}

// Name returns prefix followed by random hex digits: a schema name no
// other test uses.
func Name(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DropOnCleanup drops schema with everything in it when the test ends.
// Registered before the stores using the schema are opened, it runs after
// they are closed.
func DropOnCleanup(t testing.TB, dsn, schema string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
}

// Schema returns the test database and a fresh schema named with prefix,
// dropped when the test ends; it skips the test without a database.
func Schema(t testing.TB, prefix string) (dsn, schema string) {
	t.Helper()
	dsn = DSN(t, "PostgreSQL tests skipped")
	schema = Name(prefix)
	DropOnCleanup(t, dsn, schema)
	return dsn, schema
}
