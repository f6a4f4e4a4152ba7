package sqlstore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// fillAndCorrupt writes a tenant and enough users to fill a few dozen
// pages into a new database at path, closes it (which checkpoints the WAL
// into the file), and overwrites its last pages with bytes that are no
// b-tree page: the pages that hold the users, written after the schema.
func fillAndCorrupt(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		u := store.User{ID: fmt.Sprintf("u%04d", i), TenantID: "t1", Username: fmt.Sprintf("user%04d", i),
			Email: fmt.Sprintf("user%04d@example.com", i), Name: strings.Repeat("n", 80), PasswordHash: strings.Repeat("h", 97),
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("the WAL still holds %d bytes after close", fi.Size())
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := make([]byte, 100)
	if _, err := f.ReadAt(header, 0); err != nil {
		t.Fatal(err)
	}
	pageSize := int64(binary.BigEndian.Uint16(header[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pages := fi.Size() / pageSize
	if pages < 20 {
		t.Fatalf("only %d pages written", pages)
	}
	garbage := bytes.Repeat([]byte{0xa5}, int(pageSize))
	for p := pages - 8; p < pages; p++ {
		if _, err := f.WriteAt(garbage, p*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Open with the integrity check refuses a file with damaged pages, naming
// it and saying to restore a backup, before the migrations touch it.
func TestSQLiteIntegrityCheckRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	fillAndCorrupt(t, path)
	s, err := sqlstore.OpenSQLite(t.Context(), path, sqlstore.WithIntegrityCheck(5*time.Second, nil))
	if err == nil {
		s.Close()
		t.Fatal("a corrupt database was opened")
	}
	if !errors.Is(err, sqlstore.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "backup") {
		t.Fatalf("error %q: want ErrCorrupt naming %s and a backup", err, path)
	}
	if !strings.Contains(err.Error(), "quick_check") {
		t.Errorf("error %q does not say what found the damage", err)
	}
}

// A sound file passes the check; a check that cannot finish in time is
// logged and the database opened anyway, so a huge file does not stop a
// start.
func TestSQLiteIntegrityCheckBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.OpenSQLite(t.Context(), path, sqlstore.WithIntegrityCheck(5*time.Second, nil))
	if err != nil {
		t.Fatalf("a sound database: %v", err)
	}
	s.Close()

	var logs bytes.Buffer
	s, err = sqlstore.OpenSQLite(t.Context(), path, sqlstore.WithIntegrityCheck(time.Nanosecond, slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("a check out of time refused the database: %v", err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "did not finish") || !strings.Contains(logs.String(), path) {
		t.Errorf("log of a check out of time:\n%s", logs.String())
	}
}

// A file that is not a database at all is refused as corrupt too, with or
// without the check.
func TestSQLiteOpenRefusesNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]sqlstore.Option{nil, {sqlstore.WithIntegrityCheck(5*time.Second, nil)}} {
		s, err := sqlstore.OpenSQLite(t.Context(), path, opts...)
		if err == nil {
			s.Close()
			t.Fatal("a file that is not a database was opened")
		}
		if !errors.Is(err, sqlstore.ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %q: want ErrCorrupt naming the file", err)
		}
	}
}
