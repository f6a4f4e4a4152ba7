package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// Seed loads rows in bulk, for load tests that need the store at a
// realistic size (a million users, a million live refresh families): one
// statement inserts many rows, one transaction many statements. Values go
// through the encoding of the one-row methods (the same column lists and
// arguments), so a seeded row is read back as if it had been written one
// at a time. Nothing at runtime needs it, so it is not part of store.Store.
type Seed struct {
	s         *Store
	rowsPerTx int
}

// Seed returns the store's bulk loader.
func (s *Store) Seed() Seed { return Seed{s: s, rowsPerTx: seedRowsPerTx} }

const (
	// seedParams bounds the placeholders of one statement. Every engine
	// takes tens of thousands, but the SQLite driver looks each numbered
	// parameter's name up in a list as long as the statement's, so a
	// statement's binding costs the square of its size there; a thousand
	// keeps that below the insert's own cost, and is plenty for the others.
	seedParams = 1000
	// seedRowsPerTx bounds one transaction: large enough that commits
	// (and SQLite's fsync) do not dominate, small enough that a
	// transaction's undo and the writer's lock stay modest.
	seedRowsPerTx = 20000
)

// Tenants inserts tenants.
func (sd Seed) Tenants(ctx context.Context, ts []store.Tenant) error {
	return sd.bulk(ctx, "tenants", tenantCols, len(ts), func(i int) []any { return tenantArgs(ts[i]) })
}

// SigningKeys inserts signing keys, already sealed.
func (sd Seed) SigningKeys(ctx context.Context, ks []store.SigningKey) error {
	return sd.bulk(ctx, "signing_keys", keyCols, len(ks), func(i int) []any { return keyArgs(ks[i]) })
}

// Apps inserts app registrations.
func (sd Seed) Apps(ctx context.Context, as []store.App) error {
	return sd.bulk(ctx, "apps", appInsertCols, len(as), func(i int) []any { return appArgs(as[i]) })
}

// Users inserts users.
func (sd Seed) Users(ctx context.Context, us []store.User) error {
	return sd.bulk(ctx, "users", userCols+", username_key, name_key", len(us), func(i int) []any { return userArgs(us[i]) })
}

// RefreshFamilies inserts families and, for each, the token firsts[i] (its
// TenantID and FamilyID are taken from fams[i]).
func (sd Seed) RefreshFamilies(ctx context.Context, fams []store.RefreshFamily, firsts []store.RefreshToken) error {
	if len(fams) != len(firsts) {
		return fmt.Errorf("sqlstore: seed: %d families and %d first tokens", len(fams), len(firsts))
	}
	if err := sd.bulk(ctx, "refresh_families", familyCols, len(fams), func(i int) []any { return familyArgs(fams[i]) }); err != nil {
		return err
	}
	return sd.bulk(ctx, "refresh_tokens", tokenCols, len(firsts), func(i int) []any {
		t := firsts[i]
		t.TenantID, t.FamilyID = fams[i].TenantID, fams[i].ID
		return tokenArgs(t)
	})
}

// bulk inserts n rows into table, row i's arguments given by args(i) in
// the order of cols.
func (sd Seed) bulk(ctx context.Context, table, cols string, n int, args func(i int) []any) error {
	if n == 0 {
		return nil
	}
	width := len(args(0))
	perStmt := max(1, seedParams/width)
	for start := 0; start < n; start += sd.rowsPerTx {
		end := min(n, start+sd.rowsPerTx)
		err := sd.s.tx(ctx, func(c conn) error {
			for from := start; from < end; from += perStmt {
				to := min(end, from+perStmt)
				vals := make([]any, 0, (to-from)*width)
				for i := from; i < to; i++ {
					vals = append(vals, args(i)...)
				}
				if _, err := c.exec(ctx, insertRows(table, cols, width, to-from), vals...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sd.s.wrap("seed "+table, err)
		}
	}
	return nil
}

// insertRows is an INSERT of rows rows of width values each, with $n
// placeholders as every query here is written (the dialect rebinds them).
func insertRows(table, cols string, width, rows int) string {
	tuples := make([]string, rows)
	for r := range tuples {
		tuples[r] = "(" + placeholders(1+r*width, width) + ")"
	}
	return "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.Join(tuples, ",")
}
