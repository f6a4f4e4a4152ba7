package oauth

import (
	"testing"
	"time"
)

// The blocked set stays within its bound, dropping ended blocks first and
// then the one that ends first.
func TestClientBlocksBounded(t *testing.T) {
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	b := newClientBlocks(3)
	key := func(i int) clientKey { return clientKey{"t", "c", string(rune('a' + i))} }
	if _, blocked := b.blocked(key(0), now); blocked {
		t.Fatal("blocked in an empty set")
	}
	for i := range 3 {
		b.block(key(i), now.Add(time.Duration(i+1)*time.Minute), now)
	}
	// Full: the block that ends first makes room.
	b.block(key(3), now.Add(10*time.Minute), now)
	if _, blocked := b.blocked(key(0), now); blocked {
		t.Error("the block ending first was kept in a full set")
	}
	for i := 1; i <= 3; i++ {
		if _, blocked := b.blocked(key(i), now); !blocked {
			t.Errorf("caller %d lost its block", i)
		}
	}
	// Ended blocks are forgotten when looked at, and make room first.
	later := now.Add(5 * time.Minute)
	if _, blocked := b.blocked(key(1), later); blocked {
		t.Error("a block outlived its end")
	}
	b.block(key(4), later.Add(time.Minute), later)
	b.block(key(5), later.Add(time.Minute), later)
	if _, blocked := b.blocked(key(3), later); !blocked {
		t.Error("a live block was dropped while ended ones were there to drop")
	}
	if n := b.n.Load(); n > 3 {
		t.Errorf("%d blocks kept, limit 3", n)
	}
}
