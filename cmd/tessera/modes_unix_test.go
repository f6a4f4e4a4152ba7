//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The data directory is 0700 and the database and master key 0600
// whatever the umask, and a directory or files wider than that, as older
// releases made them, are narrowed on the next start, which says so. Not
// parallel: the umask is the process's.
func TestDataDirModes(t *testing.T) {
	unsetEnv(t, "TESSERA_STORE")
	unsetEnv(t, "TESSERA_MASTER_KEY")
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := filepath.Join(t.TempDir(), "tessera-data")
	if _, _, err := runErr(t, 30*time.Second, dir, "migrate"); err != nil {
		t.Fatal(err)
	}
	checkModes := func(when string) {
		t.Helper()
		want := map[string]os.FileMode{dir: 0o700, filepath.Join(dir, databaseFile): 0o600, filepath.Join(dir, masterKeyFile): 0o600}
		for _, suffix := range []string{"-wal", "-shm"} {
			if p := filepath.Join(dir, databaseFile+suffix); fileExists(p) {
				want[p] = 0o600
			}
		}
		for p, mode := range want {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got := fi.Mode().Perm(); got != mode {
				t.Errorf("%s: %s has mode %04o, want %04o", when, p, got, mode)
			}
		}
	}
	checkModes("created with umask 0")

	for p, mode := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, databaseFile): 0o644, filepath.Join(dir, masterKeyFile): 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, err := runErr(t, 30*time.Second, dir, "tenant", "list")
	if err != nil {
		t.Fatal(err)
	}
	checkModes("after a start on wider modes")
	if !strings.Contains(stderr, "restricted the permissions") || !strings.Contains(stderr, "path="+dir+" ") || !strings.Contains(stderr, "was=0755") {
		t.Errorf("the narrowing of the data directory was not reported:\n%s", stderr)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
