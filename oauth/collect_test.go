package oauth_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// backlog is a store with rows expired in every batch's reach: each
// DeleteExpired deletes as many as it is allowed, taking perRow a row,
// until left runs out.
type backlog struct {
	store.Store
	left   int64
	perRow time.Duration
	// freeFirst passes cost nothing: rows on hot pages.
	freeFirst int
	limits    []int
}

func (b *backlog) DeleteExpired(_ context.Context, _ time.Time, limit int) (int64, error) {
	b.limits = append(b.limits, limit)
	n := min(int64(limit), b.left)
	b.left -= n
	if len(b.limits) > b.freeFirst {
		time.Sleep(time.Duration(n) * b.perRow)
	}
	return n, nil
}

// A batch that holds the writer past its budget is halved until it fits,
// never grows past the most asked for, and the collection ends on the
// first short batch without a pass that finds nothing.
func TestCollectGarbageSizesBatchesByTime(t *testing.T) {
	f := newFx(t)
	slow := &backlog{Store: f.store, left: 1000, perRow: time.Millisecond, freeFirst: 3}
	mk := token.NewMasterKey()
	p := oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: slow, Keys: token.NewKeyring(slow, mk, f.clock.Now),
		Successor: token.NewSuccessors(mk).Derive, State: token.NewStateSealer(mk), Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	n, err := p.CollectGarbage(context.Background(), 20, 500)
	if err != nil || n != 1000 {
		t.Fatalf("collected %d (%v), want the 1000 expired rows", n, err)
	}
	// Three free passes grow the batch from 20 to 160 (at most: one may
	// have taken a moment); at 1 ms a row against a 10 ms budget it then
	// halves pass by pass down to the 20 asked for at the least.
	grown := slices.Max(slow.limits[:4])
	if grown <= 20 {
		t.Errorf("batches %v: free passes did not grow the batch", slow.limits)
	}
	for i := 4; i < len(slow.limits); i++ {
		if l, prev := slow.limits[i], slow.limits[i-1]; l != max(prev/2, 20) {
			t.Errorf("batch %d was %d rows after %d, want %d: %v", i, l, prev, max(prev/2, 20), slow.limits)
		}
	}
	if last := slow.limits[len(slow.limits)-1]; slow.left != 0 || last <= 0 {
		t.Errorf("left %d rows, batches %v", slow.left, slow.limits)
	}

	// Asked for a row at the least (SQLite's single writer), the batch
	// goes below 20 while rows stay slow.
	single := &backlog{Store: f.store, left: 100, perRow: 2 * time.Millisecond}
	p = oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: single, Keys: token.NewKeyring(single, mk, f.clock.Now),
		Successor: token.NewSuccessors(mk).Derive, State: token.NewStateSealer(mk), Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if n, err := p.CollectGarbage(context.Background(), 1, 500); err != nil || n != 100 {
		t.Fatalf("collected %d (%v), want 100", n, err)
	}
	if got := slices.Min(single.limits); got > 5 {
		t.Errorf("batches %v: at 2 ms a row the batch stayed above 5 rows", single.limits)
	}

	fast := &backlog{Store: f.store, left: 5000}
	p = oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: fast, Keys: token.NewKeyring(fast, mk, f.clock.Now),
		Successor: token.NewSuccessors(mk).Derive, State: token.NewStateSealer(mk), Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if n, err := p.CollectGarbage(context.Background(), 1, 300); err != nil || n != 5000 {
		t.Fatalf("collected %d (%v), want 5000", n, err)
	}
	for _, l := range fast.limits {
		if l > 300 {
			t.Fatalf("a batch of %d rows, past the 300 asked for: %v", l, fast.limits)
		}
	}
	// The backlog divides into whole batches only by chance; the last one
	// came up short and ended the collection.
	if got := fast.limits[len(fast.limits)-1]; fast.left != 0 || got == 0 {
		t.Errorf("left %d rows, batches %v", fast.left, fast.limits)
	}
}
