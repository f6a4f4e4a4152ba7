package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"
)

// freshMySQL creates a database on the TESSERA_TEST_MYSQL server, dropped
// when the test ends, and returns its URL. (mysqltest does the same, but
// imports this package.)
func freshMySQL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TESSERA_TEST_MYSQL")
	if base == "" {
		t.Skip("TESSERA_TEST_MYSQL is not set; MySQL tests skipped (CI sets it)")
	}
	admin, err := OpenMySQL(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "tessera_test_" + hex.EncodeToString(b)
	if _, err := admin.exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.exec(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Error(err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// The count of a hit travels back as LAST_INSERT_ID, which a connection
// also keeps from an AUTO_INCREMENT insert (goose's version table has
// one): a first hit on such a connection must still count 1.
func TestMySQLHitAfterAutoIncrement(t *testing.T) {
	s, err := OpenMySQL(context.Background(), freshMySQL(t), WithPoolSize(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	for _, q := range []string{`CREATE TABLE numbered (id INT AUTO_INCREMENT PRIMARY KEY, v INT)`,
		`INSERT INTO numbered (v) VALUES (1), (2), (3)`} {
		if _, err := s.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.UnixMilli(1_900_000_000_000).UTC()
	for i, want := range []int{1, 2, 3} {
		n, err := s.Hit(ctx, "k", time.Minute, now)
		if err != nil || n != want {
			t.Fatalf("hit %d: %d, %v; want %d", i, n, err, want)
		}
	}
	if _, err := s.exec(ctx, `INSERT INTO numbered (v) VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Hit(ctx, "other", time.Minute, now); err != nil || n != 1 {
		t.Errorf("first hit of another key after an AUTO_INCREMENT insert: %d, %v; want 1", n, err)
	}
}
