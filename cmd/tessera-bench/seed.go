package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// seedCounts is how much a seed run writes.
type seedCounts struct {
	tenants, apps, users, families, expired int
	// chunk bounds the rows of one kind held in memory, and written in
	// one go, at once.
	chunk int
}

func newSeedCommand(s streams) *cobra.Command {
	var n seedCounts
	var dataDir, storeURL, pgSchema, passwordEnv string
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill a Tessera store with tenants, apps, users and refresh families, in bulk, to measure at scale",
		Long: `Fill a Tessera store (the SQLite database of --data-dir, or --store postgres://… or
mysql://…) with --tenants tenants, each with an EdDSA signing key sealed under the
store's master key (the data directory's master.key, or TESSERA_MASTER_KEY),
--apps apps and --users users spread over them, and one live refresh family per
user up to --families, plus --expired families already past their end (for
measuring the expiry sweep). Every user's password is the one in --password-env,
hashed once. Rows are written many to a statement; a million users and a
million families take 6 to 18 minutes on SQLite on 2 cores. The tokens of seeded families
are random and not kept: they are weight, not credentials for the load.`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		pw := os.Getenv(passwordEnv)
		if pw == "" {
			return fmt.Errorf("--password-env: %s is not set", passwordEnv)
		}
		ctx := cmd.Context()
		st, mk, err := openSeedStore(ctx, dataDir, storeURL, pgSchema)
		if err != nil {
			return err
		}
		defer st.Close()
		start := time.Now()
		if err := seedStore(ctx, st, mk, pw, n, func(what string, done int) {
			fmt.Fprintf(s.err, "%8.1fs  %s: %d\n", time.Since(start).Seconds(), what, done)
		}); err != nil {
			return err
		}
		fmt.Fprintf(s.out, "seeded %d tenants, %d apps, %d users, %d live and %d expired refresh families in %.1fs\n",
			n.tenants, n.apps, n.users, n.families, n.expired, time.Since(start).Seconds())
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "data directory of a SQLite store (its tessera.db and master.key)")
	f.StringVar(&storeURL, "store", "", "a postgres:// or mysql:// store instead; the master key comes from TESSERA_MASTER_KEY")
	f.StringVar(&pgSchema, "pg-schema", "public", "PostgreSQL schema holding Tessera's tables, as tessera serve --pg-schema")
	f.IntVar(&n.tenants, "tenants", 1000, "tenants")
	f.IntVar(&n.apps, "apps", 10_000, "apps, spread over the tenants")
	f.IntVar(&n.users, "users", 1_000_000, "users, spread over the tenants")
	f.IntVar(&n.families, "families", 1_000_000, "live refresh families, one per user (at most --users)")
	f.IntVar(&n.expired, "expired", 0, "refresh families already expired, for the collector to sweep")
	f.IntVar(&n.chunk, "chunk", 50_000, "users or refresh families held in memory and written at once")
	f.StringVar(&passwordEnv, "password-env", "TESSERA_BENCH_PASSWORD", "variable holding the seeded users' password")
	return cmd
}

// bulkStore is the store seed writes to: sqlstore's, for its bulk loader.
type bulkStore interface {
	store.Store
	Seed() sqlstore.Seed
}

func openSeedStore(ctx context.Context, dataDir, storeURL, pgSchema string) (bulkStore, token.MasterKey, error) {
	var mk token.MasterKey
	var err error
	if env := os.Getenv("TESSERA_MASTER_KEY"); env != "" {
		if mk, err = token.ParseMasterKey(env); err != nil {
			return nil, mk, fmt.Errorf("TESSERA_MASTER_KEY: %w", err)
		}
	} else if dataDir != "" {
		raw, err := os.ReadFile(filepath.Join(dataDir, "master.key"))
		if err != nil {
			return nil, mk, fmt.Errorf("read the master key: %w", err)
		}
		if mk, err = token.ParseMasterKey(string(raw)); err != nil {
			return nil, mk, fmt.Errorf("%s: %w", filepath.Join(dataDir, "master.key"), err)
		}
	} else {
		return nil, mk, errors.New("the master key: set TESSERA_MASTER_KEY, or give --data-dir")
	}
	var st bulkStore
	switch {
	case strings.HasPrefix(storeURL, "postgres://"), strings.HasPrefix(storeURL, "postgresql://"):
		st, err = sqlstore.OpenPostgres(ctx, storeURL, sqlstore.WithSchema(pgSchema))
	case strings.HasPrefix(storeURL, "mysql://"):
		st, err = sqlstore.OpenMySQL(ctx, storeURL)
	case storeURL == "" && dataDir != "":
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "tessera.db"))
	default:
		return nil, mk, errors.New("give --data-dir (SQLite) or --store postgres://… or mysql://…")
	}
	if err != nil {
		return nil, mk, err
	}
	if err := sameMasterKey(ctx, st, mk); err != nil {
		return nil, mk, errors.Join(err, st.Close())
	}
	return st, mk, nil
}

