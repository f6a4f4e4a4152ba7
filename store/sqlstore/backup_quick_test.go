package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tessera-id/tessera/store/sqlstore"
)

func TestBackupQuick(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.CheckSQLiteFile(ctx, filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, filepath.Join(dir, "b.db")); err == nil {
		t.Fatal("overwrote")
	}
}
