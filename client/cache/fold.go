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
// collisions (Go's map hashes its uint64 keys again with its own seed, and
// a collision only makes a chain longer); identifiers come from the
// authorization server, not from an attacker.

const (
	mulA = 0x9e3779b97f4a7c15
	mulB = 0xbf58476d1ce4e5b9
)

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

// partHash folds the lower-cased bytes of p into h: whole words, then the
// tail packed little-endian, then the length (which also separates parts).
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
	return mix(mix(h, w), uint64(len(p))*mulB)
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
	return mix(mix(h, w), uint64(len(p))*mulB)
}

func finish(h uint64) uint64 { return h ^ h>>32 }

func hash2(seed uint64, a, b string) uint64 {
	return finish(partHash(partHash(seed, a), b))
}

func hash4(seed uint64, a, b, c, d string) uint64 {
	return finish(partHash(partHash(partHash(partHash(seed, a), b), c), d))
}

func hash5(seed uint64, a, b, c, d, e string) uint64 {
	return finish(partHash(partHash(partHash(partHash(partHash(seed, a), b), c), d), e))
}

// eqLower reports whether q lower-cases to lower, which is already
// lower-case.
func eqLower(lower, q string) bool {
	if lower == q {
		return true
	}
	n := min(len(lower), len(q))
	i := 0
	for ; i+8 <= n; i += 8 {
		a, b := load64(lower, i), load64(q, i)
		if (a|b)&highBits != 0 {
			break
		}
		if a != lowerWord(b) {
			return false
		}
	}
	for ; i < n; i++ {
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
