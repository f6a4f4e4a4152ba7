package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/postgres"
	"github.com/tessera-id/tessera/store/storetest"
)

// dsn returns the test database, or skips the test without one.
func dsn(t *testing.T) string {
	t.Helper()
	return pgtest.DSN(t, "PostgreSQL tests skipped")
}

// freshName returns a schema name no other test uses.
func freshName() string { return pgtest.Name("tessera_test_") }

// freshSchema names a schema no other test uses, and drops it with
// everything in it when the test ends, after the stores are closed (the
// cleanup is registered first, so it runs last).
func freshSchema(t *testing.T) string {
	t.Helper()
	schema := freshName()
	pgtest.DropOnCleanup(t, dsn(t), schema)
	return schema
}

// open opens a store on schema, closed when the test ends.
func open(t *testing.T, schema string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn(t), append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// query runs a query outside the store, on a connection of its own.
func query[T any](t *testing.T, schema, q string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `SET search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	var v T
	if err := conn.QueryRow(t.Context(), q, args...).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		schema := freshSchema(t)
		// Small pools, so that the races queue on the pools and hold
		// several connections' worth of contention on one row.
		return open(t, schema, postgres.WithPoolSize(8)), func() store.Store {
			return open(t, schema, postgres.WithPoolSize(8))
		}
	})
}

// Instances starting at once on a fresh schema all succeed, and the
// migrations ran once: the advisory lock made the others wait, then find
// nothing to do. Without the lock, the losers would fail on tables that
// already exist.
func TestConcurrentOpen(t *testing.T) {
	schema := freshSchema(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(t.Context(), dsn(t), postgres.WithSchema(schema))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
	}

	migrations, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	// goose records version 0 when it creates its table, then one row per
	// migration applied.
	applied := query[int](t, schema, `SELECT count(*) FROM goose_db_version WHERE is_applied`)
	if want := len(migrations) + 1; applied != want {
		t.Errorf("goose_db_version has %d rows, want %d: migrations ran more than once", applied, want)
	}

	for i, s := range stores {
		tn := store.Tenant{ID: string(rune('a' + i)), Name: string(rune('a' + i)), SigningAlg: "RS256"}
		if err := s.CreateTenant(t.Context(), tn); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := stores[0].ListTenants(t.Context())
	if err != nil || len(ts) != n {
		t.Fatalf("ListTenants: %d tenants, %v; want %d", len(ts), err, n)
	}
}

// Migrate creates the schema, and running it again, or opening afterwards,
// changes nothing and keeps the data.
func TestMigrateIdempotent(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	for range 2 {
		if err := postgres.Migrate(ctx, dsn(t), postgres.WithSchema(schema)); err != nil {
			t.Fatal(err)
		}
	}
	versions := func() int { return query[int](t, schema, `SELECT count(*) FROM goose_db_version`) }
	before := versions()

	s := open(t, schema)
	tn := store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: time.UnixMilli(1_900_000_000_123).UTC()}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, dsn(t), postgres.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	if after := versions(); after != before {
		t.Errorf("goose_db_version went from %d to %d rows", before, after)
	}
	got, err := open(t, schema).GetTenant(ctx, "contoso")
	if err != nil || got != tn {
		t.Errorf("tenant after migrating again: %+v, %v", got, err)
	}
}

// Two schemas of one database are two stores that share nothing, which is
// what lets the conformance tests run side by side.
func TestSchemaIsolation(t *testing.T) {
	ctx := t.Context()
	a, b := open(t, freshSchema(t)), open(t, freshSchema(t))
	tn := store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256"}
	if err := a.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetTenant(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant of schema a seen in schema b: %v", err)
	}
	if err := b.CreateTenant(ctx, tn); err != nil {
		t.Errorf("same tenant in schema b: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for _, name := range []string{"", "Tessera", "1tessera", "tes-sera", "tessera;drop", `te"ssera`,
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"} {
		if err := postgres.Migrate(t.Context(), "postgres://127.0.0.1:1/none", postgres.WithSchema(name)); err == nil {
			t.Errorf("WithSchema(%q): got nil error", name)
		}
	}
	for _, n := range []int{0, -1} {
		if _, err := postgres.Open(t.Context(), "postgres://127.0.0.1:1/none", postgres.WithPoolSize(n)); err == nil {
			t.Errorf("WithPoolSize(%d): got nil error", n)
		}
	}
	if _, err := postgres.Open(t.Context(), "not a dsn ::"); err == nil {
		t.Error("Open with a malformed DSN: got nil error")
	}
}

