package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrCorrupt is the error of OpenSQLite for a database file SQLite finds
// damaged.
var ErrCorrupt = errors.New("database file is corrupt")

// maxCheckErrors bounds what quick_check collects: a few problems are
// enough to refuse the file and to show what is wrong.
const maxCheckErrors = 10

// shownProblems is how many of them an error message quotes.
const shownProblems = 3

// quickCheck runs PRAGMA quick_check on db's file, for at most within.
func quickCheck(ctx context.Context, db *sql.DB, path string, within time.Duration, log *slog.Logger) error {
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	start := time.Now()
	problems, err := quickCheckRows(cctx, db)
	switch {
	case err != nil && ctx.Err() == nil && cctx.Err() != nil:
		if log != nil {
			log.Warn("the database integrity check did not finish in time and was skipped",
				"file", path, "within", within.String(), "elapsed", time.Since(start).Round(time.Millisecond).String())
		}
		return nil
	case err != nil:
		return classifyFile(path, "integrity check", fmt.Errorf("sqlite: integrity check of %s: %w", path, err))
	case len(problems) == 1 && problems[0] == "ok":
		if log != nil {
			// Operators see how long a start-up's check of a large file
			// takes, and when the server stopped paying for it.
			log.Info("the database passed its integrity check", "file", path, "elapsed", time.Since(start).Round(time.Millisecond).String())
		}
		return nil
	}
	return corrupt(path, "PRAGMA quick_check: "+summary(problems))
}

func quickCheckRows(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA quick_check(%d)", maxCheckErrors))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// summary joins the first of quick_check's lines into one, without the "*** in database
// main ***" headings it puts before them.
func summary(problems []string) string {
	var parts []string
	for _, p := range problems {
		for _, line := range strings.Split(p, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "***") {
				parts = append(parts, line)
			}
		}
	}
	switch {
	case len(parts) == 0:
		return "no detail"
	case len(parts) > shownProblems:
		return fmt.Sprintf("%s; and %d more", strings.Join(parts[:shownProblems], "; "), len(parts)-shownProblems)
	}
	return strings.Join(parts, "; ")
}

// corrupt is the error for a damaged file: it names the file and what to
// do, since nothing the server does afterwards can repair it.
func corrupt(path, detail string) error {
	return fmt.Errorf("sqlite: %s: %w (%s); stop every process using it and restore it from a backup, "+
		"or move it aside to start with an empty database", path, ErrCorrupt, detail)
}

// classifyFile turns the driver's answers for a damaged file, or one that is
// not a database at all, met during op into the error naming the file;
// other errors are returned as they are.
func classifyFile(path, op string, err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return corrupt(path, op+": "+e.Error())
		}
	}
	return err
}

// restrictFiles makes the database and its WAL and shared-memory files
// readable by their owner only: they hold password and secret hashes.
// SQLite creates the latter two with the main file's mode, but files left
// by an older release or another tool may be wider.
func restrictFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && p != path {
			continue
		}
		if err == nil && fi.Mode().Perm() != filePerm {
			err = os.Chmod(p, filePerm)
		}
		if err != nil {
			return fmt.Errorf("sqlite: restrict the permissions of %s: %w", p, err)
		}
	}
	return nil
}

// filePerm is the mode of the database files.
const filePerm = 0o600

// createFile creates path with mode 0600 unless it exists, so that SQLite
// opens a file it did not create with its own default mode (0644 less the
// umask).
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return nil
}
