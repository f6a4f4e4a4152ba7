package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/store/sqlstore"
)

// A SQLite store is ready while open and migrated, and not once closed;
// Backup writes a checked copy and never overwrites a file; a file that
// is not a Tessera database fails CheckSQLiteFile.
func TestSQLiteReadyAndBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	copyPath := filepath.Join(dir, "b.db")
	if err := s.Backup(ctx, copyPath); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.CheckSQLiteFile(ctx, copyPath); err != nil {
		t.Fatalf("the backup: %v", err)
	}
	if fi, err := os.Stat(copyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the backup's mode: %v %v", fi.Mode(), err)
	}
	if err := s.Backup(ctx, copyPath); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a backup over an existing file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err == nil {
		t.Error("a closed store is ready")
	}

	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.CheckSQLiteFile(ctx, junk); !errors.Is(err, sqlstore.ErrCorrupt) {
		t.Errorf("a file that is not a database: %v", err)
	}
	// Another SQLite database is whole but no Tessera store.
	db, err := sql.Open("sqlite", filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := sqlstore.CheckSQLiteFile(ctx, filepath.Join(dir, "c.db")); err == nil {
		t.Error("a database without migrations passed")
	}
}
