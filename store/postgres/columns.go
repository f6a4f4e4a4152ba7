package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tessera-id/tessera/store"
)

// ts is the stored form of a time: a timestamptz cut to the millisecond,
// NULL for the zero time. Cutting on the way in, rather than comparing at
// PostgreSQL's microseconds, makes "expired at" mean exactly what it means
// in the SQLite backend, which keeps unix milliseconds.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Truncate(time.Millisecond).UTC()
}

// timeCol scans what ts stored back into a UTC time. A value type with a
// pointer inside, so that a scan list can say timeCol{&x.CreatedAt}.
type timeCol struct{ t *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (c timeCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*c.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		// Never written by the store: someone edited the row by hand.
		return errors.New("time column holds an infinity")
	default:
		*c.t = v.Time.UTC()
	}
	return nil
}

// millis is the stored form of a duration: bigint milliseconds.
func millis(d time.Duration) int64 {
	return d.Milliseconds()
}

// durationCol scans a duration stored as milliseconds.
type durationCol struct{ d *time.Duration }

// ScanInt64 implements pgtype.Int64Scanner.
func (c durationCol) ScanInt64(v pgtype.Int8) error {
	if !v.Valid {
		return errors.New("duration column holds NULL")
	}
	*c.d = time.Duration(v.Int64) * time.Millisecond
	return nil
}

// strs is the stored form of a list of strings: a text[] that is never
// NULL, since pgx sends a nil slice as NULL.
func strs(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// The JSON stored in jsonb columns has its own field names, so that
// renaming a Go field cannot silently orphan data already stored. They are
// the SQLite backend's, so that data can move between the two.

type permissionJSON struct {
	ResourceID string `json:"resource"`
	Kind       string `json:"kind"`
	Value      string `json:"value"`
}

// permissionsValue is the stored form of an app's permissions, marshalled
// by pgx into the jsonb parameter.
func permissionsValue(ps []store.Permission) []permissionJSON {
	out := make([]permissionJSON, len(ps))
	for i, p := range ps {
		out[i] = permissionJSON{ResourceID: p.ResourceID, Kind: string(p.Kind), Value: p.Value}
	}
	return out
}

// permissionsCol scans a jsonb list of permissions.
type permissionsCol struct{ ps *[]store.Permission }

// ScanBytes implements pgtype.BytesScanner; pgx hands jsonb over as its
// JSON text.
func (c permissionsCol) ScanBytes(src []byte) error {
	var in []permissionJSON
	if err := unmarshal(src, &in); err != nil {
		return fmt.Errorf("permissions column: %w", err)
	}
	*c.ps = nil
	for _, p := range in {
		*c.ps = append(*c.ps, store.Permission{ResourceID: p.ResourceID, Kind: store.PermissionKind(p.Kind), Value: p.Value})
	}
	return nil
}

type grantJSON struct {
	ResourceID string   `json:"resource,omitempty"`
	Scopes     []string `json:"scopes,omitempty"`
	OIDCScopes []string `json:"oidc,omitempty"`
	Default    bool     `json:"default,omitempty"`
	Name       string   `json:"name,omitempty"`
}

// grantValue is the stored form of a grant, marshalled by pgx into the
// jsonb parameter.
func grantValue(g store.Grant) grantJSON {
	return grantJSON{ResourceID: g.ResourceID, Scopes: g.Scopes, OIDCScopes: g.OIDCScopes, Default: g.Default, Name: g.ResourceName}
}

// grantCol scans a jsonb grant.
type grantCol struct{ g *store.Grant }

// ScanBytes implements pgtype.BytesScanner.
func (c grantCol) ScanBytes(src []byte) error {
	var in grantJSON
	if err := unmarshal(src, &in); err != nil {
		return fmt.Errorf("grant column: %w", err)
	}
	*c.g = store.Grant{ResourceID: in.ResourceID, Scopes: in.Scopes, OIDCScopes: in.OIDCScopes, Default: in.Default, ResourceName: in.Name}
	return nil
}

func unmarshal(src []byte, v any) error {
	if src == nil {
		return errors.New("NULL where JSON was expected")
	}
	return json.Unmarshal(src, v)
}
