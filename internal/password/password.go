// Package password hashes and verifies user passwords with argon2id, stored
// in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash) so the
// parameters can be raised later without invalidating existing hashes.
//
// Argon2id is deliberately slow and memory-hungry; it is for user passwords
// only. Client secrets are 256-bit random values and are checked with
// SHA-256 on the token endpoint instead.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// Default is one of OWASP's equivalent argon2id settings (7 MiB, 5
// passes, 1 lane): as strong as its 19 MiB, 2-pass baseline, with a third
// of the memory, so that a burst of sign-ins does not set the server's
// memory. Hashes record their parameters; older ones still verify.
func Default() Params { return Params{Memory: 7 * 1024, Time: 5, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
	// MaxLen bounds the work an attacker can force per login attempt.
	MaxLen = 1024
)

// ErrMalformed means a stored hash cannot be parsed.
var ErrMalformed = errors.New("password: malformed hash")

var b64 = base64.RawStdEncoding

// Hash returns the PHC string of password under p.
func Hash(password string, p Params) (string, error) {
	if len(password) > MaxLen {
		return "", fmt.Errorf("password: longer than %d bytes", MaxLen)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded.
func Verify(password, encoded string) (bool, error) {
	p, salt, key, err := parse(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// MemoryOf is the memory, in bytes, that verifying against encoded takes:
// its argon2 memory cost; 0 for a hash that does not parse (its check
// fails before any is taken).
func MemoryOf(encoded string) int64 {
	p, _, _, err := parse(encoded)
	if err != nil {
		return 0
	}
	return int64(p.Memory) << 10
}

func parse(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformed
	}
	// Refuse parameters that would let a tampered row exhaust memory or CPU.
	if p.Memory == 0 || p.Memory > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}

// Dummy returns a hash, with the Default parameters, of a password nobody
// knows. Verifying against it costs what verifying a real user's password
// costs, so a login for an unknown username takes as long as a wrong
// password; it is a constant so that starting a server computes nothing.
func Dummy() string {
	return "$argon2id$v=19$m=7168,t=5,p=1$XqEJRsyRGywCkOIRvMsP1A$442tBKIDKjxKPrfHARsz48PR30AsVM6X64V50YuIa8E"
}
