package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/tessera-id/tessera/store/sqlstore"
)

func openSQLite(t *testing.T, path string) *sqlstore.SQLite {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	return closed(t, s, err)
}

func TestSQLiteOpenRejectsMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := sqlstore.OpenSQLite(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got nil error", path)
		}
	}
}

// migrateTo brings the database at path to version with the migration files
// on disk, as an older release of the server would have left it.
func migrateTo(t *testing.T, path string, version int64) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("migrations/sqlite"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	current, err := p.GetDBVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if version >= current {
		_, err = p.UpTo(t.Context(), version)
	} else {
		_, err = p.DownTo(t.Context(), version)
	}
	if err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}

// A database created before migration 2 keeps its rows, which read back
// with the zero values of the fields added since.
func TestSQLiteUpgradeFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	migrateTo(t, path, 1)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO tenants VALUES ('t1', 'contoso', 'RS256', 1900000000000)`,
		`INSERT INTO apps VALUES ('t1', 'web', 'Web', 0, '["https://web.example/cb"]', '', 'null', 'null',
			'[]', 'sp-web', 0, 0, 0, 0, 1900000000000, 1900000000000)`,
		`INSERT INTO auth_codes VALUES ('t1', x'01', 'web', 'u1', 'sid', 'https://web.example/cb', '{}', '',
			'', '', NULL, 1900000000000, 1900000300000, 1900000060000, 'fam')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openSQLite(t, path)
	app, err := s.GetApp(ctx, "t1", "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(app.PostLogoutRedirectURIs) != 0 || app.LogoutKeepsRefreshTokens || app.RedirectURIs[0] != "https://web.example/cb" {
		t.Errorf("app after upgrade: %+v", app)
	}
	app.PostLogoutRedirectURIs, app.LogoutKeepsRefreshTokens = []string{"https://web.example/bye"}, true
	if err := s.UpdateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetApp(ctx, "t1", "web"); err != nil || !got.LogoutKeepsRefreshTokens || len(got.PostLogoutRedirectURIs) != 1 {
		t.Errorf("app updated after upgrade: %+v, %v", got, err)
	}
	code, err := s.GetAuthCode(ctx, "t1", []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if code.FamilyID != "fam" || code.UsedAt.IsZero() || code.AccessTokenID != "" || !code.AccessTokenExpiresAt.IsZero() {
		t.Errorf("auth code after upgrade: %+v", code)
	}
}

// The down migrations undo the up ones cleanly, and the schema comes back.
func TestSQLiteMigrateDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	migrateTo(t, path, 0)
	openSQLite(t, path)
}
