// Package ids makes the random identifiers of tenants, apps, users and
// sessions: RFC 9562 version 4 UUIDs, the form Entra ID uses for the same
// objects, so tools that expect GUIDs accept Tessera's.
package ids

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random version 4 UUID in its canonical lower-case form.
func New() string {
	var b [16]byte
	// crypto/rand.Read never fails on supported platforms (Go 1.24+ panics
	// instead of returning an error), so there is no error to handle.
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// IsUUID reports whether s has the canonical 8-4-4-4-12 hexadecimal form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