// sameMasterKey refuses to seed a shared store under a master key other
// than the one its servers use (token.MasterKey.CheckSharedStore): the
// seeded tenants' signing keys would be sealed with a key no server can
// open. A store no server has opened yet records this key, as a server's
// first start would.
func sameMasterKey(ctx context.Context, st store.Store, mk token.MasterKey) error {
	shared, ok := st.(token.SharedStore)
	if !ok {
		return nil
	}
	if err := mk.CheckSharedStore(ctx, shared); err != nil {
		return fmt.Errorf("TESSERA_MASTER_KEY is not the key this store's servers use: seeded signing keys would not open: %w", err)
	}
	return nil
}

// seedStore writes n's rows, telling progress what it has done.
func seedStore(ctx context.Context, st bulkStore, mk token.MasterKey, pw string, n seedCounts, progress func(string, int)) error {
	if n.tenants < 1 {
		return errors.New("--tenants: at least one")
	}
	if n.chunk < 1 {
		return errors.New("--chunk: at least one")
	}
	if n.families > n.users {
		return fmt.Errorf("--families %d: at most one per user (--users %d)", n.families, n.users)
	}
	seed := st.Seed()
	now := time.Now().UTC().Truncate(time.Millisecond)
	hash, err := password.Hash(pw, password.Default())
	if err != nil {
		return err
	}
	tenants := make([]store.Tenant, n.tenants)
	keys := make([]store.SigningKey, n.tenants)
	for i := range tenants {
		tenants[i] = store.Tenant{ID: ids.New(), Name: fmt.Sprintf("seed-%05d", i), SigningAlg: token.EdDSA, CreatedAt: now}
		if keys[i], err = token.GenerateSigningKey(tenants[i].ID, token.EdDSA, mk, now, store.KeyActive); err != nil {
			return err
		}
	}
	if err := seed.Tenants(ctx, tenants); err != nil {
		return err
	}
	if err := seed.SigningKeys(ctx, keys); err != nil {
		return err
	}
	progress("tenants", n.tenants)
	// App i belongs to tenant i mod tenants; user j to tenant j mod
	// tenants, and its family to an app of that tenant.
	apps := make([]store.App, n.apps)
	for i := range apps {
		t := tenants[i%n.tenants]
		apps[i] = store.App{TenantID: t.ID, ClientID: ids.New(), Name: fmt.Sprintf("Seed app %d", i),
			RedirectURIs: []string{"https://app.example/cb"}, ServicePrincipalID: ids.New(), CreatedAt: now, UpdatedAt: now}
	}
	if err := seed.Apps(ctx, apps); err != nil {
		return err
	}
	progress("apps", n.apps)
	appOf := func(j int) store.App {
		// The apps of user j's tenant are those at tenant + k*tenants.
		t := j % n.tenants
		per := (n.apps - t + n.tenants - 1) / n.tenants
		if per <= 0 {
			return store.App{}
		}
		return apps[t+(j/n.tenants%per)*n.tenants]
	}
	userIDs := make([]string, n.users)
	for from := 0; from < n.users; from += n.chunk {
		users := make([]store.User, 0, n.chunk)
		for j := from; j < min(from+n.chunk, n.users); j++ {
			userIDs[j] = ids.New()
			users = append(users, store.User{ID: userIDs[j], TenantID: tenants[j%n.tenants].ID,
				Username: fmt.Sprintf("user-%07d@seed.test", j), PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
		}
		if err := seed.Users(ctx, users); err != nil {
			return err
		}
		progress("users", min(from+n.chunk, n.users))
	}
	// Family j is user j mod users's, with an app of that user's tenant:
	// the first --families live, the --expired after them over and done
	// with, for the collector.
	grant := store.Grant{OIDCScopes: []string{"openid", "offline_access"}}
	total := n.families + n.expired
	if total > 0 && (n.users == 0 || n.apps == 0) {
		return errors.New("refresh families need --users and --apps")
	}
	for from := 0; from < total; from += n.chunk {
		var fams []store.RefreshFamily
		var firsts []store.RefreshToken
		for j := from; j < min(from+n.chunk, total); j++ {
			u := j % n.users
			app := appOf(u)
			if app.ClientID == "" {
				continue
			}
			end := now.Add(90 * 24 * time.Hour)
			if j >= n.families {
				end = now.Add(-time.Hour)
			}
			fams = append(fams, store.RefreshFamily{ID: ids.New(), TenantID: tenants[u%n.tenants].ID, ClientID: app.ClientID,
				UserID: userIDs[u], SessionID: ids.New(), AuthTime: now.Add(-2 * time.Hour), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: end})
			secret := make([]byte, 32)
			_, _ = rand.Read(secret)
			h := sha256.Sum256(secret)
			firsts = append(firsts, store.RefreshToken{Hash: h[:], Grant: grant, CreatedAt: now.Add(-2 * time.Hour),
				ExpiresAt: earliest(end, now.Add(30*24*time.Hour))})
		}
		if err := seed.RefreshFamilies(ctx, fams, firsts); err != nil {
			return err
		}
		progress("refresh families", min(from+n.chunk, total))
	}
	return nil
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
