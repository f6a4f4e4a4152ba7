package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/bench"
	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// newMFAUsersCommand makes the accounts the login_totp scenario signs in
// with: users of an existing tenant, each with an authenticator app whose
// secret derives from a key the generator is given too (bench.TOTPSecret),
// sealed under the store's master key as the server seals secrets.
func newMFAUsersCommand(s streams) *cobra.Command {
	var dataDir, storeURL, pgSchema, tenant, prefix, passwordEnv, keyEnv string
	var users int
	cmd := &cobra.Command{
		Use:   "mfa-users",
		Short: "Create users with an authenticator app in a tenant, for the login_totp scenario",
		Long: `Create --users users named --prefix00000, --prefix00001, … in --tenant, with the
password in --password-env and an authenticator app (TOTP) each, whose secret
derives from the key in --totp-key-env and the username: give the generator
the same key. The secrets are sealed under the store's master key, as the
server seals them. Bench tenants only: whoever has the key has every code.`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		pw, key := os.Getenv(passwordEnv), os.Getenv(keyEnv)
		if pw == "" || key == "" {
			return fmt.Errorf("--password-env %s and --totp-key-env %s must both be set", passwordEnv, keyEnv)
		}
		ctx := cmd.Context()
		st, mk, err := openSeedStore(ctx, dataDir, storeURL, pgSchema)
		if err != nil {
			return err
		}
		defer st.Close()
		t, err := st.GetTenant(ctx, tenant)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
		hash, err := password.Hash(pw, password.Default())
		if err != nil {
			return err
		}
		sealer := token.NewFactorSealer(mk)
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := range users {
			name := bench.TOTPUsername(prefix, i)
			u := store.User{ID: ids.New(), TenantID: t.ID, Username: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			if err := st.CreateUser(ctx, u); err != nil {
				return fmt.Errorf("user %s: %w", name, err)
			}
			f := store.Factor{ID: ids.New(), TenantID: t.ID, UserID: u.ID, Kind: store.FactorTOTP, Name: "Bench", CreatedAt: now}
			f.Secret = sealer.Seal(t.ID, f.ID, []byte(bench.TOTPSecret(key, name)))
			if err := st.AddFactor(ctx, f, nil); err != nil {
				return fmt.Errorf("factor of %s: %w", name, err)
			}
		}
		fmt.Fprintf(s.out, "created %d users with an authenticator app in tenant %s\n", users, t.Name)
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "data directory of a SQLite store (its tessera.db and master.key)")
	f.StringVar(&storeURL, "store", "", "a postgres:// or mysql:// store instead; the master key comes from TESSERA_MASTER_KEY")
	f.StringVar(&pgSchema, "pg-schema", "public", "PostgreSQL schema holding Tessera's tables")
	f.StringVar(&tenant, "tenant", "", "tenant name or id")
	f.IntVar(&users, "users", 64, "users to create")
	f.StringVar(&prefix, "prefix", "mfa-user-", "username prefix")
	f.StringVar(&passwordEnv, "password-env", "TESSERA_BENCH_PASSWORD", "variable holding the users' password")
	f.StringVar(&keyEnv, "totp-key-env", "TESSERA_BENCH_TOTP_KEY", "variable holding the key the TOTP secrets derive from")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}
