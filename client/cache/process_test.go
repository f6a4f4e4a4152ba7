package cache

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// These tests run real processes: the test binary re-executed in a helper
// role chosen by environment variables.
const (
	helperEnv = "TESSERA_CACHE_TEST_HELPER"
	pathEnv   = "TESSERA_CACHE_TEST_PATH"
	keyEnv    = "TESSERA_CACHE_TEST_KEY"
	prefixEnv = "TESSERA_CACHE_TEST_PREFIX"
	perWriter = 50
)

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("helper process for other tests")
	}
	ctx := context.Background()
	path := os.Getenv(pathEnv)
	switch role {
	case "lock":
		if _, err := NewFile(path).Lock(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour) // until killed
	case "apply":
		key, ok, err := EncryptionKeyFromEnv(keyEnv)
		if err != nil || !ok {
			fmt.Fprintln(os.Stderr, "key:", ok, err)
			os.Exit(2)
		}
		c := New(WithPersistence(NewFile(path, WithEncryptionKey(key))))
		prefix := os.Getenv(prefixEnv)
		for i := range perWriter {
			h := prefix + strconv.Itoa(i)
			err := c.Apply(ctx, Update{RefreshToken: &RefreshToken{HomeAccountID: h, Environment: tEnv, ClientID: tClient, Secret: "rt-" + h}})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			// Read as well, to interleave reloads with the other writer's
			// saves.
			if _, ok, err := c.RefreshToken(ctx, tEnv, tClient, h, ""); err != nil || !ok {
				fmt.Fprintln(os.Stderr, "own token missing:", ok, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(0)
}

func helper(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + role}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "shared.json")
	key := newKey(t)
	keyB64 := base64.StdEncoding.EncodeToString(key)
	var cmds []*exec.Cmd
	for _, prefix := range []string{"a-", "b-"} {
		cmd := helper(t, "apply", pathEnv+"="+path, keyEnv+"="+keyB64, prefixEnv+"="+prefix)
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer failed: %v", err)
		}
	}
	ctx := context.Background()
	c := New(WithPersistence(NewFile(path, WithEncryptionKey(key))))
	missing := 0
	for _, prefix := range []string{"a-", "b-"} {
		for i := range perWriter {
			h := prefix + strconv.Itoa(i)
			rt, ok, err := c.RefreshToken(ctx, tEnv, tClient, h, "")
			if err != nil {
				t.Fatal(err)
			}
			if !ok || rt.Secret != "rt-"+h {
				missing++
			}
		}
	}
	if missing != 0 || c.Len() != 2*perWriter {
		t.Fatalf("%d of %d refresh tokens lost; Len = %d", missing, 2*perWriter, c.Len())
	}
}

func TestKilledLockHolderLeavesNoStaleLock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "cache.json")
	cmd := helper(t, "lock", pathEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	f := NewFile(path)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.Lock(ctx); err == nil {
		t.Fatal("got the lock while the helper holds it")
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	_ = cmd.Wait()
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := f.Lock(ctx)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	defer unlock()
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v to get the lock back", d)
	}
}
