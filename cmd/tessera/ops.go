package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// The operator's commands for a running deployment: backup, restore,
// master-key rotation and the container's health check. docs/operations.md
// says when to use each.

// noBackupHint says where shared stores are backed up instead.
const noBackupHint = "back up PostgreSQL with pg_dump and MariaDB or MySQL with mariadb-dump, as docs/operations.md (Backup and restore) shows"

func newBackupCommand(g *globals) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Copy the SQLite database to FILE while the server runs",
		Long: `Copy the data directory's SQLite database to FILE, consistently, while
the server goes on serving (SQLite's VACUUM INTO reads one snapshot and does
not hold up writers). The copy is checked before it is named FILE.

The backup does not hold the master key, without which its signing keys do
not open: keep the key (master.key or TESSERA_MASTER_KEY) safe, apart from
the backups.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&to, "to", "", "the backup file to create (must not exist)")
	_ = cmd.MarkFlagRequired("to")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !g.isSQLite() {
			return fmt.Errorf("tessera backup copies the SQLite store only: %s", noBackupHint)
		}
		if g.server != "" {
			return errors.New("tessera backup runs where the data directory is, without --server")
		}
		to, err := filepath.Abs(to)
		if err != nil {
			return err
		}
		e, err := g.open(cmd.Context(), openOptions{operatorOnly: true})
		if err != nil {
			return err
		}
		defer e.Close()
		b, ok := e.store.(interface {
			Backup(ctx context.Context, to string) error
		})
		if !ok {
			return fmt.Errorf("this store cannot be backed up by tessera: %s", noBackupHint)
		}
		start := time.Now()
		if err := b.Backup(cmd.Context(), to); err != nil {
			return err
		}
		return g.print(map[string]string{"status": "ok", "file": to}, func(w io.Writer) {
			fmt.Fprintf(w, "Backed up to %s in %s.\n", to, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(w, "Keep the master key (%s) apart from it: without the key the backup's signing keys do not open.\n", e.keySource)
		})
	}
	return cmd
}

func newRestoreCommand(g *globals) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "restore --from FILE",
		Short: "Replace the stopped data directory's SQLite database with a backup",
		Long: `Replace the data directory's SQLite database with FILE, made by tessera
backup. The server must be stopped: restore refuses while one holds the data
directory. FILE is checked first (a whole SQLite file, a Tessera store with
its migrations applied, signing keys the data directory's master key opens);
the database it replaces is kept beside it as tessera.db.before-restore-TIME.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup file")
	_ = cmd.MarkFlagRequired("from")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !g.isSQLite() {
			return fmt.Errorf("tessera restore restores the SQLite store only: %s", noBackupHint)
		}
		if g.server != "" {
			return errors.New("tessera restore runs where the data directory is, without --server")
		}
		kept, err := restore(cmd.Context(), g, from)
		if err != nil {
			return err
		}
		return g.print(map[string]string{"status": "ok", "previous": kept}, func(w io.Writer) {
			fmt.Fprintf(w, "Restored %s from %s.\n", filepath.Join(g.dataDir, databaseFile), from)
			if kept != "" {
				fmt.Fprintf(w, "The database it replaced is kept as %s.\n", kept)
			}
		})
	}
	return cmd
}

