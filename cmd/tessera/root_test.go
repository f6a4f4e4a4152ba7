package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// pgSchema returns the test database and a schema no other test uses,
// dropped when the test ends; it skips the test without a database.
func pgSchema(t *testing.T) (dsn, schema string) {
	t.Helper()
	return pgtest.Schema(t, "tessera_cmd_")
}

// pgQuery runs one query in schema on a connection of its own.
func pgQuery[T any](t *testing.T, dsn, schema, q string, args ...any) T {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	var v T
	if err := conn.QueryRow(ctx, q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func newMasterKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// unsetEnv removes name from the environment for the rest of the test and
// restores it afterwards (t.Setenv registers the restore).
func unsetEnv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

// The first process to open a PostgreSQL store records its master key's
// check value; a process with another key, from TESSERA_MASTER_KEY or a
// key file of its own data directory, is then refused with a message that
// says what to do, for admin commands and serve alike.
func TestMasterKeyCheckPostgres(t *testing.T) {
	dsn, schema := pgSchema(t)
	t.Setenv("TESSERA_STORE", dsn)
	t.Setenv("TESSERA_PG_SCHEMA", schema)
	key := newMasterKey()
	t.Setenv("TESSERA_MASTER_KEY", key)
	dirA := t.TempDir()
	runJSON(t, dirA, "", "tenant", "create", "contoso")
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM master_key_check`); n != 1 {
		t.Fatalf("%d master key checks recorded, want 1", n)
	}
	recorded := pgQuery[[]byte](t, dsn, schema, `SELECT value FROM master_key_check`)
	mk, err := token.ParseMasterKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if want := mk.StoreCheck(); string(recorded) != string(want) {
		t.Fatal("the recorded check value is not the master key's")
	}
	if strings.Contains(string(recorded), key) {
		t.Fatal("the recorded check value contains the key")
	}

	// Another key in the environment.
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	_, err = run(t, t.TempDir(), "", "tenant", "list")
	if err == nil || !strings.Contains(err.Error(), "not the one this store was set up with") || !strings.Contains(err.Error(), "TESSERA_MASTER_KEY") {
		t.Fatalf("admin command with another key: %v", err)
	}
	_, err = run(t, t.TempDir(), "", "serve", "--http", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "not the one this store was set up with") {
		t.Fatalf("serve with another key: %v", err)
	}

	// No key in the environment: a key file is created in the data
	// directory, and the message says so.
	unsetEnv(t, "TESSERA_MASTER_KEY")
	dirB := t.TempDir()
	_, err = run(t, dirB, "", "serve", "--http", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dirB, masterKeyFile)) || !strings.Contains(err.Error(), "created just now") {
		t.Fatalf("serve with a new key file: %v", err)
	}

	// The right key still works, and nothing of the refused attempts was
	// written: still one tenant, one check.
	t.Setenv("TESSERA_MASTER_KEY", key)
	out, err := run(t, t.TempDir(), "", "tenant", "list")
	if err != nil || !strings.Contains(out, "contoso") {
		t.Fatalf("tenant list with the store's key: %v\n%s", err, out)
	}
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM master_key_check`); n != 1 {
		t.Errorf("%d master key checks recorded, want 1", n)
	}
}

// A store that has signing keys but no check value (set up before the
// check existed) records the check only for the key that opens those
// signing keys.
func TestMasterKeyCheckExistingStore(t *testing.T) {
	dsn, schema := pgSchema(t)
	t.Setenv("TESSERA_STORE", dsn)
	t.Setenv("TESSERA_PG_SCHEMA", schema)
	key := newMasterKey()
	t.Setenv("TESSERA_MASTER_KEY", key)
	runJSON(t, t.TempDir(), "", "tenant", "create", "contoso")
	// As before the check: no value recorded.
	if n := pgQuery[int](t, dsn, schema, `WITH d AS (DELETE FROM master_key_check RETURNING 1) SELECT count(*) FROM d`); n != 1 {
		t.Fatalf("deleted %d checks, want 1", n)
	}

	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	_, err := run(t, t.TempDir(), "", "tenant", "list")
	if err == nil || !strings.Contains(err.Error(), "does not open the signing keys") {
		t.Fatalf("another key on a store without a check: %v", err)
	}
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM master_key_check`); n != 0 {
		t.Fatalf("the refused key was recorded (%d checks)", n)
	}
	t.Setenv("TESSERA_MASTER_KEY", key)
	if _, err := run(t, t.TempDir(), "", "tenant", "list"); err != nil {
		t.Fatalf("the store's key: %v", err)
	}
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM master_key_check`); n != 1 {
		t.Errorf("%d checks after a start with the right key, want 1", n)
	}
}

