package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/mysqltest"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// mysqlURL returns the MySQL test server, or skips the test without one.
func mysqlURL(t testing.TB) string {
	t.Helper()
	return mysqltest.URL(t, "MySQL tests skipped")
}

// freshDatabase names a database no other test uses, dropped with
// everything in it when the test ends, after the stores are closed.
func freshDatabase(t testing.TB) string {
	t.Helper()
	return mysqltest.Database(t, mysqlURL(t), "tessera_test_")
}

// openMySQL opens a store on the database of url, closed when the test
// ends.
func openMySQL(t testing.TB, url string, opts ...sqlstore.Option) *sqlstore.MySQL {
	t.Helper()
	s, err := sqlstore.OpenMySQL(context.Background(), url, opts...)
	return closed(t, s, err)
}

// The URL form `--store mysql://…` takes, and the settings the store
// imposes whatever it says.
func TestMySQLConfig(t *testing.T) {
	cfg, err := sqlstore.MySQLConfig("mysql://tessera:p%40ss:w@db.example:3307/idp?tls=skip-verify&timeout=5s&parseTime=false&interpolateParams=false")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "tessera" || cfg.Passwd != "p@ss:w" || cfg.Net != "tcp" || cfg.Addr != "db.example:3307" || cfg.DBName != "idp" {
		t.Errorf("parsed %+v", cfg)
	}
	if cfg.TLSConfig != "skip-verify" || cfg.Timeout != 5*time.Second {
		t.Errorf("driver parameters lost: tls %q, timeout %v", cfg.TLSConfig, cfg.Timeout)
	}
	if !cfg.ParseTime || cfg.Loc != time.UTC || !cfg.InterpolateParams || !cfg.ClientFoundRows || cfg.MultiStatements ||
		cfg.Params["time_zone"] != "'+00:00'" || !strings.Contains(cfg.Params["sql_mode"], "ANSI_QUOTES") {
		t.Errorf("the store's settings are not imposed: %+v", cfg)
	}
	cfg, err = sqlstore.MySQLConfig("mysql://root@localhost/test")
	if err != nil || cfg.Addr != "localhost:3306" || cfg.Passwd != "" {
		t.Errorf("default port: %+v, %v", cfg, err)
	}
	cfg, err = sqlstore.MySQLConfig("mysql://root@/test?socket=/run/mysqld/mysqld.sock")
	if err != nil || cfg.Net != "unix" || cfg.Addr != "/run/mysqld/mysqld.sock" {
		t.Errorf("socket: %+v, %v", cfg, err)
	}
	cfg, err = sqlstore.MySQLConfig("mysql://root@localhost/test?pool_max_conns=20&tls=true")
	if err != nil || cfg.Params["pool_max_conns"] != "" || cfg.TLSConfig != "true" {
		t.Errorf("pool_max_conns reached the driver: %+v, %v", cfg, err)
	}
	for _, bad := range []string{"postgres://root@localhost/test", "mysql://root@localhost", "mysql://root@localhost/",
		"mysql://root@localhost/test?pool_max_conns=0", "mysql://root@localhost/test?pool_max_conns=many",
		"mysql://root@localhost/a/b", "mysql://root:secret@localhost:x/test", "mysql://root@localhost/test?timeout=never"} {
		if _, err := sqlstore.MySQLConfig(bad); err == nil {
			t.Errorf("MySQLConfig(%q): got nil error", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("MySQLConfig(%q): the error shows the password: %v", bad, err)
		}
	}
	if _, err := sqlstore.OpenMySQL(t.Context(), "mysql://root@127.0.0.1:1/none", sqlstore.WithSchema("x")); err == nil ||
		!strings.Contains(err.Error(), "WithSchema") {
		t.Errorf("a PostgreSQL option on MySQL: %v", err)
	}
}

// A database that does not exist is an error at open, not a store that
// fails later.
func TestMySQLMissingDatabase(t *testing.T) {
	url := strings.Replace(mysqlURL(t), "/test", "/"+mysqltest.Name("tessera_none_"), 1)
	if s, err := sqlstore.OpenMySQL(t.Context(), url); err == nil {
		s.Close()
		t.Fatal("opened a database that does not exist")
	} else if !strings.Contains(err.Error(), "Unknown database") {
		t.Fatalf("opening a database that does not exist: %v, want MySQL's unknown database", err)
	}
}
