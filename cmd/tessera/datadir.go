package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// The data directory holds the database (password and secret hashes), the
// master key and the development CA's key: only its owner may read it,
// whatever the umask.
const (
	dataDirPerm = 0o700
	secretPerm  = 0o600
)

// prepareDataDir makes sure dir exists, creating it only when create is
// set (serve --dev, migrate): an admin command pointed at a mistyped path
// must not start an empty directory of its own. A directory wider than
// 0700, as an older release made it, is narrowed and the change logged.
func prepareDataDir(dir string, create bool, log *slog.Logger) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		if err := os.MkdirAll(dir, dataDirPerm); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		// MkdirAll's mode is filtered by the umask, which may also take
		// the owner's bits.
		if err := os.Chmod(dir, dataDirPerm); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data directory %s does not exist (create it with \"tessera serve --dev --data-dir %[1]s\" or \"tessera migrate --data-dir %[1]s\")", dir)
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	restrict(dir, fi.Mode().Perm(), dataDirPerm, log)
	return nil
}

// restrictFile narrows an existing secret file to 0600.
func restrictFile(path string, log *slog.Logger) {
	if fi, err := os.Stat(path); err == nil {
		restrict(path, fi.Mode().Perm(), secretPerm, log)
	}
}

// restrict changes path's mode from have to want if have grants more, and
// says so. A failure (a directory someone else owns) is a warning, not a
// reason to stop: the process may still use what it can read.
func restrict(path string, have, want fs.FileMode, log *slog.Logger) {
	if have&^want == 0 {
		return
	}
	if err := os.Chmod(path, want); err != nil {
		log.Warn("could not restrict the permissions of a file only its owner should read", "path", path,
			"mode", fmt.Sprintf("%04o", have), "want", fmt.Sprintf("%04o", want), "err", err)
		return
	}
	log.Warn("restricted the permissions of a file only its owner should read", "path", path,
		"was", fmt.Sprintf("%04o", have), "now", fmt.Sprintf("%04o", want))
}
