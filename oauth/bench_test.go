package oauth_test

import (
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store/readcache"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// BenchmarkClientCredentials is a whole client-credentials grant without
// HTTP: client authentication (SHA-256 of the secret, constant-time
// compare), scope resolution, roles, and the signature, with the directory
// served from the read cache as serve runs it. Compare with
// token.BenchmarkSign to see what the grant adds to the signature.
func BenchmarkClientCredentials(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			raw, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			st := readcache.NewVersioned(raw, raw, time.Minute, 10*time.Millisecond)
			mk := token.NewMasterKey()
			adm := admin.New(st, mk, nil, password.Params{Memory: 64, Time: 1, Threads: 1})
			t, err := adm.CreateTenant(ctx, "bench", alg)
			if err != nil {
				b.Fatal(err)
			}
			app, err := adm.RegisterApp(ctx, t, admin.RegisterOptions{Name: "daemon"})
			if err != nil {
				b.Fatal(err)
			}
			secret, _, err := adm.AddSecret(ctx, app, "bench", time.Now().Add(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			p := oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: st, Keys: token.NewKeyring(st, mk, nil),
				Successor: token.NewSuccessors(mk).Derive, Logger: slog.New(slog.DiscardHandler), DummyPasswordHash: password.Dummy()})
			ep, e := p.Endpoint(ctx, "https://localhost:8443", "bench")
			if e != nil {
				b.Fatal(e)
			}
			params, e := oauth.NewParams(url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
				"client_secret": {secret}, "scope": {app.ClientID + "/.default"}})
			if e != nil {
				b.Fatal(e)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, e := p.Token(ctx, ep, oauth.TokenRequest{Params: params}); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
