//go:build unix

package sqlstore_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tessera-id/tessera/store/sqlstore"
)

// The database and its WAL and shared-memory files are 0600 whatever the
// umask, and a wider file left by an older release is narrowed on open.
// Not parallel: the umask is the process's.
func TestSQLiteFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), "tessera.db")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s: %s has mode %04o, want 0600", when, filepath.Base(p), mode)
			}
		}
	}
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	check("new database")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// As an older release left them: readable by everyone.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openSQLite(t, path)
	check("reopened after the files were made 0644")
}
