package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/pgtest"
	"github.com/tessera-id/tessera/store"
)

// The longest schema name WithSchema accepts (63 bytes) still takes
// directory writes, and the change still reaches a listener: the channel
// name is derived from a digest of the schema, not the schema itself,
// because PostgreSQL rejects channel names of 64 bytes or more.
func TestLongSchemaNotifies(t *testing.T) {
	d := dsn(t)
	schema := freshName() // tessera_test_ + 16 hex digits
	schema += strings.Repeat("x", 63-len(schema))
	if len(schema) != 63 {
		t.Fatalf("schema name is %d bytes, want 63", len(schema))
	}
	pgtest.DropOnCleanup(t, d, schema)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, b := open(t, schema), open(t, schema)
	changes := a.Changes(ctx)
	select { // the initial signal after subscribing
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no initial signal")
	}
	if err := b.CreateTenant(ctx, store.Tenant{ID: "t-long", Name: "long", SigningAlg: "RS256", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("a directory write in a 63-byte schema: %v", err)
	}
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("a tenant created in a 63-byte schema was not notified")
	}
	if _, err := a.GetTenant(ctx, "long"); err != nil {
		t.Errorf("tenant written in the 63-byte schema: %v", err)
	}
}
