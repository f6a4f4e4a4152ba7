package cache

import (
	"math/rand/v2"
	"testing"
)

// The table must agree with a map through any mix of inserts, updates and
// deletes, including deletes that shift probe runs across the end of the
// slots.
func TestATTableMatchesMap(t *testing.T) {
	// 11 keys keep the table at its smallest, 16 slots, at a load where
	// probe runs are long and often wrap around.
	for seed := range uint64(50) {
		testATTable(t, 11, seed)
	}
	testATTable(t, 200, 0)
}

func testATTable(t *testing.T, nKeys int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, uint64(nKeys)))
	var tab atTable
	want := map[uint64]*atEntry{}
	keys := make([]uint64, nKeys)
	for i := range keys {
		keys[i] = r.Uint64() &^ 1
	}
	for step := range 2000 {
		k := keys[r.IntN(len(keys))]
		if r.IntN(3) == 0 {
			tab.set(k, nil)
			delete(want, slotHash(k))
		} else {
			e := &atEntry{home: "h"}
			tab.set(k, e)
			want[slotHash(k)] = e
		}
		if nKeys > 100 && step%97 != 0 {
			continue
		}
		if tab.n != len(want) {
			t.Fatalf("step %d: %d slots occupied, want %d", step, tab.n, len(want))
		}
		for _, k := range keys {
			if got := tab.get(k); got != want[slotHash(k)] {
				t.Fatalf("step %d: get(%x) = %p, want %p", step, k, got, want[slotHash(k)])
			}
		}
		n := 0
		tab.each(func(*atEntry) { n++ })
		if n != len(want) {
			t.Fatalf("step %d: each visited %d chains, want %d", step, n, len(want))
		}
	}
}