// restore checks the backup on a copy in the data directory, then swaps
// the copy in, keeping the replaced files aside; it returns the name the
// replaced database was kept under ("" when there was none).
func restore(ctx context.Context, g *globals, from string) (string, error) {
	if err := prepareDataDir(g.dataDir, false, g.notices()); err != nil {
		return "", err
	}
	release, err := lockDataDir(g.dataDir, true)
	if errors.Is(err, errServerRunning) {
		return "", fmt.Errorf("%w (%s): stop it before restoring", err, g.dataDir)
	}
	if err != nil {
		return "", err
	}
	defer release()
	if err := sqlstore.CheckSQLiteFile(ctx, from); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	mk, err := existingMasterKey(g.dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("restore: %s has no %s and TESSERA_MASTER_KEY is not set: put the master key the backup was made under there first", g.dataDir, masterKeyFile)
	}
	if err != nil {
		return "", err
	}
	target := filepath.Join(g.dataDir, databaseFile)
	staged := target + ".restoring"
	removeDB(staged)
	if err := copyFile(from, staged); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			removeDB(staged)
		}
	}()
	// Opening brings an older backup's schema up to date, as the server
	// would on start.
	st, err := sqlstore.OpenSQLite(ctx, staged)
	if err != nil {
		return "", fmt.Errorf("restore: open the backup: %w", err)
	}
	err = opensEverySigningKey(ctx, st, mk)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("restore: close the backup: %w", cerr)
	}
	if err != nil {
		return "", fmt.Errorf("restore: the data directory's master key does not open the backup's signing keys "+
			"(restore the master key the backup was made with first): %w", err)
	}
	var kept string
	if _, err := os.Stat(target); err == nil {
		kept = target + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(target+suffix, kept+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("restore: keep the current database aside: %w", err)
			}
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(staged+suffix, target+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("restore: %w", err)
		}
	}
	ok = true
	syncDir(g.dataDir)
	return kept, nil
}

