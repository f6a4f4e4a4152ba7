package cache

// atTable indexes the access tokens by the hash of their identity (see
// newATEntry): each slot holds a chain of entries with that hash. It is an
// open-addressing table rather than a Go map because with many accounts a
// silent lookup is bound by cache misses, one after another, and a slot
// here holds everything needed to start on the entry: the hash, so there
// is no separate control word to read first, and the head's home account
// id, so that the entry and the bytes its identity is compared on load in
// parallel instead of one after the other.
type atTable struct {
	slots []atSlot // len is 0 or a power of two
	n     int      // occupied slots
	shift uint     // 64 - log2(len(slots))
}

type atSlot struct {
	hash uint64 // slotHash of the key; 0 when empty
	home string // head.home
	head *atEntry
}

// slotHash keeps 0 free to mark empty slots.
func slotHash(h uint64) uint64 { return h | 1 }

// home is where h's probe sequence starts: Fibonacci hashing takes the
// high bits of a multiply, which depend on all the bits of h.
func (t *atTable) home(h uint64) int { return int((h * mulA) >> t.shift) }

// find returns h's slot, or nil.
func (t *atTable) find(h uint64) *atSlot {
	if len(t.slots) == 0 {
		return nil
	}
	h = slotHash(h)
	mask := len(t.slots) - 1
	for i := t.home(h); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.hash == h {
			return s
		}
		if s.hash == 0 {
			return nil
		}
	}
}

// get returns the chain of entries with hash h.
func (t *atTable) get(h uint64) *atEntry {
	if s := t.find(h); s != nil {
		return s.head
	}
	return nil
}

// set makes e the chain of entries with hash h, or removes the chain when
// e is nil.
func (t *atTable) set(h uint64, e *atEntry) {
	if e == nil {
		t.delete(h)
		return
	}
	if s := t.find(h); s != nil {
		s.head, s.home = e, e.home
		return
	}
	// Grow at a load of 7/8. Probe runs get longer than at the usual 3/4,
	// but they stay within a line or two, and the table spans half the
	// pages: with many accounts a lookup pays for a page-table walk more
	// than for a few more slots (measured: 100,000 accounts, 5% faster).
	if 8*(t.n+1) > 7*len(t.slots) {
		t.grow()
	}
	t.insert(atSlot{hash: slotHash(h), home: e.home, head: e})
	t.n++
}

func (t *atTable) insert(s atSlot) {
	mask := len(t.slots) - 1
	i := t.home(s.hash)
	for t.slots[i].hash != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *atTable) grow() {
	old := t.slots
	size := max(16, 2*len(old))
	t.slots = make([]atSlot, size)
	t.shift = 64
	for n := size; n > 1; n >>= 1 {
		t.shift--
	}
	for _, s := range old {
		if s.hash != 0 {
			t.insert(s)
		}
	}
}

// delete removes h's slot, moving later slots of the same probe run back
// into the gap, so that no tombstones accumulate and lookups stay short.
func (t *atTable) delete(h uint64) {
	s := t.find(h)
	if s == nil {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(slotHash(h))
	for t.slots[i].hash != slotHash(h) {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].hash != 0; j = (j + 1) & mask {
		// The slot at j may move to the gap at i unless its probe run
		// starts after i (cyclically, within (i, j]).
		k := t.home(t.slots[j].hash)
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = atSlot{}
	t.n--
}

// each calls fn for every chain.
func (t *atTable) each(fn func(*atEntry)) {
	for i := range t.slots {
		if t.slots[i].hash != 0 {
			fn(t.slots[i].head)
		}
	}
}