// A reserved word is a valid schema name: it is quoted everywhere.
func TestReservedSchemaName(t *testing.T) {
	dsn(t)
	// The drop is registered for the same name, so that a failed run
	// leaves nothing behind either.
	schema := "select"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn(t))
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS "select" CASCADE`); err != nil {
			t.Error(err)
		}
	})
	s := open(t, schema)
	id := strings.TrimPrefix(freshName(), "tessera_test_")
	if err := s.CreateTenant(t.Context(), store.Tenant{ID: id, Name: id, SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	if n := query[int](t, schema, `SELECT count(*) FROM tenants WHERE id = $1`, id); n != 1 {
		t.Errorf("%d tenants %s in schema %q, want 1", n, id, schema)
	}
}

// Times come back in UTC whatever zone they went in with, at millisecond
// precision; the zero time stays zero, as NULL.
func TestTimesUTC(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := open(t, schema)
	zone := time.FixedZone("UTC+5", 5*3600)
	in := time.Date(2031, 1, 2, 3, 4, 5, 6_789_000, zone)
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256", CreatedAt: in}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t2", Name: "t2", SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if want := in.Truncate(time.Millisecond).UTC(); got.CreatedAt != want {
		t.Errorf("got %v, want %v", got.CreatedAt, want)
	}
	got, err = s.GetTenant(ctx, "t2")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.IsZero() {
		t.Errorf("zero time came back as %v", got.CreatedAt)
	}
	if null := query[bool](t, schema, `SELECT created_at IS NULL FROM tenants WHERE id = 't2'`); !null {
		t.Error("zero time not stored as NULL")
	}
}

// Usernames are folded in Go, beyond ASCII, as the SQLite backend does.
func TestUsernameUnicodeCase(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u1", TenantID: "t1", Username: "Ölaf"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUserByUsername(ctx, "t1", "ölaf"); err != nil {
		t.Errorf("lookup with other case: %v", err)
	}
	err := s.CreateUser(ctx, store.User{ID: "u2", TenantID: "t1", Username: "ÖLAF"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second Ölaf: got %v, want ErrConflict", err)
	}
}

// A tenant has one active and one next key; a second is refused rather
// than left for the signer to choose between.
func TestOneActiveKey(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	key := func(id string, status store.KeyStatus) store.SigningKey {
		return store.SigningKey{TenantID: "t1", ID: id, Alg: "RS256", Status: status, PrivateKey: []byte("x"), PublicJWK: []byte("{}")}
	}
	for _, k := range []store.SigningKey{key("a", store.KeyActive), key("n", store.KeyNext)} {
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []store.SigningKey{key("a2", store.KeyActive), key("n2", store.KeyNext)} {
		if err := s.AddSigningKey(ctx, k); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second %s key: got %v, want ErrConflict", k.Status, err)
		}
	}
}

// Instances rotating a tenant's keys at once: each rotation either goes
// through or, having waited for another, finds the next key it wanted to
// activate already active and fails; the tenant ends with one active and
// one next key, never two of either, and one retired key per success.
func TestConcurrentKeyRotation(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	handles := []store.Store{open(t, schema), open(t, schema)}
	if err := handles[0].CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	key := func(id string, status store.KeyStatus) store.SigningKey {
		return store.SigningKey{TenantID: "t1", ID: id, Alg: "RS256", Status: status, PrivateKey: []byte("x"), PublicJWK: []byte("{}")}
	}
	for _, k := range []store.SigningKey{key("k-active", store.KeyActive), key("k-next", store.KeyNext)} {
		if err := handles[0].AddSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	now := time.UnixMilli(1_900_000_000_000).UTC()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			next := key(fmt.Sprintf("k-%d", i), store.KeyNext)
			errs[i] = handles[i%2].RotateSigningKeys(ctx, "t1", next, now.Add(time.Hour))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	if wins == 0 {
		t.Fatal("no rotation went through")
	}
	ks, err := handles[1].ListSigningKeys(ctx, "t1", now)
	if err != nil {
		t.Fatal(err)
	}
	count := map[store.KeyStatus]int{}
	for _, k := range ks {
		count[k.Status]++
	}
	if count[store.KeyActive] != 1 || count[store.KeyNext] != 1 || count[store.KeyRetired] != wins {
		t.Fatalf("after %d rotations: keys %v", wins, count)
	}
}

// Rows that belong to a missing tenant or app are refused as ErrNotFound.
func TestMissingParent(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	err := s.CreateApp(ctx, store.App{TenantID: "nope", ClientID: "web"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app in a missing tenant: got %v, want ErrNotFound", err)
	}
	err = s.AddClientSecret(ctx, store.ClientSecret{ID: "s", TenantID: "nope", ClientID: "web", Hash: []byte{1}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("secret of a missing app: got %v, want ErrNotFound", err)
	}
	err = s.AddAppCredential(ctx, store.AppCredential{ID: "c", TenantID: "nope", ClientID: "web",
		Kind: store.CredentialJWK, PublicKey: []byte("{}")})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credential of a missing app: got %v, want ErrNotFound", err)
	}
}

// CreateDeviceCode stores the code pending whatever its Status says, so
// that only DecideDeviceCode can approve one.
func TestDeviceCodeCreatedPending(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	now := time.UnixMilli(1_900_000_000_000).UTC()
	d := store.DeviceCode{Hash: []byte{1}, TenantID: "t1", ClientID: "tv", UserCode: "ABCDEFGH",
		Status: store.DeviceApproved, UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := s.CreateDeviceCode(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeviceCode(ctx, "t1", d.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.DevicePending {
		t.Errorf("status %q, want pending", got.Status)
	}
	if err := s.RedeemDeviceCode(ctx, "t1", d.Hash, now, store.Redemption{}); !errors.Is(err, store.ErrNotLive) {
		t.Errorf("redeem: got %v, want ErrNotLive", err)
	}
}

// Concurrent polls of one device code through two instances each see a
// different previous poll: none can pass the slow_down check on a poll
// another one is recording at the same time.
func TestPollRace(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	handles := []store.Store{open(t, schema), open(t, schema)}
	now := time.UnixMilli(1_900_000_000_000).UTC()
	d := store.DeviceCode{Hash: []byte{1}, TenantID: "t1", ClientID: "tv", UserCode: "ABCDEFGH",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := handles[0].CreateDeviceCode(ctx, d); err != nil {
		t.Fatal(err)
	}
	const n = 40
	seen := make([]time.Time, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			var got store.DeviceCode
			got, errs[i] = handles[i%2].PollDeviceCode(ctx, "t1", d.Hash, now.Add(time.Duration(i+1)*time.Second))
			seen[i] = got.LastPollAt
		})
	}
	close(start)
	wg.Wait()
	previous := map[time.Time]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if previous[seen[i]] {
			t.Fatalf("two polls both saw the previous poll %v", seen[i])
		}
		previous[seen[i]] = true
	}
}

// A hit stamped in an older window than the stored one (another server's
// clock a little behind) counts in the stored window instead of resetting
// it, so that skewed clocks cannot keep a counter near zero.
func TestHitClockSkew(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	boundary := time.UnixMilli(1_900_000_020_000).UTC() // a multiple of 10s
	for i, tc := range []struct {
		at   time.Time
		want int
	}{
		{boundary.Add(-time.Second), 1},
		{boundary, 1},
		{boundary.Add(-time.Millisecond), 2}, // behind: counted in the newer window
		{boundary.Add(time.Second), 3},
		{boundary.Add(10 * time.Second), 1},
	} {
		n, err := s.Hit(ctx, "k", 10*time.Second, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("hit %d at %v: count %d, want %d", i, tc.at, n, tc.want)
		}
	}
}

// Concurrent replays of one client assertion through several instances:
// exactly one is accepted, every other is ErrConflict.
func TestAssertionReplayRace(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	handles := []store.Store{open(t, schema), open(t, schema), open(t, schema)}
	exp := time.UnixMilli(1_900_000_000_000).UTC()
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = handles[i%len(handles)].UseAssertionID(ctx, "t1", "web", "jti-1", exp)
		})
	}
	close(start)
	wg.Wait()
	accepted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if accepted != 1 {
		t.Errorf("%d uses of one jti accepted, want 1", accepted)
	}
}

// Collection skips rows another transaction holds, instead of waiting for
// it, and takes them on a later run.
func TestDeleteExpiredSkipsLockedRows(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := open(t, schema)
	now := time.UnixMilli(1_900_000_000_000).UTC()
	for _, id := range []string{"a", "b"} {
		err := s.CreateSession(ctx, store.Session{ID: id, Hash: []byte(id), TenantID: "t1", UserID: "u1",
			ExpiresAt: now.Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}

	conn, err := pgx.Connect(ctx, dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, "sessions"}.Sanitize()+
		` WHERE id = 'a' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	waited, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := s.DeleteExpired(waited, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("DeleteExpired with one row locked: removed %d, want 1", n)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx, now, 10); err != nil || n != 1 {
		t.Errorf("DeleteExpired after the lock: removed %d, %v; want 1", n, err)
	}
}

