package main

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// seed fills a SQLite data directory: every tenant has a working signing
// key under the directory's master key, users sign in with the given
// password, live families are live and the expired ones are what the
// collector removes. Users and families span several chunks.
func TestSeed(t *testing.T) {
	dir := t.TempDir()
	mk, _, err := token.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TESSERA_MASTER_KEY", "")
	t.Setenv("TESSERA_BENCH_PASSWORD", "seeded users' passphrase")
	out, err := execute(t, "seed", "--data-dir", dir, "--tenants", "3", "--apps", "7", "--users", "201", "--families", "150", "--expired", "9", "--chunk", "100")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "seeded 3 tenants, 7 apps, 201 users, 150 live and 9 expired refresh families") {
		t.Errorf("seed said %q", out)
	}

	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenants, err := st.ListTenants(ctx)
	if err != nil || len(tenants) != 3 {
		t.Fatalf("%d tenants (%v)", len(tenants), err)
	}
	keys := token.NewKeyring(st, mk, nil)
	users := 0
	for _, ten := range tenants {
		if _, err := keys.Signer(ctx, ten.ID); err != nil {
			t.Errorf("tenant %s signs with no key: %v", ten.Name, err)
		}
		us, err := st.ListUsers(ctx, ten.ID)
		if err != nil {
			t.Fatal(err)
		}
		users += len(us)
	}
	if users != 201 {
		t.Errorf("%d users, want 201", users)
	}
	u, err := st.GetUserByUsername(ctx, tenants[0].ID, "user-0000000@seed.test")
	if err != nil {
		u, err = st.GetUserByUsername(ctx, tenants[1].ID, "user-0000000@seed.test")
	}
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify("seeded users' passphrase", u.PasswordHash); !ok || err != nil {
		t.Errorf("a seeded user's password does not verify: %v", err)
	}
	// Only the expired families (and their tokens) are collected.
	n, err := st.DeleteExpired(ctx, time.Now(), 1000)
	if err != nil || n != 2*9 {
		t.Errorf("collected %d rows (%v), want the 9 expired families and their 9 tokens", n, err)
	}
}

// seed writes into the schema --pg-schema names, as tessera serve reads
// it, and refuses a master key other than the one the store's servers
// use: the signing keys it sealed would open on none of them.
func TestSeedPostgresSchemaAndMasterKey(t *testing.T) {
	dsn, schema := pgtest.Schema(t, "seed")
	ctx := context.Background()
	serverKey, otherKey := token.NewMasterKey(), token.NewMasterKey()
	// What a server's first start leaves: the schema, migrated, and its
	// key's check recorded.
	st, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.RecordMasterKeyCheck(ctx, serverKey.StoreCheck()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TESSERA_BENCH_PASSWORD", "seeded users' passphrase")
	args := []string{"seed", "--store", dsn, "--pg-schema", schema, "--tenants", "2", "--apps", "3", "--users", "5", "--families", "5"}

	t.Setenv("TESSERA_MASTER_KEY", base64.StdEncoding.EncodeToString(otherKey[:]))
	if _, err := execute(t, args...); err == nil || !strings.Contains(err.Error(), "not the key this store's servers use") {
		t.Fatalf("seeding under another master key: %v, want a refusal", err)
	}
	if tenants, err := st.ListTenants(ctx); err != nil || len(tenants) != 0 {
		t.Fatalf("the refused seed left %d tenants (%v)", len(tenants), err)
	}

	t.Setenv("TESSERA_MASTER_KEY", base64.StdEncoding.EncodeToString(serverKey[:]))
	if _, err := execute(t, args...); err != nil {
		t.Fatal(err)
	}
	tenants, err := st.ListTenants(ctx)
	if err != nil || len(tenants) != 2 {
		t.Fatalf("%d tenants in schema %s (%v), want 2", len(tenants), schema, err)
	}
	keys := token.NewKeyring(st, serverKey, nil)
	for _, ten := range tenants {
		if _, err := keys.Signer(ctx, ten.ID); err != nil {
			t.Errorf("tenant %s: the server's key opens no signing key: %v", ten.Name, err)
		}
	}
}
