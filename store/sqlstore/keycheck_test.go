package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// keyChecker is an engine that records the master key check (PostgreSQL,
// MySQL).
type keyChecker interface {
	MasterKeyCheck(ctx context.Context) ([]byte, error)
	RecordMasterKeyCheck(ctx context.Context, check []byte) ([]byte, error)
}

// testMasterKeyCheckRace: processes opening a new store at once with
// different check values agree on one: every RecordMasterKeyCheck returns
// the value that won, so all but the winner see a mismatch.
func testMasterKeyCheckRace(t *testing.T, open func() keyChecker) {
	const n = 6
	stores := make([]keyChecker, n)
	for i := range stores {
		stores[i] = open()
	}
	if _, err := stores[0].MasterKeyCheck(t.Context()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("check of a new store: %v, want ErrNotFound", err)
	}
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Go(func() {
			<-start
			got[i], errs[i] = stores[i].RecordMasterKeyCheck(t.Context(), []byte(fmt.Sprintf("check-%d", i)))
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("record %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("store %d sees %q, store 0 %q", i, got[i], got[0])
		}
		if string(got[i]) == fmt.Sprintf("check-%d", i) {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d stores saw their own value recorded, want 1", winners)
	}
	if v, err := stores[1].MasterKeyCheck(t.Context()); err != nil || !bytes.Equal(v, got[0]) {
		t.Errorf("MasterKeyCheck after the race: %q, %v", v, err)
	}
	if _, err := stores[0].RecordMasterKeyCheck(t.Context(), nil); err == nil {
		t.Error("an empty check value was accepted")
	}
}

func TestPostgresMasterKeyCheckRace(t *testing.T) {
	schema := freshSchema(t)
	testMasterKeyCheckRace(t, func() keyChecker { return openPostgres(t, schema, sqlstore.WithPoolSize(2)) })
}
