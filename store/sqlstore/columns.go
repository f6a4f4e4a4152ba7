package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tessera-id/tessera/store"
)

// How the store's values are stored. Arguments are passed as Go values and
// converted by Store.args: a time goes in as the dialect's stored form
// (SQLite: unix milliseconds; PostgreSQL: timestamptz; MySQL: DATETIME(3),
// both cut to the millisecond so that "expired at" means the same on every
// engine), the zero time as NULL; a duration as bigint milliseconds; a list
// of strings as the dialect's list (JSON text, or PostgreSQL's text[]).
// The scanners below read all of those back.

// timeCol scans a stored time back into a UTC time: unix milliseconds
// (SQLite) or a timestamp (PostgreSQL, MySQL); NULL is the zero time. A
// value type with a pointer inside, so that a scan list can say
// timeCol{&x.CreatedAt}.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMilli(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("time column holds %T", src)
	}
	return nil
}

// durationCol scans a duration stored as milliseconds.
type durationCol struct{ d *time.Duration }

func (c durationCol) Scan(src any) error {
	var ms int64
	switch v := src.(type) {
	case int64:
		ms = v
	case []byte: // a driver that leaves numbers as text
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("duration column: %w", err)
		}
		ms = n
	default:
		return fmt.Errorf("duration column holds %T", src)
	}
	*c.d = time.Duration(ms) * time.Millisecond
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
	case nil:
		return errors.New("NULL where JSON was expected")
	}
	return fmt.Errorf("JSON column holds %T", src)
}

// listCol scans a list of strings, which every engine reads as JSON text
// (see dialect.listColumn).
func listCol(v *[]string) jsonCol { return jsonCol{v} }

// The JSON written to disk has its own field names, so that renaming a Go
// field cannot silently orphan data already stored. They are the same on
// every engine, so that data can move between them.

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
		return fmt.Errorf("permissions column: %w", err)
	}
	*c.ps = nil
	for _, p := range in {
		*c.ps = append(*c.ps, store.Permission{ResourceID: p.ResourceID, Kind: store.PermissionKind(p.Kind), Value: p.Value})
	}
	return nil
}

// scopeDetailJSON is one scope's entry of an app's scope_details object,
// keyed there by the scope's value. Empty fields are left out, so that a
// scope that says little takes little room.
type scopeDetailJSON struct {
	Type             string `json:"type,omitempty"`
	AdminName        string `json:"adminName,omitempty"`
	AdminDescription string `json:"adminDescription,omitempty"`
	UserName         string `json:"userName,omitempty"`
	UserDescription  string `json:"userDescription,omitempty"`
}

func scopeDetailsValue(ds map[string]store.ScopeDetail) jsonCol {
	out := make(map[string]scopeDetailJSON, len(ds))
	for v, d := range ds {
		out[v] = scopeDetailJSON{Type: string(d.Type), AdminName: d.AdminConsentDisplayName, AdminDescription: d.AdminConsentDescription,
			UserName: d.UserConsentDisplayName, UserDescription: d.UserConsentDescription}
	}
	return jsonCol{out}
}

// scopeDetailsCol reads scope_details back; an empty object is a nil map,
// so that an app read back equals the app written without details.
type scopeDetailsCol struct{ ds *map[string]store.ScopeDetail }

func (c scopeDetailsCol) Scan(src any) error {
	var in map[string]scopeDetailJSON
	if err := (jsonCol{&in}).Scan(src); err != nil {
		return fmt.Errorf("scope details column: %w", err)
	}
	*c.ds = nil
	for v, d := range in {
		if *c.ds == nil {
			*c.ds = make(map[string]store.ScopeDetail, len(in))
		}
		(*c.ds)[v] = store.ScopeDetail{Type: store.ScopeConsentType(d.Type), AdminConsentDisplayName: d.AdminName,
			AdminConsentDescription: d.AdminDescription, UserConsentDisplayName: d.UserName, UserConsentDescription: d.UserDescription}
	}
	return nil
}

type grantJSON struct {
	ResourceID string   `json:"resource,omitempty"`
	Scopes     []string `json:"scopes,omitempty"`
	OIDCScopes []string `json:"oidc,omitempty"`
	Default    bool     `json:"default,omitempty"`
	Name       string   `json:"name,omitempty"`
	PublicVia  string   `json:"public_via,omitempty"`
}

func grantValue(g store.Grant) jsonCol {
	return jsonCol{grantJSON{ResourceID: g.ResourceID, Scopes: g.Scopes, OIDCScopes: g.OIDCScopes, Default: g.Default, Name: g.ResourceName,
		PublicVia: g.PublicVia}}
}

type grantCol struct{ g *store.Grant }

func (c grantCol) Scan(src any) error {
	var in grantJSON
	if err := (jsonCol{&in}).Scan(src); err != nil {
		return fmt.Errorf("grant column: %w", err)
	}
	*c.g = store.Grant{ResourceID: in.ResourceID, Scopes: in.Scopes, OIDCScopes: in.OIDCScopes, Default: in.Default, ResourceName: in.Name,
		PublicVia: in.PublicVia}
	return nil
}
