// Package mysqltest gives tests a MySQL or MariaDB database of their own.
//
// Tests that need MySQL read the server's URL from TESSERA_TEST_MYSQL, in
// the form `tessera serve --store` takes (mysql://root@127.0.0.1:3306/test),
// and skip with a clear message when it is unset (CI sets it). The user
// must be allowed to create and drop databases: each test gets a new one,
// dropped when it ends.
package mysqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// URL returns the test server's URL, or skips the test without one; why
// names what the skipped test needed it for.
func URL(t testing.TB, why string) string {
	t.Helper()
	u := os.Getenv("TESSERA_TEST_MYSQL")
	if u == "" {
		t.Skipf("TESSERA_TEST_MYSQL is not set; %s (CI sets it, e.g. mysql://root@127.0.0.1:3306/test)", why)
	}
	return u
}

// Name returns prefix followed by random hex digits: a database name no
// other test uses.
func Name(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Database creates a database named with prefix on the server of base (a
// mysql:// URL), drops it with everything in it when the test ends, and
// returns base naming it instead. Call it before opening stores on it, so
// that the drop runs after they are closed.
func Database(t testing.TB, base, prefix string) string {
	t.Helper()
	name := Name(prefix)
	db := Open(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TESSERA_TEST_MYSQL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open connects to the database rawURL names, with the session settings
// the store uses (UTC, ANSI quotes, see sqlstore.MySQLConfig), for a test
// to look at or change what the store wrote. The pool is closed when the
// test ends. It reads only the user, password, host, port and database of
// the URL: this package stays free of the store, for the test harness
// that other modules import.
func Open(t testing.TB, rawURL string) *sql.DB {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "mysql" {
		t.Fatalf("%q is not a mysql:// URL", rawURL)
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(u.Hostname(), port)
	cfg.DBName = u.Path[min(1, len(u.Path)):]
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.Params = map[string]string{"time_zone": "'+00:00'", "sql_mode": "CONCAT(@@sql_mode, ',ANSI_QUOTES')"}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}
