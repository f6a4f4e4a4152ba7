package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/store/storetest"
)

func openSQLite(t *testing.T, path string) *sqlstore.SQLite {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), path)
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

// Reopening runs the migrations again, which must find nothing to do and
// keep the data.
func TestSQLiteReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tn := store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: time.UnixMilli(1_900_000_000_123)}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s := openSQLite(t, path)
		got, err := s.GetTenant(ctx, "contoso")
		if err != nil {
			t.Fatal(err)
		}
		if got != (store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: tn.CreatedAt.UTC()}) {
			t.Fatalf("got %+v", got)
		}
	}
}

// Several processes may start on a fresh file at once (a server and an admin
// command); all of them must end up with the schema.
func TestSQLiteConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	const n = 4
	stores := make([]*sqlstore.SQLite, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlstore.OpenSQLite(t.Context(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
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

// BenchmarkRotateRefreshToken: one durable rotation (synchronous=FULL, WAL).
func BenchmarkSQLiteRotateRefreshToken(b *testing.B) {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchRotate(b, s)
}

// BenchmarkRotateRefreshTokenParallel: concurrent rotations, group-committed.
func BenchmarkSQLiteRotateRefreshTokenParallel(b *testing.B) {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(8)
	storetest.BenchRotateParallel(b, s)
}

// BenchmarkDirectoryVersion: the check the directory cache makes at most
// every 10 ms, on the request that happens to come due, with a request's
// cancellable context.
func BenchmarkSQLiteDirectoryVersion(b *testing.B) {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.DirectoryVersion(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
