package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/pgtest"
)

// The longest schema name WithSchema accepts (63 bytes) still takes
// directory writes, and the change still reaches a listener: the channel
// name is derived from a digest of the schema, not the schema itself,
// because PostgreSQL rejects channel names of 64 bytes or more.
func TestPostgresLongSchemaNotifies(t *testing.T) {
	d := pgDSN(t)
	schema := freshName() // tessera_test_ + 16 hex digits
	schema += strings.Repeat("x", 63-len(schema))
	if len(schema) != 63 {
		t.Fatalf("schema name is %d bytes, want 63", len(schema))
	}
	pgtest.DropOnCleanup(t, d, schema)
	a, _ := tenantWriteNotifies(t, schema, "long")
	ctx := t.Context()
	if _, err := a.GetTenant(ctx, "long"); err != nil {
		t.Errorf("tenant written in the 63-byte schema: %v", err)
	}
}
