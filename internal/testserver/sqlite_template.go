package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tessera-id/tessera/store/sqlstore"
)

// copyMigrated writes to path a SQLite file with every migration applied,
// copied from a template made once per test binary. Migrating a fresh file
// costs about a third of a second of CPU under the race detector, for each
// of the several hundred stores a test run opens; a copy costs a
// millisecond, and the store opened on it finds no migration due. The
// template sits beside the test binary (go test removes that directory
// after the run), named for the binary's size and time, so a rebuilt
// binary never takes a stale one.
func copyMigrated(ctx context.Context, path string) error {
	template, err := migratedTemplate(ctx)
	if err != nil {
		return err
	}
	src, err := os.Open(template)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		return errors.Join(err, dst.Close())
	}
	return dst.Close()
}

func migratedTemplate(ctx context.Context) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("sqlite template: %w", err)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "", fmt.Errorf("sqlite template: %w", err)
	}
	dir := filepath.Dir(exe)
	template := filepath.Join(dir, fmt.Sprintf(".tessera-migrated-%d-%d.db", fi.Size(), fi.ModTime().UnixNano()))
	if _, err := os.Stat(template); err == nil {
		return template, nil
	}
	// Made in a directory of its own and renamed into place, so that tests
	// running in parallel never copy a half-written template: each may
	// make one, and the last rename wins.
	work, err := os.MkdirTemp(dir, ".tessera-template-")
	if err != nil {
		return "", fmt.Errorf("sqlite template: %w", err)
	}
	defer os.RemoveAll(work)
	made := filepath.Join(work, "tessera.db")
	st, err := sqlstore.OpenSQLite(ctx, made)
	if err != nil {
		return "", fmt.Errorf("sqlite template: %w", err)
	}
	if err := st.Close(); err != nil {
		return "", fmt.Errorf("sqlite template: %w", err)
	}
	// The last connection's close checkpoints the write-ahead log into
	// the file; a log left over would hold part of the schema.
	if fi, err := os.Stat(made + "-wal"); err == nil && fi.Size() > 0 {
		return "", errors.New("sqlite template: the write-ahead log outlived the close")
	}
	if err := os.Rename(made, template); err != nil {
		return "", fmt.Errorf("sqlite template: %w", err)
	}
	return template, nil
}
