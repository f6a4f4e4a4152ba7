package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/client"
	"github.com/tessera-id/tessera/client/cache"
	"github.com/tessera-id/tessera/internal/dotenv"
	"github.com/tessera-id/tessera/internal/qrterm"
)

// clientFlags are what the client commands share: which authority and
// app, which cache, which CA to trust.
type clientFlags struct {
	authority string
	clientID  string
	cacheFile string
	plain     bool
	caFile    string
	envFile   string
	scopes    []string
}

func (f *clientFlags) register(cmd *cobra.Command, withScopes bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.authority, "authority", os.Getenv("TESSERA_AUTHORITY"), "authority URL, e.g. https://localhost:8443/demo (env TESSERA_AUTHORITY; default: the last login's)")
	fl.StringVar(&f.clientID, "client-id", os.Getenv("TESSERA_CLIENT_ID"), "application (client) id (env TESSERA_CLIENT_ID; default: the last login's)")
	fl.StringVar(&f.cacheFile, "cache", os.Getenv("TESSERA_CACHE"), "token cache file (default: in the user cache directory)")
	fl.BoolVar(&f.plain, "cache-plain", false, "keep the cache file unencrypted (MSAL's plain JSON, to share with MSAL apps)")
	fl.StringVar(&f.caFile, "ca-file", os.Getenv("TESSERA_CA_FILE"), "extra CA certificate to trust (PEM), e.g. tessera-data/ca.pem")
	fl.StringVar(&f.envFile, "env-file", ".env", "dotenv file to read secret variables from, if it exists (a variable set in the environment wins)")
	if withScopes {
		fl.StringSliceVar(&f.scopes, "scopes", nil, "scopes, space- or comma-separated (e.g. api://files/Files.Read)")
	}
}

// profile remembers the last login, so `tessera token` needs no flags.
type profile struct {
	Authority  string `json:"authority"`
	ClientID   string `json:"client_id"`
	CacheFile  string `json:"cache,omitempty"`
	CachePlain bool   `json:"cache_plain,omitempty"`
	// CAFile is the --ca-file of the login, an absolute path, trusted for
	// the same authority later.
	CAFile string `json:"ca_file,omitempty"`
}

func profilePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("user config directory: %w", err)
	}
	return filepath.Join(dir, "tessera", "cli.json"), nil
}

func loadProfile() profile {
	var p profile
	if path, err := profilePath(); err == nil {
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &p)
		}
	}
	return p
}

func saveProfile(p profile) error {
	path, err := profilePath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return os.WriteFile(path, b, 0o600)
}

// resolve fills the flags from the profile and checks them.
func (f *clientFlags) resolve() error {
	p := loadProfile()
	if f.authority == "" {
		f.authority = p.Authority
	}
	if f.clientID == "" {
		f.clientID = p.ClientID
	}
	if f.cacheFile == "" {
		// The login's cache, in the login's format: a plain cache shared
		// with MSAL apps must stay plain.
		f.cacheFile = p.CacheFile
		f.plain = f.plain || p.CachePlain
	}
	if f.caFile == "" && f.authority == p.Authority {
		// The login's CA for the login's authority only: another server
		// gets no extra trust from it.
		f.caFile = p.CAFile
	}
	if f.authority == "" || f.clientID == "" {
		return errors.New("--authority and --client-id are required (or run `tessera login` first)")
	}
	var scopes []string
	for _, s := range f.scopes {
		scopes = append(scopes, strings.Fields(s)...)
	}
	f.scopes = scopes
	return nil
}

// lookup reads a variable from the environment, then from the dotenv
// file: as with the dotenv package, a variable that is really set wins
// over the file, so a deployment can override a developer's .env.
func (f *clientFlags) lookup(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	if vars, err := dotenv.Read(f.envFile); err == nil {
		if v, ok := vars[name]; ok {
			return v, true
		}
	}
	return "", false
}

func (f *clientFlags) httpClient() (*http.Client, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	if f.caFile == "" {
		return hc, nil
	}
	pem, err := os.ReadFile(f.caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", f.caFile)
	}
	hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment}
	return hc, nil
}

