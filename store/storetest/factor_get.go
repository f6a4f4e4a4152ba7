package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/store"
)

// testGetFactor: a factor is found by id in its tenant alone, whoever's
// it is, and not once removed.
func testGetFactor(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := epoch()
	seed(t, s)
	f := store.Factor{ID: "cred-hash", TenantID: t1, UserID: "u2", Kind: store.FactorPasskey, Name: "key",
		Data: []byte(`{"id":"x"}`), Counter: 5, CreatedAt: now}
	ok(t, s.AddFactor(ctx, f, nil))
	got, err := s.GetFactor(ctx, t1, "cred-hash")
	ok(t, err)
	same(t, got, f)
	_, err = s.GetFactor(ctx, t2, "cred-hash")
	isErr(t, err, store.ErrNotFound)
	ok(t, s.RemoveFactor(ctx, t1, "u2", "cred-hash"))
	_, err = s.GetFactor(ctx, t1, "cred-hash")
	isErr(t, err, store.ErrNotFound)
}
