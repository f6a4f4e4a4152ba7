package sqlstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/store/storetest"
)

// The conformance suite, once per engine: a fresh database per test, and
// handles that are separate pools on it, as other processes or instances
// would have.

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "tessera.db")
		return openSQLite(t, path), func() store.Store { return openSQLite(t, path) }
	})
}

func TestConformancePostgres(t *testing.T) {
	pgDSN(t)
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		schema := freshSchema(t)
		// Small pools, so that the races queue on the pools and hold
		// several connections' worth of contention on one row.
		return openPostgres(t, schema, sqlstore.WithPoolSize(8)), func() store.Store {
			return openPostgres(t, schema, sqlstore.WithPoolSize(8))
		}
	})
}

// released are the migrations of released versions, by their SHA-256: the
// databases they made exist, so a released migration is never edited (a
// change is a new migration), or the databases and this code would
// disagree on the schema. The sign-in throttle migrations (SQLite 00005,
// PostgreSQL 00006) are not released yet, and may still change.
var released = map[string]string{
	"postgres/00001_init.sql":                   "2a10550167f0a74a3c4c39a5197fe58018a51e139870ef6a025f8c0fa8ccf1bb",
	"postgres/00002_directory_notify.sql":       "e91cab1d7d70b84abf037bc01d5c90e3cf80ff10aa2450c758071092d9c21719",
	"postgres/00003_directory_channel.sql":      "716a35be1e569768a5a2ba8d50b5b9a8746450822ec372bda009e2a3378cd069",
	"postgres/00004_master_key_check.sql":       "7873b7a353d7d8c441ab44882a43265187a346582b8751e076d14cd50515801a",
	"postgres/00005_session_id.sql":             "cf0dc59db72b532d74bbfaae54b8980e9439d6e6bca3a766d4b2312968031e63",
	"sqlite/00001_init.sql":                     "7ebf4ef382a7bb7f7b6cc74611ed2883e7c2b67daba374710763bf59d2c26d12",
	"sqlite/00002_logout_device_assertions.sql": "d541ac69547792a09272cd65ab77fc2f5d3f4be87305536e2952449e83121a41",
	"sqlite/00003_directory_version.sql":        "e12968e371686523f0170478e673eb829fc71aeee4f2d7a96e31d8b33820ff4b",
	"sqlite/00004_session_id.sql":               "cf0dc59db72b532d74bbfaae54b8980e9439d6e6bca3a766d4b2312968031e63",
}

func TestReleasedMigrationsUnchanged(t *testing.T) {
	seen := map[string]bool{}
	err := fs.WalkDir(os.DirFS("migrations"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("migrations", path))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if want, ok := released[path]; ok && hex.EncodeToString(sum[:]) != want {
			t.Errorf("released migration %s was edited; add a new migration instead", path)
		}
		seen[path] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path := range released {
		if !seen[path] {
			t.Errorf("released migration %s is gone", path)
		}
	}
}

// pgDSN returns the PostgreSQL test database, or skips the test without one.
func pgDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t, "PostgreSQL tests skipped")
}
