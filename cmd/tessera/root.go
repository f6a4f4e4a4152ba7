package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/dotenv"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// streams are the command's standard streams, injectable for tests.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// globals are the flags every command shares.
type globals struct {
	config   string
	dataDir  string
	storeURL string
	pgSchema string
	output   string
	server   string
	streams  streams

	// remote is the admin API directory of --server, once a command
	// opened it: --output json prints its API objects.
	remote *remoteDirectory

	// storeOptions are further options for the store: a test's
	// PostgreSQL statement tracer, which the binary has no flag for.
	storeOptions []sqlstore.Option
}

const (
	databaseFile  = "tessera.db"
	masterKeyFile = "master.key"
)

func newRootCommand(s streams) *cobra.Command {
	return newRoot(&globals{streams: s})
}

// newRoot is the command tree over g, whose flag fields it sets.
func newRoot(g *globals) *cobra.Command {
	s := g.streams
	root := &cobra.Command{
		Use:           "tessera",
		Short:         "Tessera: an OAuth 2.0 / OpenID Connect identity platform",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "text" && g.output != "json" {
				return fmt.Errorf("--output %q: use text or json", g.output)
			}
			if err := applyConfig(cmd, g.config); err != nil {
				return err
			}
			return checkLocalRequired(cmd, g.server != "")
		},
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	defaultDir := os.Getenv("TESSERA_DATA_DIR")
	if defaultDir == "" {
		defaultDir = "tessera-data"
	}
	root.PersistentFlags().StringVar(&g.config, "config", os.Getenv("TESSERA_CONFIG"), "settings file: KEY=VALUE lines with the environment variables' names (TESSERA_STORE=...); flags and the environment take precedence")
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", defaultDir, "data directory: SQLite database, master key, development TLS files (env TESSERA_DATA_DIR)")
	root.PersistentFlags().StringVar(&g.storeURL, "store", os.Getenv("TESSERA_STORE"), "where state lives: empty for SQLite in the data directory, or a postgres:// or mysql:// URL (env TESSERA_STORE)")
	pgSchema := os.Getenv("TESSERA_PG_SCHEMA")
	if pgSchema == "" {
		pgSchema = "public"
	}
	root.PersistentFlags().StringVar(&g.pgSchema, "pg-schema", pgSchema, "PostgreSQL schema holding Tessera's tables (env TESSERA_PG_SCHEMA)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json (with --server, the admin API's objects)")
	root.PersistentFlags().StringVar(&g.server, "server", os.Getenv("TESSERA_SERVER"), "administer a running server's tenant through its admin API, e.g. https://id.example.com/contoso; "+
		"signed in by `tessera login --server URL`, or as an app with TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET (env TESSERA_SERVER)")
	root.AddCommand(newServeCommand(g), newMigrateCommand(g), newTenantCommand(g), newAppCommand(g), newUserCommand(g), newGroupCommand(g), newKeysCommand(g),
		newAuditCommand(g), newLoginCommand(g), newTokenCommand(g), newAccountsCommand(g), newLogoutCommand(g), newVersionCommand(g),
		newBackupCommand(g), newRestoreCommand(g), newHealthcheckCommand())
	root.Version = version()
	root.SetVersionTemplate("tessera {{.Version}}\n")
	refuseUnknownSubcommands(root)
	addMovedCommands(root)
	return root
}

// env is an opened data directory, or a server's admin API (--server),
// which has neither a store nor a master key here.
type env struct {
	store     store.Store
	masterKey token.MasterKey
	keySource keySource
	// admin is what the app, user, keys and audit commands change.
	admin directory
	// operator is the admin core over the store, for what only the
	// operator does (tenants, serve); nil with --server.
	operator *admin.Admin
}

// keySource tells where the master key came from, for messages.
type keySource struct {
	file    string // the key file's path; empty for TESSERA_MASTER_KEY
	created bool   // the file was created by this process
}

func (k keySource) String() string {
	switch {
	case k.file == "":
		return "TESSERA_MASTER_KEY"
	case k.created:
		return "the key file " + k.file + ", created just now because TESSERA_MASTER_KEY is not set"
	}
	return "the key file " + k.file + " (TESSERA_MASTER_KEY is not set)"
}

func (e *env) Close() error {
	if e.store == nil {
		return nil
	}
	return e.store.Close()
}

// openOptions say what a command may do on opening the data directory.
type openOptions struct {
	// operatorOnly refuses --server: the command needs the store itself.
	operatorOnly bool
	// createDir lets a missing data directory be created: serve --dev and
	// migrate only.
	createDir bool
	// devFiles says the command keeps files in the data directory whatever
	// the store (serve --dev: the development CA and certificate).
	devFiles bool
	// integrityCheck bounds SQLite's quick_check of the database before
	// it is used; 0 skips it.
	integrityCheck time.Duration
	// deferIntegrity puts the check off until the store asks for it
	// (serve, which starts at once and checks while it serves), unless a
	// migration is due.
	deferIntegrity bool
	// log receives what the opening changed or could not check.
	log *slog.Logger
	// metrics, when set, times the store's round trips (serve
	// --metrics-addr).
	metrics *metrics.Metrics
}

