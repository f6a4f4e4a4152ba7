package main

import (
	"strings"
	"testing"
	"time"
)

// On a shared store, with the key in TESSERA_MASTER_KEY, rotate-master
// needs the new key in TESSERA_NEW_MASTER_KEY; it reseals the signing keys
// and replaces the store's master key check, so that the old key is
// refused from then on and the new one opens everything. Run again (an
// interrupted rotation), it finishes rather than fails.
func TestRotateMasterSharedStores(t *testing.T) {
	for _, engine := range []string{"postgres", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			var args []string
			switch engine {
			case "postgres":
				dsn, schema := pgSchema(t)
				args = []string{"--store", dsn, "--pg-schema", schema}
			case "mysql":
				args = []string{"--store", mysqlDatabase(t)}
			}
			unsetEnv(t, "TESSERA_STORE")
			unsetEnv(t, "TESSERA_NEW_MASTER_KEY")
			oldKey, newKey := newMasterKey(), newMasterKey()
			t.Setenv("TESSERA_MASTER_KEY", oldKey)
			dir := t.TempDir()
			cmd := func(extra ...string) (string, error) {
				out, errOut, err := runErr(t, 60*time.Second, dir, append(append([]string{}, args...), extra...)...)
				return out + errOut, err
			}
			for _, name := range []string{"contoso", "fabrikam"} {
				if out, err := cmd("tenant", "create", name); err != nil {
					t.Fatalf("tenant create: %v\n%s", err, out)
				}
			}
			if out, err := cmd("keys", "rotate", "--tenant", "contoso"); err != nil {
				t.Fatalf("keys rotate: %v\n%s", err, out)
			}
			if out, err := cmd("keys", "rotate-master"); err == nil || !strings.Contains(err.Error(), "TESSERA_NEW_MASTER_KEY") {
				t.Fatalf("rotate-master without a new key: %v\n%s", err, out)
			}
			t.Setenv("TESSERA_NEW_MASTER_KEY", newKey)
			out, err := cmd("keys", "rotate-master")
			if err != nil || !strings.Contains(out, "Resealed") {
				t.Fatalf("rotate-master: %v\n%s", err, out)
			}
			if _, err := cmd("tenant", "list"); err == nil || !strings.Contains(err.Error(), "not the one this store was set up with") {
				t.Fatalf("the old key after the rotation: %v", err)
			}
			t.Setenv("TESSERA_MASTER_KEY", newKey)
			if out, err := cmd("tenant", "list"); err != nil || !strings.Contains(out, "fabrikam") {
				t.Fatalf("the new key: %v\n%s", err, out)
			}
			if out, err := cmd("keys", "rotate", "--tenant", "fabrikam"); err != nil {
				t.Fatalf("keys rotate under the new key: %v\n%s", err, out)
			}
			// Interrupted before every instance had the new key: the
			// operator runs it again with the old key still configured.
			t.Setenv("TESSERA_MASTER_KEY", oldKey)
			if out, err := cmd("keys", "rotate-master"); err != nil {
				t.Fatalf("rotate-master run again: %v\n%s", err, out)
			}
		})
	}
}

// backup and restore are SQLite's: for a shared store they refuse before
// connecting, pointing to the database's own tools and the page on them.
func TestBackupRefusesSharedStores(t *testing.T) {
	unsetEnv(t, "TESSERA_STORE")
	for _, store := range []string{"postgres://nobody@127.0.0.1:1/x", "mysql://nobody@127.0.0.1:1/x"} {
		for _, args := range [][]string{{"backup", "--to", "x.db"}, {"restore", "--from", "x.db"}} {
			_, _, err := runErr(t, 10*time.Second, t.TempDir(), append([]string{"--store", store}, args...)...)
			if err == nil || !strings.Contains(err.Error(), "pg_dump") || !strings.Contains(err.Error(), "mariadb-dump") ||
				!strings.Contains(err.Error(), "docs/operations.md") {
				t.Errorf("%s with %s: %v", args[0], store, err)
			}
		}
	}
}
