// Package ids makes the random identifiers of tenants, apps, users and
// sessions: RFC 9562 version 4 UUIDs, the form Entra ID uses for the same
// objects, so tools that expect GUIDs accept Tessera's.
package ids

import "github.com/google/uuid"

// New returns a random version 4 UUID in its canonical lower-case form.
func New() string { return uuid.NewString() }

// IsUUID reports whether s has the canonical 8-4-4-4-12 hexadecimal form
// (uuid.Validate alone also takes the braced, URN and hyphen-less forms).
func IsUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }
