// Package ids makes the random identifiers of tenants, apps, users and
// sessions: RFC 9562 version 4 UUIDs, the form Entra ID uses for the same
// objects, so tools that expect GUIDs accept Tessera's.
package ids

import (
	"fmt"

	"github.com/google/uuid"
)

// New returns a random version 4 UUID in its canonical lower-case form.
func New() string { return uuid.NewString() }

// IsUUID reports whether s has the canonical 8-4-4-4-12 hexadecimal form
// (uuid.Validate alone also takes the braced, URN and hyphen-less forms).
func IsUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// NewOrdered returns a random version 7 UUID: its first 48 bits are the
// Unix time in milliseconds and, within one process, each is greater than
// the last, so that rows keyed by it (audit entries) sort in the order
// they were made even when their times are equal.
func NewOrdered() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does, and then
		// so would every other id.
		panic(fmt.Sprintf("ids: %v", err))
	}
	return id.String()
}