// tokenCache opens the persistent cache: in the user cache directory and
// encrypted by default, with its key in the user config directory (or
// TESSERA_CACHE_KEY).
func (f *clientFlags) tokenCache(warn io.Writer) (*cache.Cache, error) {
	path := f.cacheFile
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("user cache directory: %w", err)
		}
		path = filepath.Join(dir, "tessera", "token_cache.bin")
	}
	var fileOpts []cache.FileOption
	if !f.plain {
		key, ok, err := cache.EncryptionKeyFromEnv("TESSERA_CACHE_KEY")
		if err != nil {
			return nil, err
		}
		if !ok {
			dir, err := os.UserConfigDir()
			if err != nil {
				return nil, fmt.Errorf("user config directory: %w", err)
			}
			if key, err = cache.EncryptionKeyFromFile(filepath.Join(dir, "tessera", "cache.key")); err != nil {
				return nil, err
			}
		}
		fileOpts = append(fileOpts, cache.WithEncryptionKey(key))
	}
	return cache.New(cache.WithPersistence(cache.NewFile(path, fileOpts...)),
		cache.WithWarnings(func(err error) { fmt.Fprintln(warn, "tessera: warning:", err) })), nil
}

func (f *clientFlags) publicApp(s streams) (*client.PublicApp, error) {
	hc, err := f.httpClient()
	if err != nil {
		return nil, err
	}
	c, err := f.tokenCache(s.err)
	if err != nil {
		return nil, err
	}
	return client.NewPublic(f.clientID, f.authority, client.WithHTTPClient(hc), client.WithCache(c), client.WithBrowser(func(u string) error {
		// Print the URL too: on a machine without a desktop the user opens
		// it elsewhere, or a script drives it.
		fmt.Fprintf(s.err, "Opening the browser to sign in. If it does not open, visit:\n%s\n", u)
		if err := client.OpenSystemBrowser(u); err != nil {
			fmt.Fprintln(s.err, "tessera: could not open a browser:", err)
		}
		return nil
	}))
}

// cachedApp is a public app for what the cache alone answers (accounts,
// sign-out): no HTTP client, so neither the server nor the CA file is
// needed.
func (f *clientFlags) cachedApp(s streams) (*client.PublicApp, error) {
	c, err := f.tokenCache(s.err)
	if err != nil {
		return nil, err
	}
	return client.NewPublic(f.clientID, f.authority, client.WithCache(c))
}

// confidential builds a confidential app from a secret variable or a
// certificate and key; secrets are never taken as plain flags.
func (f *clientFlags) confidentialApp(s streams, secretEnv, certFile, keyFile string) (*client.ConfidentialApp, error) {
	var cred client.Credential
	switch {
	case secretEnv != "" && certFile != "":
		return nil, errors.New("use either --client-secret-env or --certificate, not both")
	case secretEnv != "":
		v, ok := f.lookup(secretEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("--client-secret-env: %s is not set (in the environment or %s)", secretEnv, f.envFile)
		}
		cred = client.SecretCredential(v)
	case certFile != "":
		if keyFile == "" {
			return nil, errors.New("--certificate needs --key")
		}
		certPEM, err := os.ReadFile(certFile)
		if err != nil {
			return nil, fmt.Errorf("--certificate: %w", err)
		}
		keyPEM, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		cert, key, err := client.ParseCertificateKey(certPEM, keyPEM)
		if err != nil {
			return nil, err
		}
		if cred, err = client.CertificateCredential(cert, key); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("a confidential client needs --client-secret-env VAR or --certificate FILE --key FILE")
	}
	hc, err := f.httpClient()
	if err != nil {
		return nil, err
	}
	c, err := f.tokenCache(s.err)
	if err != nil {
		return nil, err
	}
	return client.NewConfidential(f.clientID, f.authority, cred, client.WithHTTPClient(hc), client.WithCache(c))
}

