package cache

import (
	"unicode"
	"unicode/utf8"
)

// Identifiers (hosts, client ids, account ids, realms, assertion hashes)
// compare case-insensitively, as MSAL lower-cases its keys. An entry's
// identifiers are lower-cased with strings.ToLower when it is stored, and
// the indexes (state.ats and the rest) are Go maps keyed by idKey of them.
// A lookup builds its key the same way into a buffer on the stack and
// indexes the map with string(key), which the compiler does without
// copying, so a lookup does not allocate unless its key outgrows the
// buffer.

// keySep ends each identifier in a key. UTF-8, and so whatever
// strings.ToLower returns, never contains the byte 0xff, so different
// identifiers always make different keys.
const keySep = 0xff

// keyBuf holds a lookup's key: Entra's identifiers (a host, two GUIDs and a
// home account id of two more) take about 180 bytes.
type keyBuf [256]byte

// idKey is the index key of identifiers.
func idKey(ids ...string) string {
	n := 0
	for _, s := range ids {
		n += len(s) + 1
	}
	return string(appendKey(make([]byte, 0, n), ids...))
}

// appendKey appends the index key of ids to b: each identifier lower-cased
// as strings.ToLower does it, then keySep.
func appendKey(b []byte, ids ...string) []byte {
	for _, s := range ids {
		b = appendLower(b, s)
		b = append(b, keySep)
	}
	return b
}

// appendLower appends strings.ToLower(s) to b.
func appendLower(b []byte, s string) []byte {
	n := len(b)
	b = append(b, s...)
	for i := n; i < len(b); i++ {
		c := b[i]
		if c >= utf8.RuneSelf {
			// strings.ToLower maps rune by rune, invalid bytes to
			// utf8.RuneError, and so does this.
			b = b[:i]
			for _, r := range s[i-n:] {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
			return b
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
