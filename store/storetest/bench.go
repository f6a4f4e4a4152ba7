package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// BenchRotate measures one refresh rotation (the conditional spend of the
// parent and the insert of its successor, committed) in a backend; each
// iteration advances one chain by a step, as the token endpoint does.
func BenchRotate(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	t := store.Tenant{ID: "bench-tenant", Name: "bench", SigningAlg: "RS256", CreatedAt: now}
	if err := s.CreateTenant(ctx, t); err != nil {
		b.Fatal(err)
	}
	hash := func(i int) []byte {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(i))
		sum := sha256.Sum256(n[:])
		return sum[:]
	}
	fam := store.RefreshFamily{ID: "bench-family", TenantID: t.ID, ClientID: "c", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	grant := store.Grant{ResourceID: "r", Scopes: []string{"read"}, OIDCScopes: []string{"openid", "offline_access"}}
	if err := s.CreateRefreshFamily(ctx, fam, store.RefreshToken{Hash: hash(0), TenantID: t.ID, FamilyID: fam.ID, Generation: 1, Grant: grant, CreatedAt: now, ExpiresAt: fam.ExpiresAt}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		succ := store.RefreshToken{Hash: hash(i + 1), TenantID: t.ID, FamilyID: fam.ID, ParentHash: hash(i), Generation: i + 2, Grant: grant, CreatedAt: now, ExpiresAt: fam.ExpiresAt}
		if err := s.RotateRefreshToken(ctx, t.ID, hash(i), succ, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchRotateParallel is BenchRotate with concurrent callers, each
// advancing its own chain: what a loaded token endpoint does, and where a
// backend's commit batching (or its lack) shows.
func BenchRotateParallel(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	t := store.Tenant{ID: "bench-tenant-p", Name: "benchp", SigningAlg: "RS256", CreatedAt: now}
	if err := s.CreateTenant(ctx, t); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	grant := store.Grant{OIDCScopes: []string{"openid", "offline_access"}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		chain := next.Add(1)
		hash := func(i int) []byte {
			var n [16]byte
			binary.BigEndian.PutUint64(n[:8], uint64(chain))
			binary.BigEndian.PutUint64(n[8:], uint64(i))
			sum := sha256.Sum256(n[:])
			return sum[:]
		}
		fam := store.RefreshFamily{ID: "bench-family-" + strconv.FormatInt(chain, 10), TenantID: t.ID, ClientID: "c", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		if err := s.CreateRefreshFamily(ctx, fam, store.RefreshToken{Hash: hash(0), TenantID: t.ID, FamilyID: fam.ID, Generation: 1, Grant: grant, CreatedAt: now, ExpiresAt: fam.ExpiresAt}); err != nil {
			b.Error(err)
			return
		}
		for i := 0; pb.Next(); i++ {
			succ := store.RefreshToken{Hash: hash(i + 1), TenantID: t.ID, FamilyID: fam.ID, Grant: grant, CreatedAt: now, ExpiresAt: fam.ExpiresAt}
			if err := s.RotateRefreshToken(ctx, t.ID, hash(i), succ, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
