package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// migrationDirs are where each engine's migrations live in the tree.
var migrationDirs = []string{"store/sqlstore/migrations/sqlite", "store/sqlstore/migrations/postgres", "store/sqlstore/migrations/mysql"}

// git runs git in the repository and returns its output.
func git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		t.Skipf("git %s: %v (the upgrade test needs the repository's history)", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// migrationsAt lists each engine's migration files at commit.
func migrationsAt(t *testing.T, commit string) [][]string {
	t.Helper()
	var sets [][]string
	for _, dir := range migrationDirs {
		out, err := exec.Command("git", "ls-tree", "--full-tree", "--name-only", commit+":"+dir).Output()
		if err != nil {
			sets = append(sets, nil)
			continue
		}
		names := strings.Fields(string(out))
		slices.Sort(names)
		sets = append(sets, names)
	}
	return sets
}

// previousRelease is the newest first-parent ancestor of HEAD whose
// migrations are a proper prefix of HEAD's, for every engine: the last
// build before HEAD's newest migration landed, which that migration must
// not break (migrations stay backward compatible for one release). A
// commit that only renumbered or reworded a migration is passed over:
// its set is not a prefix. Tags are not used: the repository has none,
// and this choice follows from the migrations themselves.
func previousRelease(t *testing.T) string {
	t.Helper()
	head := migrationsAt(t, "HEAD")
	for _, c := range strings.Fields(git(t, "rev-list", "--first-parent", "--max-count=2000", "HEAD")) {
		sets := migrationsAt(t, c)
		prefix, shorter := true, false
		for i, names := range sets {
			if len(names) == 0 || len(names) > len(head[i]) || !slices.Equal(names, head[i][:len(names)]) {
				prefix = false
				break
			}
			shorter = shorter || len(names) < len(head[i])
		}
		if prefix && shorter {
			return c
		}
	}
	t.Skip("no earlier commit has a prefix of HEAD's migrations")
	return ""
}

// The previous release's binary, built from git, serves on a store the
// current binary migrated (issuing tokens and rotating the refresh tokens
// the current one issued), and the current binary goes on with what the
// previous one issued: what a rolling upgrade on a shared database does,
// one instance at a time. It builds a second binary, so it runs only with
// TESSERA_TEST_UPGRADE=1 (.ci/run sets it).
func TestPreviousReleaseOnMigratedSchema(t *testing.T) {
	if os.Getenv("TESSERA_TEST_UPGRADE") != "1" {
		t.Skip("builds the previous release from git (about a minute); set TESSERA_TEST_UPGRADE=1 to run it")
	}
	opsEnv(t)
	prev := previousRelease(t)
	t.Logf("previous release: %s", git(t, "log", "-1", "--format=%h %s", prev))

	// The previous release's source, from git, built with this module
	// cache and build cache.
	src := t.TempDir()
	archive := exec.Command("git", "archive", "--format=tar", prev)
	archive.Dir = git(t, "rev-parse", "--show-toplevel") // not only this directory
	untar := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v", prev, err)
	}
	if err := untar.Wait(); err != nil {
		t.Fatal(err)
	}
	oldBin := filepath.Join(t.TempDir(), "tessera-previous")
	start := time.Now()
	build := exec.Command("go", "build", "-o", oldBin, "./cmd/tessera")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release: %v\n%s", err, out)
	}
	t.Logf("built the previous release in %s", time.Since(start).Round(time.Second))

	t.Run("sqlite", func(t *testing.T) { upgradeSQLite(t, oldBin) })
	t.Run("postgres", func(t *testing.T) { upgradePostgres(t, oldBin) })
}

// upgradeSQLite: one instance, stopped and started with the other build.
func upgradeSQLite(t *testing.T, oldBin string) {
	// The current binary creates and migrates the store and issues a
	// refresh token.
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	d := demoOf(t, srv, dataDir)
	rt := d.refreshToken(t)["refresh_token"].(string)
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// The previous release on the migrated schema.
	old := startBinary(t, oldBin, dataDir)
	do := d.withServer(old)
	do.clientCredentials(t)
	status, m, err := do.refresh(rt)
	if err != nil || status != http.StatusOK {
		t.Fatalf("the previous release refreshing the current one's token: %d %v %v\n%s", status, m, err, old.stderr)
	}
	rt = m["refresh_token"].(string)
	rtOld := do.refreshToken(t)["refresh_token"].(string)
	if err := old.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// And back: the current binary takes over what the previous issued.
	srv = startServer(t, dataDir)
	dc := d.withServer(srv)
	for _, tok := range []string{rt, rtOld} {
		if status, m, err := dc.refresh(tok); err != nil || status != http.StatusOK {
			t.Fatalf("the current release refreshing the previous one's token: %d %v %v", status, m, err)
		}
	}
}

// upgradePostgres: the two builds serving one PostgreSQL store at once, as
// during a rolling upgrade: each rotates the refresh token the other
// issued.
func upgradePostgres(t *testing.T, oldBin string) {
	if os.Getenv("TESSERA_TEST_POSTGRES") == "" {
		t.Skip("TESSERA_TEST_POSTGRES is not set")
	}
	dsn, schema := pgSchema(t)
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	store := []string{"--store", dsn, "--pg-schema", schema}
	newDir, oldDir := filepath.Join(t.TempDir(), "new"), filepath.Join(t.TempDir(), "old")
	cur := startServer(t, newDir, store...)
	d := demoOf(t, cur, newDir)
	old := startBinary(t, oldBin, oldDir, store...)
	do := d.withServer(old)
	do.c = trustingClient(t, oldDir)

	rt := d.refreshToken(t)["refresh_token"].(string)
	for i := range 4 {
		via := d
		if i%2 == 0 {
			via = do
		}
		status, m, err := via.refresh(rt)
		if err != nil || status != http.StatusOK {
			t.Fatalf("refresh %d (on the %s build): %d %v %v", i, map[bool]string{true: "previous", false: "current"}[i%2 == 0], status, m, err)
		}
		rt = m["refresh_token"].(string)
	}
	do.clientCredentials(t)
	d.clientCredentials(t)
}
