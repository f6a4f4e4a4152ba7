package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/mysqltest"
)

// mysqlDatabase is a fresh database on the TESSERA_TEST_MYSQL server,
// dropped when the test ends; the test skips without a server.
func mysqlDatabase(t *testing.T) string {
	t.Helper()
	return mysqltest.Database(t, mysqltest.URL(t, "MySQL tests skipped"), "tessera_cmd_")
}

// `tessera migrate --store mysql://…` applies every migration once to the
// named database; running it again applies nothing.
func TestMigrateMySQL(t *testing.T) {
	u := mysqlDatabase(t)
	unsetEnv(t, "TESSERA_STORE")
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dir := t.TempDir()
	if out, err := run(t, dir, "", "migrate", "--store", u); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "store", "sqlstore", "migrations", "mysql", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	db := mysqltest.Open(t, u)
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	applied := count(`SELECT count(*) FROM goose_db_version WHERE is_applied`)
	if applied != len(files)+1 {
		t.Fatalf("%d goose versions applied, want %d", applied, len(files)+1)
	}
	if _, err := run(t, dir, "", "migrate", "--store", u); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if again := count(`SELECT count(*) FROM goose_db_version`); again != applied {
		t.Errorf("migrating again changed goose_db_version from %d to %d rows", applied, again)
	}
	if _, err := os.Stat(filepath.Join(dir, databaseFile)); err == nil {
		t.Error("migrate with a mysql store created a SQLite database")
	}
}

// `tessera serve --store mysql://…` serves tokens from the store, and the
// admin CLI works on the same database; a password in the URL is never
// shown in an error.
func TestServeMySQL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server against MySQL")
	}
	u := mysqlDatabase(t)
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := serveInProcess(t, dataDir, nil, "--store", u)
	out := srv.stdout.String()
	ids, secrets := banner(out, "Application (client) ID"), banner(out, "Client secret")
	if len(ids) != 2 || len(secrets) != 1 {
		t.Fatalf("banner lacks the demo credentials:\n%s", out)
	}
	status, tokens := postForm(t, trustingClient(t, dataDir), srv.base+"/demo/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {ids[0]}, "client_secret": {secrets[0]}, "scope": {ids[0] + "/.default"}}.Encode())
	if status != 200 || tokens["access_token"] == nil {
		t.Fatalf("client credentials: %d %v", status, tokens)
	}
	if out, err := run(t, t.TempDir(), "", "--store", u, "tenant", "list"); err != nil || !strings.Contains(out, "demo") {
		t.Errorf("tenant list on the served store: %v\n%s", err, out)
	}
	bad := strings.Replace(u, "mysql://root@", "mysql://root:hunter2@", 1) + "?timeout=never"
	if out, err := run(t, t.TempDir(), "", "--store", bad, "tenant", "list"); err == nil || strings.Contains(out+err.Error(), "hunter2") {
		t.Errorf("a bad store URL: %v, output %q", err, out)
	}
}
