package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identifiers shaped like Entra's: GUIDs, and "uid.utid" home account ids.
const (
	benchEnv    = "login.microsoftonline.com"
	benchTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	benchClient = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
)

func benchHome(i int) string {
	return fmt.Sprintf("%08x-1f2e-4d3c-8b5a-%012x.%s", i, i*7919, benchTenant)
}

func benchQuery(i int) AccessTokenQuery {
	return AccessTokenQuery{Environment: benchEnv, ClientID: benchClient, HomeAccountID: benchHome(i), Realm: benchTenant,
		Scopes: []string{"openid", "profile", "offline_access", "https://graph.example.com/User.Read"}}
}

// benchSignIn is a sign-in response, with tokens of realistic size.
func benchSignIn(i int) Update {
	h := benchHome(i)
	return Update{
		Account: &Account{HomeAccountID: h, Environment: benchEnv, Realm: benchTenant, LocalAccountID: h[:36],
			Username: fmt.Sprintf("user%d@contoso.example", i), AuthorityType: "MSSTS"},
		IDToken:      &IDToken{HomeAccountID: h, Environment: benchEnv, Realm: benchTenant, ClientID: benchClient, Secret: strings.Repeat("i", 900)},
		RefreshToken: &RefreshToken{HomeAccountID: h, Environment: benchEnv, ClientID: benchClient, Secret: strings.Repeat("r", 700)},
		AccessToken: &AccessToken{HomeAccountID: h, Environment: benchEnv, Realm: benchTenant, ClientID: benchClient, Secret: strings.Repeat("a", 1500),
			Target:    "https://graph.example.com/User.Read https://graph.example.com/Mail.Send openid profile",
			ExpiresOn: t0.Add(time.Hour)},
	}
}

// populate returns a cache with n signed-in accounts (account, ID, refresh
// and access token each) and queries for a pre-chosen random sample of them.
func populate(tb testing.TB, n int) (*Cache, []AccessTokenQuery) {
	tb.Helper()
	c := New(WithMaxEntries(n), WithClock(fixedClock()))
	for i := range n {
		mustApply(tb, c, benchSignIn(i))
	}
	r := rand.New(rand.NewPCG(1, 2))
	qs := make([]AccessTokenQuery, 1024)
	for i := range qs {
		qs[i] = benchQuery(r.IntN(n))
	}
	return c, qs
}

func BenchmarkSilentLookup(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			c, qs := populate(b, n)
			runtime.GC() // not the benchmark's: left over from populating
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok, _ := c.AccessToken(ctx, qs[i&1023]); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkSilentLookupParallel shows that readers do not serialize.
func BenchmarkSilentLookupParallel(b *testing.B) {
	ctx := context.Background()
	c, qs := populate(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(1024)
		for pb.Next() {
			if _, ok, _ := c.AccessToken(ctx, qs[i&1023]); !ok {
				b.Error("miss")
				return
			}
			i++
		}
	})
}

// BenchmarkSilentLookupFile measures a hit through file persistence: the
// stat that tells whether another process changed the file.
func BenchmarkSilentLookupFile(b *testing.B) {
	ctx := context.Background()
	for _, encrypted := range []bool{false, true} {
		b.Run(fmt.Sprintf("accounts=1000/encrypted=%v", encrypted), func(b *testing.B) {
			mem, qs := populate(b, 1000)
			data, err := mem.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			var opts []FileOption
			if encrypted {
				opts = append(opts, WithEncryptionKey(newKey(b)))
			}
			f := NewFile(filepath.Join(b.TempDir(), "cache.json"), opts...)
			if _, err := f.Write(ctx, data); err != nil {
				b.Fatal(err)
			}
			c := New(WithPersistence(f), WithClock(fixedClock()))
			if _, ok, err := c.AccessToken(ctx, qs[0]); err != nil || !ok {
				b.Fatalf("first lookup: %v, %v", ok, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok, err := c.AccessToken(ctx, qs[i&1023]); err != nil || !ok {
					b.Fatal("miss", err)
				}
			}
		})
	}
}

// BenchmarkApply is a token refresh in a cache of 1000 accounts, in memory
// and through a file (a read-merge-write of the whole file, with fsync).
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		c, _ := populate(b, 1000)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			mustApply(b, c, benchSignIn(i%1000))
		}
	})
	b.Run("file", func(b *testing.B) {
		mem, _ := populate(b, 1000)
		data, _ := mem.Marshal()
		f := NewFile(filepath.Join(b.TempDir(), "cache.json"))
		if _, err := f.Write(ctx, data); err != nil {
			b.Fatal(err)
		}
		c := New(WithPersistence(f), WithClock(fixedClock()))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			mustApply(b, c, benchSignIn(i%1000))
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	for _, persisted := range []bool{false, true} {
		t.Run(fmt.Sprintf("persisted=%v", persisted), func(t *testing.T) {
			ctx := context.Background()
			opts := []Option{WithClock(fixedClock()), WithMaxEntries(20)}
			if persisted {
				opts = append(opts, WithPersistence(NewFile(filepath.Join(t.TempDir(), "c.json"))))
			}
			c := New(opts...)
			var wg sync.WaitGroup
			deadline := time.Now().Add(300 * time.Millisecond)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; time.Now().Before(deadline); i++ {
						n := (g*7 + i) % 30
						if g%2 == 0 {
							if err := c.Apply(ctx, signIn(n, "a b")); err != nil {
								t.Error(err)
								return
							}
							continue
						}
						if _, _, err := c.AccessToken(ctx, query(n, "a")); err != nil {
							t.Error(err)
							return
						}
						if _, err := c.Accounts(ctx, tEnv, tClient); err != nil {
							t.Error(err)
							return
						}
						if i%10 == 0 {
							if err := c.RemoveAccount(ctx, tEnv, home(n)); err != nil {
								t.Error(err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			accs, _ := c.Accounts(ctx, "", "")
			if len(accs) > 20 {
				t.Errorf("%d accounts, cap is 20", len(accs))
			}
		})
	}
}