type resultJSON struct {
	AccessToken   string         `json:"access_token"`
	TokenType     string         `json:"token_type"`
	ExpiresOn     time.Time      `json:"expires_on"`
	Scopes        []string       `json:"scopes"`
	IDToken       string         `json:"id_token,omitempty"`
	IDTokenClaims map[string]any `json:"id_token_claims,omitempty"`
	Account       *acctJSON      `json:"account,omitempty"`
	FromCache     bool           `json:"from_cache"`
}

type acctJSON struct {
	HomeAccountID string `json:"home_account_id"`
	Username      string `json:"username"`
	Name          string `json:"name,omitempty"`
	TenantID      string `json:"tenant_id"`
	Environment   string `json:"environment"`
}

func toAcctJSON(a client.Account) *acctJSON {
	return &acctJSON{HomeAccountID: a.HomeAccountID, Username: a.Username, Name: a.Name, TenantID: a.TenantID, Environment: a.Environment}
}

func (g *globals) printResult(r client.Result, asJSON bool) error {
	if !asJSON && g.output != "json" {
		fmt.Fprintln(g.streams.out, r.AccessToken)
		return nil
	}
	out := resultJSON{AccessToken: r.AccessToken, TokenType: r.TokenType, ExpiresOn: r.ExpiresOn, Scopes: r.Scopes, IDToken: r.IDToken, FromCache: r.FromCache}
	if r.IDTokenClaims != nil {
		out.IDTokenClaims = r.IDTokenClaims.Raw
	}
	if !r.Account.IsZero() {
		out.Account = toAcctJSON(r.Account)
	}
	enc := json.NewEncoder(g.streams.out)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func newLoginCommand(g *globals) *cobra.Command {
	var f clientFlags
	var device bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in (browser, or --device for a device code) and cache the tokens",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if g.server != "" {
			// An administrator's sign-in for the remote admin commands:
			// the tenant's built-in CLI app, asking for the admin API.
			if !cmd.Flags().Changed("authority") {
				f.authority = strings.TrimRight(g.server, "/")
			}
			if !cmd.Flags().Changed("client-id") {
				f.clientID = admin.CLIClientID
			}
			if len(f.scopes) == 0 {
				f.scopes = []string{admin.AdminAPIIdentifier + "/.default"}
			}
		}
		if err := f.resolve(); err != nil {
			return err
		}
		// The files are remembered with absolute paths, so that `tessera
		// token` finds them from any directory.
		for _, p := range []*string{&f.caFile, &f.cacheFile} {
			if *p == "" {
				continue
			}
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
		app, err := f.publicApp(g.streams)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		var res client.Result
		if device {
			res, err = app.AcquireTokenByDeviceCode(ctx, f.scopes, func(_ context.Context, dc client.DeviceCode) error {
				fmt.Fprintln(g.streams.err, dc.Message)
				target := dc.VerificationURIComplete
				if target == "" {
					target = dc.VerificationURI
				}
				return qrterm.Write(g.streams.err, target)
			})
		} else {
			res, err = app.AcquireTokenInteractive(ctx, f.scopes)
		}
		if err != nil && !device {
			var ce *client.Error
			if !errors.As(err, &ce) {
				err = fmt.Errorf("%w\n(no browser here? use `tessera login --device`)", err)
			}
		}
		if err != nil {
			return err
		}
		if err := saveProfile(profile{Authority: f.authority, ClientID: f.clientID, CacheFile: f.cacheFile, CachePlain: f.plain, CAFile: f.caFile}); err != nil {
			fmt.Fprintln(g.streams.err, "tessera: warning: could not remember the login:", err)
		}
		fmt.Fprintf(g.streams.err, "Signed in as %s.\n", accountName(res.Account))
		if g.output == "json" {
			return g.printResult(res, true)
		}
		return nil
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&device, "device", false, "use the device code flow: print a code and a QR code to open elsewhere")
	return cmd
}

