package cache

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Identifiers (hosts, client ids, account ids, scopes) compare
// case-insensitively, as MSAL lower-cases its keys. Lookups must not
// allocate, so instead of lower-casing the query and using it as a map key,
// the indexes are keyed by a hash of the lower-cased bytes computed on the
// fly, eight bytes at a time, and candidates are confirmed with eqLower.
// Stored identifiers are lower-cased with strings.ToLower, which the
// non-ASCII paths below use too, so both sides agree. (A query with
// non-ASCII identifiers, which OAuth servers do not issue, costs one
// allocation.)
//
// The hash is seeded per cache. It is not meant to resist deliberate
// collisions (Go's maps hash their uint64 keys again with their own seed,
// the access-token table takes the high bits of a multiply, and a
// collision only makes a chain longer); identifiers come from the
// authorization server, not from an attacker.

const mulA = 0x9e3779b97f4a7c15

func mix(h, w uint64) uint64 {
	h = (h ^ w) * mulA
	return h ^ h>>29
}

// SWAR constants: every byte set to 0x80, and the additions that carry a
// byte into its high bit when it is >= 'A' (0x41) or >= 'Z'+1 (0x5b).
const (
	highBits = 0x8080808080808080
	geA      = 0x3f3f3f3f3f3f3f3f
	geZ1     = 0x2525252525252525
)

// lowerWord lower-cases the ASCII letters of eight ASCII bytes at once:
// no byte is >= 0x80, so the additions cannot carry between bytes.
func lowerWord(x uint64) uint64 {
	upper := (x + geA) &^ (x + geZ1) & highBits
	return x | upper>>2 // 0x80>>2 is the case bit, 0x20
}

// load64 reads eight bytes little-endian; the compiler makes it one load.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// partHash hashes the lower-cased bytes of p, starting from h: whole
// words, then the tail packed little-endian with the length in its top
// byte (a tail has at most seven bytes). Folding the length into the tail
// rather than mixing it in separately saves a multiply per part: the
// multiplies of one part depend on each other, so they set the latency.
func partHash(h uint64, p string) uint64 {
	h0 := h
	i := 0
	for ; i+8 <= len(p); i += 8 {
		w := load64(p, i)
		if w&highBits != 0 {
			return rawPartHash(h0, strings.ToLower(p))
		}
		h = mix(h, lowerWord(w))
	}
	var w uint64
	for j := i; j < len(p); j++ {
		c := p[j]
		if c >= utf8.RuneSelf {
			return rawPartHash(h0, strings.ToLower(p))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		w |= uint64(c) << (8 * (j - i))
	}
	return mix(h, w|uint64(len(p))<<56)
}

// rawPartHash is partHash of a part already lower-cased.
func rawPartHash(h uint64, p string) uint64 {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		h = mix(h, load64(p, i))
	}
	var w uint64
	for j := i; j < len(p); j++ {
		w |= uint64(p[j]) << (8 * (j - i))
	}
	return mix(h, w|uint64(len(p))<<56)
}

func finish(h uint64) uint64 { return h ^ h>>32 }

// The parts of a key are hashed independently, each from its own seed so
// that their order matters, and combined at the end: independent chains of
// multiplies run in parallel, where one chain through all the parts would
// take the sum of their latencies.
const (
	seed1 = 0x243f6a8885a308d3
	seed2 = 0x13198a2e03707344
	seed3 = 0xa4093822299f31d0
	seed4 = 0x082efa98ec4e6c89
)

func hash2(seed uint64, a, b string) uint64 {
	return finish(partHash(seed, a) ^ partHash(seed^seed1, b))
}

func hash4(seed uint64, a, b, c, d string) uint64 {
	return finish(partHash(seed, a) ^ partHash(seed^seed1, b) ^ partHash(seed^seed2, c) ^ partHash(seed^seed3, d))
}

func hash5(seed uint64, a, b, c, d, e string) uint64 {
	return finish(partHash(seed, a) ^ partHash(seed^seed1, b) ^ partHash(seed^seed2, c) ^ partHash(seed^seed3, d) ^ partHash(seed^seed4, e))
}

// eqLower reports whether q lower-cases to lower, which is already
// lower-case.
func eqLower(lower, q string) bool {
	// Identifiers usually come in lower case already, often as the very
	// string stored: then the runtime's comparison, which checks for that
	// first and else compares a vector at a time, is the quickest answer.
	if lower == q {
		return true
	}
	if len(lower) == len(q) && len(q) >= 8 {
		if eq, ascii := eqLowerASCII(lower, q); ascii {
			return eq
		}
	}
	// What is left is short, of different lengths (equal only through a
	// rune whose lower case is longer or shorter), or not ASCII.
	n := min(len(lower), len(q))
	for i := 0; i < n; i++ {
		c, d := q[i], lower[i]
		if c >= utf8.RuneSelf || d >= utf8.RuneSelf {
			return eqLowerSlow(lower[i:], q[i:])
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return len(lower) == len(q)
}

// eqLowerASCII is eqLower of two strings of the same length, at least
// eight bytes, a word at a time; the last word overlaps the one before
// rather than going byte by byte. ascii is false, and eq meaningless, when
// either string has a non-ASCII byte.
func eqLowerASCII(lower, q string) (eq, ascii bool) {
	n := len(q)
	for i := 0; ; i += 8 {
		if i+8 > n {
			i = n - 8
		}
		a, b := load64(lower, i), load64(q, i)
		if (a|b)&highBits != 0 {
			return false, false
		}
		if a != lowerWord(b) {
			// A non-ASCII byte further on would not make them equal:
			// lower-casing it cannot change the ASCII bytes compared here.
			return false, true
		}
		if i+8 == n {
			return true, true
		}
	}
}

func eqLowerSlow(lower, q string) bool {
	for q != "" && lower != "" {
		r, n := utf8.DecodeRuneInString(q)
		l, m := utf8.DecodeRuneInString(lower)
		if unicode.ToLower(r) != l {
			return false
		}
		q, lower = q[n:], lower[m:]
	}
	return q == "" && lower == ""
}