// `tessera migrate` on SQLite creates the database in the data directory
// and can run again; the store it leaves is usable and up to date.
func TestMigrateSQLite(t *testing.T) {
	unsetEnv(t, "TESSERA_STORE")
	dir := filepath.Join(t.TempDir(), "data")
	for i := 0; i < 2; i++ {
		out, err := run(t, dir, "", "migrate")
		if err != nil || !strings.Contains(out, "up to date") {
			t.Fatalf("migrate run %d: %v\n%s", i+1, err, out)
		}
	}
	if m := runJSON(t, dir, "", "migrate"); m["status"] != "ok" {
		t.Errorf("migrate --output json: %v", m)
	}
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatalf("the migrated database does not open: %v", err)
	}
	defer st.Close()
	ts, err := st.ListTenants(t.Context())
	if err != nil || len(ts) != 0 {
		t.Errorf("tenants of a migrated, empty store: %v, %v", ts, err)
	}
}

// `tessera migrate --store postgres://…` applies every migration once to
// the named schema; running it again applies nothing.
func TestMigratePostgres(t *testing.T) {
	dsn, schema := pgSchema(t)
	unsetEnv(t, "TESSERA_STORE")
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dir := t.TempDir()
	out, err := run(t, dir, "", "migrate", "--store", dsn, "--pg-schema", schema)
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "store", "sqlstore", "migrations", "postgres", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	// goose records version 0 when it creates its table, then one row per
	// migration.
	applied := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM goose_db_version WHERE is_applied`)
	if applied != len(files)+1 {
		t.Fatalf("%d goose versions applied, want %d", applied, len(files)+1)
	}
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM tenants`); n != 0 {
		t.Errorf("%d tenants in a freshly migrated schema", n)
	}
	if _, err := run(t, dir, "", "migrate", "--store", dsn, "--pg-schema", schema); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if again := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM goose_db_version`); again != applied {
		t.Errorf("migrating again changed goose_db_version from %d to %d rows", applied, again)
	}
	if _, err := os.Stat(filepath.Join(dir, databaseFile)); err == nil {
		t.Error("migrate with a postgres store created a SQLite database")
	}
}

// TESSERA_STORE, TESSERA_PG_SCHEMA and TESSERA_MASTER_KEY given in the
// --config file reach migrate, admin commands and serve; the environment
// overrides the file.
func TestConfigFileStore(t *testing.T) {
	dsn, schema := pgSchema(t)
	unsetEnv(t, "TESSERA_STORE")
	unsetEnv(t, "TESSERA_PG_SCHEMA")
	unsetEnv(t, "TESSERA_MASTER_KEY")
	dir := t.TempDir()
	key := newMasterKey()
	conf := filepath.Join(dir, "tessera.conf")
	body := "# a node's settings\nTESSERA_STORE=" + dsn + "\nTESSERA_PG_SCHEMA=" + schema + "\nTESSERA_MASTER_KEY=" + key + "\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := run(t, data, "", "--config", conf, "migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate from the settings file: %v\n%s", err, out)
	}
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM goose_db_version WHERE is_applied`); n < 2 {
		t.Fatalf("migrate did not use the settings file's store: %d versions in %s", n, schema)
	}
	runJSON(t, data, "", "--config", conf, "tenant", "create", "fabrikam")
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM tenants WHERE name = 'fabrikam'`); n != 1 {
		t.Fatalf("the tenant is not in the settings file's store (%d rows)", n)
	}
	for _, f := range []string{databaseFile, masterKeyFile} {
		if _, err := os.Stat(filepath.Join(data, f)); err == nil {
			t.Errorf("the data directory got %s although the settings file names a store and a key", f)
		}
	}
	// The environment overrides the file: another schema.
	_, other := pgSchema(t)
	t.Setenv("TESSERA_PG_SCHEMA", other)
	runJSON(t, data, "", "--config", conf, "tenant", "create", "northwind")
	if n := pgQuery[int](t, dsn, other, `SELECT count(*) FROM tenants WHERE name = 'northwind'`); n != 1 {
		t.Fatalf("TESSERA_PG_SCHEMA did not override the settings file (%d rows)", n)
	}
	if n := pgQuery[int](t, dsn, schema, `SELECT count(*) FROM tenants`); n != 1 {
		t.Errorf("%d tenants in the settings file's schema, want 1", n)
	}
}

// --trusted-proxies is read from the flag, TESSERA_TRUSTED_PROXIES and the
// settings file, and a list that does not parse stops serve before it
// opens anything.
func TestTrustedProxiesSetting(t *testing.T) {
	unsetEnv(t, "TESSERA_TRUSTED_PROXIES")
	dir := t.TempDir()
	_, err := run(t, dir, "", "serve", "--http", "--addr", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/8,lb.internal")
	if err == nil || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), "lb.internal") {
		t.Fatalf("flag: %v", err)
	}
	conf := filepath.Join(dir, "tessera.conf")
	if err := os.WriteFile(conf, []byte("TESSERA_TRUSTED_PROXIES=10.0.0.0/33\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, dir, "", "--config", conf, "serve", "--http", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "10.0.0.0/33") {
		t.Fatalf("settings file: %v", err)
	}
	t.Setenv("TESSERA_TRUSTED_PROXIES", "192.0.2.300")
	_, err = run(t, dir, "", "--config", conf, "serve", "--http", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "192.0.2.300") {
		t.Fatalf("the environment did not override the settings file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, databaseFile)); err == nil {
		t.Error("serve opened the store before checking --trusted-proxies")
	}
}
