package sqlite

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// millis is the stored form of a time: unix milliseconds, NULL for the zero
// time.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// timeCol scans what millis stored back into a UTC time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMilli(v).UTC()
	default:
		return fmt.Errorf("time column holds %T", src)
	}
	return nil
}

// durationCol scans a duration stored as milliseconds.
type durationCol struct{ d *time.Duration }

func (c durationCol) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("duration column holds %T", src)
	}
	*c.d = time.Duration(v) * time.Millisecond
	return nil
}

// jsonCol stores a value as JSON text (as a driver.Valuer) and reads it back
// into a pointer (as a sql.Scanner).
type jsonCol struct{ v any }

func (c jsonCol) Value() (driver.Value, error) {
	b, err := json.Marshal(c.v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func (c jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return json.Unmarshal([]byte(v), c.v)
	case []byte:
		return json.Unmarshal(v, c.v)
	}
	return fmt.Errorf("JSON column holds %T", src)
}

// The JSON written to disk has its own field names, so that renaming a Go
// field cannot silently orphan data already stored.

type permissionJSON struct {
	ResourceID string `json:"resource"`
	Kind       string `json:"kind"`
	Value      string `json:"value"`
}

func permissionsValue(ps []store.Permission) jsonCol {
	out := make([]permissionJSON, len(ps))
	for i, p := range ps {
		out[i] = permissionJSON{ResourceID: p.ResourceID, Kind: string(p.Kind), Value: p.Value}
	}
	return jsonCol{out}
}

type permissionsCol struct{ ps *[]store.Permission }

func (c permissionsCol) Scan(src any) error {
	var in []permissionJSON
	if err := (jsonCol{&in}).Scan(src); err != nil {
		return err
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

func grantValue(g store.Grant) jsonCol {
	return jsonCol{grantJSON{ResourceID: g.ResourceID, Scopes: g.Scopes, OIDCScopes: g.OIDCScopes, Default: g.Default, Name: g.ResourceName}}
}

type grantCol struct{ g *store.Grant }

func (c grantCol) Scan(src any) error {
	var in grantJSON
	if err := (jsonCol{&in}).Scan(src); err != nil {
		return err
	}
	*c.g = store.Grant{ResourceID: in.ResourceID, Scopes: in.Scopes, OIDCScopes: in.OIDCScopes, Default: in.Default, ResourceName: in.Name}
	return nil
}