// existingMasterKey is the data directory's master key (or
// TESSERA_MASTER_KEY), never a new one: a restore into a directory
// without the key has nothing that could open the backup.
func existingMasterKey(dataDir string) (token.MasterKey, error) {
	if v := os.Getenv("TESSERA_MASTER_KEY"); v != "" {
		k, err := token.ParseMasterKey(v)
		if err != nil {
			return token.MasterKey{}, fmt.Errorf("TESSERA_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	return readKeyFile(filepath.Join(dataDir, masterKeyFile))
}

func readKeyFile(path string) (token.MasterKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return token.MasterKey{}, fmt.Errorf("read the master key: %w", err)
	}
	defer clear(b)
	k, err := token.ParseMasterKey(string(b))
	if err != nil {
		return token.MasterKey{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// opensEverySigningKey checks that mk opens every tenant's signing keys.
func opensEverySigningKey(ctx context.Context, st store.Store, mk token.MasterKey) error {
	tenants, err := st.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		keys, err := st.ListSigningKeys(ctx, t.ID, time.Now())
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !mk.Opens(k) {
				return fmt.Errorf("signing key %s of tenant %s does not open", k.ID, t.Name)
			}
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, secretPerm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func newRotateMasterCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-master",
		Short: "Reseal every signing key under a new master key",
		Long: `Reseal every tenant's signing keys (and a shared store's master key check)
under a new master key, in one transaction.

With the key in the data directory (master.key), the new key is generated,
written as master.key, and the old one kept as master.key.old: keep that as
long as you keep backups made before the rotation. With TESSERA_MASTER_KEY,
give the new key in TESSERA_NEW_MASTER_KEY (e.g. openssl rand -base64 32)
and then set it as TESSERA_MASTER_KEY everywhere.

A running server on the key file keeps working: it keeps the signing keys
it opened and opens the others with the new file. Restart it to use the new
key for the rest (refresh-token successors, sign-in state, portal cookies).
docs/operations.md has the steps for several instances.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.server != "" {
				return errors.New("tessera keys rotate-master runs where the store is, without --server")
			}
			return rotateMaster(cmd.Context(), g)
		},
	}
}

func rotateMaster(ctx context.Context, g *globals) error {
	fromEnv := os.Getenv("TESSERA_MASTER_KEY") != ""
	keyPath := filepath.Join(g.dataDir, masterKeyFile)
	newPath, oldPath := keyPath+".new", keyPath+".old"
	var newKey token.MasterKey
	if fromEnv {
		v := os.Getenv("TESSERA_NEW_MASTER_KEY")
		if v == "" {
			return errors.New("the master key comes from TESSERA_MASTER_KEY: set TESSERA_NEW_MASTER_KEY to the new key " +
				"(32 random bytes in base64, e.g. openssl rand -base64 32), run again, then set that key as TESSERA_MASTER_KEY everywhere")
		}
		k, err := token.ParseMasterKey(v)
		if err != nil {
			return fmt.Errorf("TESSERA_NEW_MASTER_KEY: %w", err)
		}
		newKey = k
	} else {
		if _, err := os.Stat(oldPath); err == nil {
			return fmt.Errorf("%s is there from an earlier rotation: it opens the backups made before that one; "+
				"move it where those backups are kept, then run again", oldPath)
		}
		// master.key.new survives an interrupted rotation; its key is
		// used again, so that keys it already resealed still open.
		k, _, err := token.LoadOrCreateMasterKey(newPath)
		if err != nil {
			return err
		}
		newKey = k
	}
	oldKey, err := existingMasterKey(g.dataDir)
	if err != nil {
		return err
	}
	if oldKey == newKey {
		return errors.New("the new master key is the current one")
	}
	st, err := g.openStore(ctx, openOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	rs, ok := st.(interface {
		ResealSigningKeys(ctx context.Context, reseal func(store.SigningKey) ([]byte, error), resealFactor func(store.Factor) ([]byte, error), check []byte) (int, error)
	})
	if !ok {
		return errors.New("this store cannot reseal its signing keys")
	}
	var check []byte
	if shared, ok := st.(token.SharedStore); ok {
		// The store must be on the old key, or already on the new one
		// (an interrupted rotation run again).
		if err := checkMasterKey(ctx, shared, oldKey, keySource{file: keyPath}); err != nil {
			if newKey.CheckSharedStore(ctx, shared) != nil {
				return err
			}
		}
		check = newKey.StoreCheck()
	}
	resealer := token.NewResealer(oldKey, newKey)
	n, err := rs.ResealSigningKeys(ctx, resealer.Reseal, resealer.ResealFactor, check)
	if err != nil {
		return err
	}
	if err := opensEverySigningKey(ctx, st, newKey); err != nil {
		return fmt.Errorf("after resealing: %w", err)
	}
	if !fromEnv {
		// The old key is linked to master.key.old before the new one
		// takes its name, so that at every moment one of the files holds
		// each key.
		if err := os.Link(keyPath, oldPath); err != nil {
			return fmt.Errorf("keep the old master key: %w", err)
		}
		if err := os.Rename(newPath, keyPath); err != nil {
			return fmt.Errorf("install the new master key: %w", err)
		}
		syncDir(g.dataDir)
	}
	return g.print(map[string]any{"status": "rotated", "signing_keys": n}, func(w io.Writer) {
		fmt.Fprintf(w, "Resealed %d signing keys under the new master key.\n", n)
		if fromEnv {
			fmt.Fprintln(w, "Set TESSERA_NEW_MASTER_KEY's value as TESSERA_MASTER_KEY for every instance and admin command, and restart them.")
		} else {
			fmt.Fprintf(w, "The new key is %s; the old one is kept as %s for the backups made before now.\n", keyPath, oldPath)
			fmt.Fprintln(w, "A running server goes on signing; restart it to use the new key for everything else (docs/operations.md).")
		}
	})
}

func newHealthcheckCommand() *cobra.Command {
	var target string
	var within time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if the server's /readyz answers 200 (for a container's HEALTHCHECK)",
		Long: `GET the readiness URL and exit 0 on 200, 1 otherwise: the container image's
HEALTHCHECK, which has no curl. TLS certificates are verified except for a
loopback address, where the server's own name may not match.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return healthcheck(cmd.Context(), target, within)
		},
	}
	cmd.Flags().StringVar(&target, "url", envOr("TESSERA_HEALTHCHECK_URL", "http://127.0.0.1:8443/readyz"), "readiness URL (env TESSERA_HEALTHCHECK_URL)")
	cmd.Flags().DurationVar(&within, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

func healthcheck(ctx context.Context, target string, within time.Duration) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: use http:// or https://HOST:PORT/readyz", target)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		// The certificate names the public host, not the loopback
		// address the check dials from inside the container.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback only
	}
	client := &http.Client{Transport: tr, Timeout: within}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s: %s", resp.Status, body)
	}
	return nil
}
