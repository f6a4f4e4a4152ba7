package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tessera-id/tessera/client"
	"github.com/tessera-id/tessera/client/cache"
)

// BenchmarkAcquireTokenSilent measures the silent path that serves a
// cached token (the one every API call of a Go program goes through) with
// 1, 1,000 and 100,000 accounts in the cache: it must stay flat.
func BenchmarkAcquireTokenSilent(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": "https://" + r.Host + "/t/v2.0",
			"token_endpoint": "https://" + r.Host + "/t/oauth2/v2.0/token", "authorization_endpoint": "https://" + r.Host + "/t/oauth2/v2.0/authorize"})
	}))
	defer srv.Close()
	env := srv.Listener.Addr().String()
	for _, n := range []int{1, 1000, 100000} {
		b.Run("accounts="+strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			c := cache.New(cache.WithMaxEntries(0))
			now := time.Now()
			accounts := make([]client.Account, n)
			for i := range accounts {
				home := fmt.Sprintf("uid%d.tid", i)
				accounts[i] = client.Account{HomeAccountID: home, Environment: env, TenantID: "tid", Username: fmt.Sprintf("user%d", i)}
				err := c.Apply(ctx, cache.Update{
					Account: &cache.Account{HomeAccountID: home, Environment: env, Realm: "tid", Username: accounts[i].Username},
					AccessToken: &cache.AccessToken{HomeAccountID: home, Environment: env, Realm: "tid", ClientID: "app", Secret: "at" + home,
						Target: "api://files/Files.Read openid profile", TokenType: "Bearer", CachedAt: now, ExpiresOn: now.Add(time.Hour), ExtendedExpiresOn: now.Add(time.Hour)},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			app, err := client.NewPublic("app", srv.URL+"/t", client.WithCache(c))
			if err != nil {
				b.Fatal(err)
			}
			scopes := []string{"api://files/Files.Read"}
			if _, err := app.AcquireTokenSilent(ctx, accounts[0], scopes); err != nil {
				b.Fatal(err)
			}
			// one: the same account every time (what one user's program
			// does); spread: a different account each time (a server acting
			// for many users), where main memory, not the algorithm, is the
			// cost once the cache outgrows the CPU's caches.
			b.Run("one", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if r, err := app.AcquireTokenSilent(ctx, accounts[n/2], scopes); err != nil || !r.FromCache {
						b.Fatal(err)
					}
				}
			})
			b.Run("spread", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if r, err := app.AcquireTokenSilent(ctx, accounts[(i*7919)%n], scopes); err != nil || !r.FromCache {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