// defaultIntegrityCheck bounds the integrity check of serve and migrate:
// it reads the whole file, which takes about a second per gigabyte, and a
// start should not wait much longer than that.
const defaultIntegrityCheck = 5 * time.Second

// notices is the logger of admin commands: warnings only, on standard
// error, without the time, which a command's own output does not need.
func (g *globals) notices() *slog.Logger {
	return slog.New(slog.NewTextHandler(g.streams.err, &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// usesDataDir reports whether the command needs the data directory: for
// the SQLite database, the master key file (no TESSERA_MASTER_KEY), or
// development files. A shared store (PostgreSQL, MySQL) with its key in
// the environment needs none.
func (g *globals) usesDataDir(o openOptions) bool {
	return g.isSQLite() || os.Getenv("TESSERA_MASTER_KEY") == "" || o.devFiles
}

// open opens the data directory's database and master key, creating the
// directory only if o allows. TESSERA_MASTER_KEY, when set, replaces the
// key file, so a deployment can keep the key out of the data directory. A
// shared store (PostgreSQL, MySQL) is opened only with the
// key it was set up with: see checkMasterKey.
func (g *globals) open(ctx context.Context, o openOptions) (*env, error) {
	if o.log == nil {
		o.log = g.notices()
	}
	if !g.isSQLite() && !g.isPostgres() && !g.isMySQL() {
		return nil, fmt.Errorf("--store %q: %s", redactURL(g.storeURL), storeForms)
	}
	if g.usesDataDir(o) {
		if err := prepareDataDir(g.dataDir, o.createDir, o.log); err != nil {
			return nil, err
		}
	}
	var mk token.MasterKey
	var src keySource
	if v := os.Getenv("TESSERA_MASTER_KEY"); v != "" {
		k, err := token.ParseMasterKey(v)
		if err != nil {
			return nil, fmt.Errorf("TESSERA_MASTER_KEY: %w", err)
		}
		mk = k
	} else {
		src.file = filepath.Join(g.dataDir, masterKeyFile)
		k, created, err := token.LoadOrCreateMasterKey(src.file)
		if err != nil {
			return nil, err
		}
		if !created {
			restrictFile(src.file, o.log)
		}
		mk, src.created = k, created
	}
	st, err := g.openStore(ctx, o)
	if err != nil {
		return nil, err
	}
	if shared, ok := st.(token.SharedStore); ok {
		if err := checkMasterKey(ctx, shared, mk, src); err != nil {
			return nil, errors.Join(err, st.Close())
		}
	}
	adm := admin.New(st, mk, nil, password.Default()).As(admin.LocalOperator(operatorAccount()))
	return &env{store: st, masterKey: mk, keySource: src, admin: adm, operator: adm}, nil
}

// checkMasterKey refuses a master key other than the one the store was set
// up with (token.MasterKey.CheckSharedStore), saying where the key came
// from and what every instance needs.
func checkMasterKey(ctx context.Context, st token.SharedStore, mk token.MasterKey, src keySource) error {
	err := mk.CheckSharedStore(ctx, st)
	switch {
	case errors.Is(err, token.ErrKeyOpensNoSigningKey):
		return fmt.Errorf("the master key from %s does not open the signing keys already in this store; "+
			"every instance and admin command sharing a store must use the same TESSERA_MASTER_KEY: %w", src, err)
	case errors.Is(err, token.ErrOtherMasterKey):
		return fmt.Errorf("the master key from %s is not the one this store was set up with; "+
			"every instance and admin command sharing a store must use the same TESSERA_MASTER_KEY", src)
	}
	return err
}

// isPostgres reports whether --store names a PostgreSQL database.
func (g *globals) isPostgres() bool {
	return strings.HasPrefix(g.storeURL, "postgres://") || strings.HasPrefix(g.storeURL, "postgresql://")
}

// isMySQL reports whether --store names a MySQL or MariaDB database.
func (g *globals) isMySQL() bool { return strings.HasPrefix(g.storeURL, "mysql://") }

// storeForms says what --store takes.
const storeForms = "use empty (SQLite in the data directory), a postgres:// URL or a mysql:// URL"

// isSQLite reports whether --store names the data directory's SQLite file.
func (g *globals) isSQLite() bool { return g.storeURL == "" || g.storeURL == "sqlite" }

// openStore opens the store --store names (running its migrations).
func (g *globals) openStore(ctx context.Context, o openOptions) (store.Store, error) {
	opts := slices.Clone(g.storeOptions)
	if o.metrics != nil {
		opts = append(opts, sqlstore.WithMetrics(o.metrics))
	}
	switch {
	case g.isSQLite():
		switch {
		case o.integrityCheck > 0 && o.deferIntegrity:
			opts = append(opts, sqlstore.WithDeferredIntegrityCheck(o.integrityCheck, o.log))
		case o.integrityCheck > 0:
			opts = append(opts, sqlstore.WithIntegrityCheck(o.integrityCheck, o.log))
		}
		return sqlstore.OpenSQLite(ctx, filepath.Join(g.dataDir, databaseFile), opts...)
	case g.isPostgres():
		return sqlstore.OpenPostgres(ctx, g.storeURL, append([]sqlstore.Option{sqlstore.WithSchema(g.pgSchema)}, opts...)...)
	case g.isMySQL():
		return sqlstore.OpenMySQL(ctx, g.storeURL, opts...)
	}
	return nil, fmt.Errorf("--store %q: %s", redactURL(g.storeURL), storeForms)
}

// redactURL hides a password in a store URL shown in an error.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return raw
}

// narrowRemote keeps, of the API objects a remote listing printed with
// --output json, those keep accepts: a filter the command applied to
// what it read applies to what it prints.
func (g *globals) narrowRemote(keep func(map[string]any) bool) {
	if g.remote == nil || g.remote.result == nil {
		return
	}
	var items []map[string]any
	if json.Unmarshal(g.remote.result, &items) != nil {
		return
	}
	kept := []map[string]any{}
	for _, it := range items {
		if keep(it) {
			kept = append(kept, it)
		}
	}
	g.remote.result, _ = json.Marshal(kept)
}

// print writes v as JSON with --output json, else the text lines.
func (g *globals) print(v any, text func(w io.Writer)) error {
	if g.output == "json" {
		if g.remote != nil && g.remote.result != nil {
			// The API's own objects, as a script calling it would get them.
			v = g.remote.result
		}
		enc := json.NewEncoder(g.streams.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(g.streams.out)
	return nil
}

func newMigrateCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Create or upgrade the database schema, then exit", Args: cobra.NoArgs}
	cmd.RunE = g.withEnvOptions(openOptions{operatorOnly: true, createDir: true, integrityCheck: defaultIntegrityCheck}, func(ctx context.Context, e *env) error {
		// Opening the store ran the migrations.
		return g.print(map[string]string{"status": "ok"}, func(w io.Writer) { fmt.Fprintln(w, "Database schema is up to date.") })
	})
	return cmd
}

// configFlags maps settings-file keys to the flags they set.
func configFlags() map[string]string {
	return map[string]string{
		"TESSERA_DATA_DIR": "data-dir", "TESSERA_STORE": "store", "TESSERA_PG_SCHEMA": "pg-schema",
		"TESSERA_ADDR": "addr", "TESSERA_PUBLIC_URL": "public-url", "TESSERA_DEFAULT_TENANT": "default-tenant",
		"TESSERA_TRUSTED_PROXIES": "trusted-proxies", "TESSERA_LOG_FORMAT": "log-format", "TESSERA_LOG_LEVEL": "log-level",
		"TESSERA_DRAIN_DELAY": "drain-delay", "TESSERA_SHUTDOWN_TIMEOUT": "shutdown-timeout",
	}
}

// applyConfig reads a settings file and applies each value to its flag,
// unless the flag was given or its environment variable is set: flags
// override the environment, which overrides the file. TESSERA_MASTER_KEY
// in the file reaches the process environment the same way.
func applyConfig(cmd *cobra.Command, path string) error {
	if path == "" {
		return nil
	}
	values, err := dotenv.Read(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	flags := configFlags()
	for key, value := range values {
		if _, set := os.LookupEnv(key); set {
			continue
		}
		if key == "TESSERA_MASTER_KEY" {
			if err := os.Setenv(key, value); err != nil {
				return fmt.Errorf("--config: %w", err)
			}
			continue
		}
		name, ok := flags[key]
		if !ok {
			return fmt.Errorf("--config %s: unknown setting %s", path, key)
		}
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed {
			continue // not a flag of this command, or given on the command line
		}
		if err := f.Value.Set(value); err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, key, err)
		}
	}
	return nil
}

// operatorAccount is the account the CLI runs as, which the audit log
// names as the actor of its changes.
func operatorAccount() string {
	u, err := user.Current()
	if err != nil {
		return os.Getenv("USER")
	}
	return u.Username
}

// localRequired marks a flag required unless the command runs against a
// server (--server), which names the tenant itself.
const localRequired = "tessera_local_required"

func markLocalRequired(cmd *cobra.Command, name string) {
	_ = cmd.Flags().SetAnnotation(name, localRequired, []string{"true"})
}

// checkLocalRequired fails, as cobra does for a required flag, when a flag
// marked by markLocalRequired is missing from a command run on the store.
func checkLocalRequired(cmd *cobra.Command, remote bool) error {
	if remote {
		return nil
	}
	var missing []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[localRequired]; ok && !f.Changed {
			missing = append(missing, `"`+f.Name+`"`)
		}
	})
	if len(missing) > 0 {
		return fmt.Errorf("required flag(s) %s not set", strings.Join(missing, ", "))
	}
	return nil
}
