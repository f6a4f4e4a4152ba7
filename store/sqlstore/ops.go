package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// ErrNotMigrated is Ready's answer for a schema older than this release's
// migrations make it: a database restored from an older backup, or one a
// newer instance has not finished migrating.
var ErrNotMigrated = errors.New("the database schema lacks this release's migrations")

// LatestMigration is the number of the last migration this release
// embeds for engine ("sqlite", "postgres" or "mysql").
func LatestMigration(engine string) (int64, error) {
	var fsys fs.FS
	switch engine {
	case "sqlite":
		fsys = sqliteMigrations
	case "postgres":
		fsys = postgresMigrations
	case "mysql":
		fsys = mysqlMigrations
	default:
		return 0, fmt.Errorf("sqlstore: no migrations for engine %q", engine)
	}
	dir := path.Join("migrations", engine)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: list migrations: %w", err)
	}
	var latest int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(num, 10, 64); err == nil && n > latest {
			latest = n
		}
	}
	return latest, nil
}

// SchemaVersion is the last migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	return schemaVersion(ctx, s.r)
}

func schemaVersion(ctx context.Context, db *sql.DB) (int64, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	return v.Int64, nil
}

// Ready reports whether the database answers (one indexed read through
// the reader pool, bounded by ctx) and carries every migration this
// release embeds (ErrNotMigrated otherwise).
func (s *Store) Ready(ctx context.Context) error {
	latest, err := LatestMigration(s.d.name())
	if err != nil {
		return err
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.d.name(), err)
	}
	if v < latest {
		return fmt.Errorf("%s: schema at migration %d, this release needs %d: %w", s.d.name(), v, latest, ErrNotMigrated)
	}
	return nil
}

// ResealSigningKeys replaces, in one transaction, the sealed private key
// of every signing key (whatever its status) with what reseal returns for
// it, the sealed secret of every second factor that has one (TOTP keys)
// with what resealFactor returns (when it is not nil), and, when check is
// not nil, the master key check value (the shared engines'
// master_key_check row): a master-key rotation is all or nothing. It
// returns how many keys and secrets it resealed.
func (s *Store) ResealSigningKeys(ctx context.Context, reseal func(store.SigningKey) ([]byte, error), resealFactor func(store.Factor) ([]byte, error), check []byte) (int, error) {
	var n int
	err := s.tx(ctx, func(c conn) error {
		n = 0
		rows, err := c.query(ctx, `SELECT `+keyCols+` FROM signing_keys ORDER BY tenant_id, id`+s.d.forUpdate())
		if err != nil {
			return err
		}
		var keys []store.SigningKey
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, k := range keys {
			sealed, err := reseal(k)
			if err != nil {
				return err
			}
			if _, err := c.exec(ctx, `UPDATE signing_keys SET private_key = $1 WHERE tenant_id = $2 AND id = $3`,
				sealed, k.TenantID, k.ID); err != nil {
				return err
			}
			n++
		}
		if resealFactor != nil {
			m, err := resealFactors(ctx, s, c, resealFactor)
			if err != nil {
				return err
			}
			n += m
		}
		if check != nil {
			res, err := c.exec(ctx, `UPDATE master_key_check SET value = $1`, check)
			if err != nil {
				return err
			}
			if m, err := res.RowsAffected(); err == nil && m == 0 {
				if _, err := c.exec(ctx, `INSERT INTO master_key_check (value) VALUES ($1)`, check); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, s.wrap("reseal signing keys", err)
}

// Backup writes a consistent copy of the database to path (which must not
// exist) with VACUUM INTO, while this and other processes go on reading
// and writing: it reads one snapshot, as any WAL reader does, so writers
// are not held up. The copy is written under a temporary name, checked
// (quick_check) and then renamed, so a file at path is always complete.
func (s *SQLite) Backup(ctx context.Context, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists; name a new file", to)
	}
	tmp := filepath.Join(filepath.Dir(to), "."+filepath.Base(to)+".partial")
	_ = os.Remove(tmp)
	defer os.Remove(tmp)
	// On the writer's connection: VACUUM writes, if only to another
	// file, which the readers' query_only refuses. It runs as a read
	// transaction of the source, so this process's writes wait meanwhile;
	// the server's, in another process, do not.
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", to, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := CheckSQLiteFile(ctx, tmp); err != nil {
		return fmt.Errorf("sqlite: backup: the copy failed its check: %w", err)
	}
	if err := os.Link(tmp, to); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if d, err := os.Open(filepath.Dir(to)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// CheckSQLiteFile opens the SQLite file at path read-only and checks that
// it is whole (quick_check) and a Tessera store: its schema carries
// migrations, no later than this release knows.
func CheckSQLiteFile(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Not corrupt()'s message: that one is for the live database, and
	// this file is a copy on its way in or out.
	problems, err := quickCheckRows(ctx, db)
	if err != nil {
		if errors.Is(classifyFile(path, "check", err), ErrCorrupt) {
			return fmt.Errorf("sqlite: %s is damaged or not an SQLite database: %w (%v)", path, ErrCorrupt, err)
		}
		return fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("sqlite: %s is damaged: %w (PRAGMA quick_check: %s)", path, ErrCorrupt, summary(problems))
	}
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("sqlite: %s is not a Tessera database: %w", path, err)
	}
	latest, err := LatestMigration("sqlite")
	if err != nil {
		return err
	}
	if v < 1 {
		return fmt.Errorf("sqlite: %s has no migrations applied", path)
	}
	if v > latest {
		return fmt.Errorf("sqlite: %s is at migration %d, newer than this release's %d: restore it with the release that made it", path, v, latest)
	}
	return nil
}

// resealFactors reseals, inside the rotation's transaction, the secret of
// every factor that has one.
func resealFactors(ctx context.Context, s *Store, c conn, reseal func(store.Factor) ([]byte, error)) (int, error) {
	rows, err := c.query(ctx, `SELECT `+factorCols+` FROM factors WHERE secret IS NOT NULL ORDER BY tenant_id, id`+s.d.forUpdate())
	if err != nil {
		return 0, err
	}
	var fs []store.Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		fs = append(fs, f)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	for _, f := range fs {
		sealed, err := reseal(f)
		if err != nil {
			return 0, err
		}
		if _, err := c.exec(ctx, `UPDATE factors SET secret = $1 WHERE tenant_id = $2 AND id = $3`, sealed, f.TenantID, f.ID); err != nil {
			return 0, err
		}
	}
	return len(fs), nil
}