func newTokenCommand(g *globals) *cobra.Command {
	var f clientFlags
	var account string
	var asJSON, forceRefresh bool
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a valid access token from the cache, refreshing it silently",
		Long:  "Print a valid access token from the cache, refreshing it silently.\nUse it as: curl -H \"Authorization: Bearer $(tessera token --scopes api://files/Files.Read)\" ...",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := f.resolve(); err != nil {
			return err
		}
		app, err := f.publicApp(g.streams)
		if err != nil {
			return err
		}
		acct, err := pickAccount(cmd.Context(), app, account)
		if err != nil {
			return err
		}
		var opts []client.TokenOption
		if forceRefresh {
			opts = append(opts, client.WithForceRefresh())
		}
		res, err := app.AcquireTokenSilent(cmd.Context(), acct, f.scopes, opts...)
		if err != nil {
			if errors.Is(err, client.ErrInteractionRequired) {
				return fmt.Errorf("%w\nrun `tessera login` to sign in again", err)
			}
			return err
		}
		return g.printResult(res, asJSON)
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&account, "account", "", "username or home account id (default: the only signed-in account)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON (with the ID token's claims when there is one)")
	cmd.Flags().BoolVar(&forceRefresh, "force-refresh", false, "redeem the refresh token even if the cached access token is fresh")
	cmd.AddCommand(newTokenRefreshCommand(g), newTokenClientCredentialsCommand(g), newTokenOBOCommand(g))
	return cmd
}

// accountName is how messages name an account: its username, or its home
// account id when the server named no user.
func accountName(a client.Account) string {
	if a.Username != "" {
		return a.Username
	}
	return a.HomeAccountID
}

func pickAccount(ctx context.Context, app *client.PublicApp, name string) (client.Account, error) {
	if name != "" {
		acct, ok, err := app.Account(ctx, name)
		if err != nil {
			return client.Account{}, err
		}
		if !ok {
			return client.Account{}, fmt.Errorf("no signed-in account %q; run `tessera accounts`", name)
		}
		return acct, nil
	}
	list, err := app.Accounts(ctx)
	if err != nil {
		return client.Account{}, err
	}
	switch len(list) {
	case 0:
		return client.Account{}, errors.New("nobody is signed in; run `tessera login`")
	case 1:
		return list[0], nil
	}
	var names []string
	for _, a := range list {
		names = append(names, accountName(a))
	}
	return client.Account{}, fmt.Errorf("several accounts are signed in (%s); choose one with --account", strings.Join(names, ", "))
}

func newTokenRefreshCommand(g *globals) *cobra.Command {
	var f clientFlags
	var rt, rtEnv, secretEnv, certFile, keyFile string
	var asJSON bool
	cmd := &cobra.Command{Use: "refresh", Short: "Redeem a refresh token obtained elsewhere and cache the result", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := f.resolve(); err != nil {
			return err
		}
		if rtEnv != "" {
			v, ok := f.lookup(rtEnv)
			if !ok {
				return fmt.Errorf("--refresh-token-env: %s is not set", rtEnv)
			}
			rt = v
		}
		if rt == "-" {
			b, err := io.ReadAll(io.LimitReader(g.streams.in, 16<<10))
			if err != nil {
				return err
			}
			rt = strings.TrimSpace(string(b))
		}
		if rt == "" {
			return errors.New("give the refresh token with --refresh-token (- for standard input) or --refresh-token-env")
		}
		var res client.Result
		var err error
		if secretEnv != "" || certFile != "" {
			app, e := f.confidentialApp(g.streams, secretEnv, certFile, keyFile)
			if e != nil {
				return e
			}
			res, err = app.AcquireTokenByRefreshToken(cmd.Context(), rt, f.scopes)
		} else {
			app, e := f.publicApp(g.streams)
			if e != nil {
				return e
			}
			res, err = app.AcquireTokenByRefreshToken(cmd.Context(), rt, f.scopes)
		}
		if err != nil {
			return err
		}
		return g.printResult(res, asJSON)
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&rt, "refresh-token", "", "the refresh token (- reads it from standard input)")
	cmd.Flags().StringVar(&rtEnv, "refresh-token-env", "", "read the refresh token from this variable")
	cmd.Flags().StringVar(&secretEnv, "client-secret-env", "", "for a confidential client: variable holding the client secret")
	cmd.Flags().StringVar(&certFile, "certificate", "", "for a confidential client: certificate (PEM)")
	cmd.Flags().StringVar(&keyFile, "key", "", "private key of --certificate (PEM)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON")
	return cmd
}

