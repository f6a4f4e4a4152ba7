package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlite"
	"github.com/tessera-id/tessera/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
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

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "tessera.db")
		return open(t, path), func() store.Store { return open(t, path) }
	})
}

// Reopening runs the migrations again, which must find nothing to do and
// keep the data.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tn := store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: time.UnixMilli(1_900_000_000_123)}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s := open(t, path)
		got, err := s.GetTenant(ctx, "contoso")
		if err != nil {
			t.Fatal(err)
		}
		if got != (store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: tn.CreatedAt.UTC()}) {
			t.Fatalf("got %+v", got)
		}
	}
}

// Several processes may start on a fresh file at once (a server and an admin
// command); all of them must end up with the schema.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	const n = 4
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
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

// Times come back in UTC whatever zone they went in with, at millisecond
// precision; the zero time stays zero.
func TestTimesUTC(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"))
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
}

// SQLite's lower() folds ASCII only; usernames are folded in Go instead.
func TestUsernameUnicodeCase(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"))
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
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"))
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

// Rows that belong to a missing tenant or app are refused as ErrNotFound.
func TestMissingParent(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"))
	err := s.CreateApp(ctx, store.App{TenantID: "nope", ClientID: "web"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app in a missing tenant: got %v, want ErrNotFound", err)
	}
	err = s.AddClientSecret(ctx, store.ClientSecret{ID: "s", TenantID: "nope", ClientID: "web", Hash: []byte{1}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("secret of a missing app: got %v, want ErrNotFound", err)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got nil error", path)
		}
	}
}