// A lookup by a string PostgreSQL cannot hold (a NUL byte, invalid UTF-8)
// finds nothing, as in the SQLite backend, instead of failing.
func TestUnrepresentableLookups(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "t1", SigningAlg: "RS256"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"t1\x00", "\xff\xfe"} {
		if _, err := s.GetTenant(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTenant(%q): got %v, want ErrNotFound", bad, err)
		}
		if _, err := s.GetUserByUsername(ctx, "t1", bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUserByUsername(%q): got %v, want ErrNotFound", bad, err)
		}
		if apps, err := s.ListApps(ctx, bad); err != nil || len(apps) != 0 {
			t.Errorf("ListApps(%q): got %v, %v; want none", bad, apps, err)
		}
		if revoked, err := s.IsAccessTokenRevoked(ctx, "t1", bad); err != nil || revoked {
			t.Errorf("IsAccessTokenRevoked(%q): got %v, %v; want false", bad, revoked, err)
		}
	}
}

// tenantWriteNotifies opens two stores on schema, creates a tenant named
// name through the second and fails unless the first is told of it.
func tenantWriteNotifies(t *testing.T, schema, name string) (a, b *postgres.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, b = open(t, schema), open(t, schema)
	changes := a.Changes(ctx)
	select { // the initial signal after subscribing
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no initial signal")
	}
	if err := b.CreateTenant(ctx, store.Tenant{ID: "t-" + name, Name: name, SigningAlg: "RS256", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("a directory write in schema %s: %v", schema, err)
	}
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatalf("a tenant created through another store in schema %s was not notified", schema)
	}
	return a, b
}

func TestChangesNotifyAcrossStores(t *testing.T) {
	a, b := tenantWriteNotifies(t, freshSchema(t), "notify")
	ctx := t.Context()

	ran, err := a.Exclusive(ctx, "gc", func(ctx context.Context) error {
		other, err := b.Exclusive(ctx, "gc", func(context.Context) error { return nil })
		if err != nil || other {
			t.Errorf("a second holder ran (%v, %v)", other, err)
		}
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("Exclusive: %v %v", ran, err)
	}
	if ran, err := b.Exclusive(ctx, "gc", func(context.Context) error { return nil }); err != nil || !ran {
		t.Errorf("the lock was not released: %v %v", ran, err)
	}
}

// benchStore opens a store on a fresh schema dropped after the benchmark.
func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	dsn, schema := pgtest.Schema(b, "tessera_test_")
	s, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkRotateRefreshToken: one durable rotation, one statement.
func BenchmarkRotateRefreshToken(b *testing.B) {
	s := benchStore(b)
	storetest.BenchRotate(b, s)
}

// BenchmarkRotateRefreshTokenParallel: concurrent rotations over the pool.
func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	s := benchStore(b)
	b.SetParallelism(8)
	storetest.BenchRotateParallel(b, s)
}