func newTokenClientCredentialsCommand(g *globals) *cobra.Command {
	var f clientFlags
	var secretEnv, certFile, keyFile string
	var asJSON bool
	cmd := &cobra.Command{Use: "client-credentials", Short: "Get a token for the app itself (scope {resource}/.default)", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := f.resolve(); err != nil {
			return err
		}
		app, err := f.confidentialApp(g.streams, secretEnv, certFile, keyFile)
		if err != nil {
			return err
		}
		res, err := app.AcquireTokenByClientCredential(cmd.Context(), f.scopes)
		if err != nil {
			return err
		}
		return g.printResult(res, asJSON)
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&secretEnv, "client-secret-env", "", "variable holding the client secret (from the environment or --env-file)")
	cmd.Flags().StringVar(&certFile, "certificate", "", "certificate (PEM) registered for the app")
	cmd.Flags().StringVar(&keyFile, "key", "", "private key of --certificate (PEM)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON")
	return cmd
}

func newTokenOBOCommand(g *globals) *cobra.Command {
	var f clientFlags
	var assertion, secretEnv, certFile, keyFile string
	var asJSON bool
	cmd := &cobra.Command{Use: "obo", Short: "Exchange a user's token for a downstream API's (on-behalf-of)", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := f.resolve(); err != nil {
			return err
		}
		if assertion == "-" {
			b, err := io.ReadAll(io.LimitReader(g.streams.in, 64<<10))
			if err != nil {
				return err
			}
			assertion = strings.TrimSpace(string(b))
		}
		if assertion == "" {
			return errors.New("--assertion is required (- reads it from standard input)")
		}
		app, err := f.confidentialApp(g.streams, secretEnv, certFile, keyFile)
		if err != nil {
			return err
		}
		res, err := app.AcquireTokenOnBehalfOf(cmd.Context(), assertion, f.scopes)
		if err != nil {
			return err
		}
		return g.printResult(res, asJSON)
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&assertion, "assertion", "", "the incoming access token (- reads it from standard input)")
	cmd.Flags().StringVar(&secretEnv, "client-secret-env", "", "variable holding the client secret")
	cmd.Flags().StringVar(&certFile, "certificate", "", "certificate (PEM) registered for the app")
	cmd.Flags().StringVar(&keyFile, "key", "", "private key of --certificate (PEM)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON")
	return cmd
}

func newAccountsCommand(g *globals) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "accounts", Short: "List the accounts signed in through `tessera login`", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := f.resolve(); err != nil {
			return err
		}
		app, err := f.cachedApp(g.streams)
		if err != nil {
			return err
		}
		list, err := app.Accounts(cmd.Context())
		if err != nil {
			return err
		}
		out := make([]*acctJSON, 0, len(list))
		for _, a := range list {
			out = append(out, toAcctJSON(a))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tHOME ACCOUNT ID\tTENANT")
			for _, a := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Username, a.HomeAccountID, a.TenantID)
			}
			tw.Flush()
		})
	}
	f.register(cmd, false)
	return cmd
}

func newLogoutCommand(g *globals) *cobra.Command {
	var f clientFlags
	var account string
	var all bool
	cmd := &cobra.Command{Use: "logout", Short: "Remove an account and its tokens from the cache (--all for every account)", Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := f.resolve(); err != nil {
			return err
		}
		app, err := f.cachedApp(g.streams)
		if err != nil {
			return err
		}
		var targets []client.Account
		if all {
			if targets, err = app.Accounts(cmd.Context()); err != nil {
				return err
			}
		} else {
			acct, err := pickAccount(cmd.Context(), app, account)
			if err != nil {
				return err
			}
			targets = []client.Account{acct}
		}
		for _, a := range targets {
			if err := app.RemoveAccount(cmd.Context(), a); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.err, "Signed out %s.\n", accountName(a))
		}
		return nil
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&account, "account", "", "username or home account id")
	cmd.Flags().BoolVar(&all, "all", false, "sign out every account")
	return cmd
}
