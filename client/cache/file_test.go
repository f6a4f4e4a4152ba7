package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

type warnings struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnings) add(err error) { w.mu.Lock(); w.errs = append(w.errs, err); w.mu.Unlock() }

func (w *warnings) get() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

func TestFileRoundTrip(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		name := "plain"
		if encrypted {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "sub", "dir", "cache.json")
			var opts []FileOption
			if encrypted {
				opts = append(opts, WithEncryptionKey(newKey(t)))
			}
			a := New(WithPersistence(NewFile(path, opts...)), WithClock(fixedClock()))
			b := New(WithPersistence(NewFile(path, opts...)), WithClock(fixedClock()))
			mustApply(t, a, signIn(1, "api.read"))

			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if encrypted {
				if !bytes.HasPrefix(raw, []byte(encMagic)) || bytes.Contains(raw, []byte("rt-1")) {
					t.Errorf("file is not encrypted: %q", raw)
				}
			} else if !bytes.HasPrefix(raw, []byte(`{"Account":{`)) {
				t.Errorf("file is not MSAL JSON: %s", raw)
			}
			if runtime.GOOS != "windows" {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
					t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
				}
				if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
					t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
				}
			}

			// b sees a's write, then a sees b's.
			if got := atSecret(t, b, query(1, "api.read")); got != "at-1-api.read" {
				t.Fatalf("second cache read %q", got)
			}
			mustApply(t, b, signIn(2, "api.read"))
			if got := atSecret(t, a, query(2, "api.read")); got != "at-2-api.read" {
				t.Fatalf("first cache did not reload: %q", got)
			}
			if a.Len() != 8 {
				t.Errorf("Len = %d, want 8", a.Len())
			}
			if err := a.RemoveAccount(ctx, tEnv, home(1)); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := b.Account(ctx, tEnv, home(1)); ok {
				t.Error("removal not seen by the other cache")
			}
			// A fresh cache starts from the file.
			c := New(WithPersistence(NewFile(path, opts...)))
			if rt, ok, err := c.RefreshToken(ctx, tEnv, tClient, home(2), ""); err != nil || !ok || rt.Secret != "rt-2" {
				t.Errorf("fresh cache: %+v, %v, %v", rt, ok, err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 { // cache.json, cache.json.lock
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v; temporary files left behind?", names)
			}
		})
	}
}

func TestFileWrongKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache.json")
	mustApply(t, New(WithPersistence(NewFile(path, WithEncryptionKey(newKey(t))))), signIn(1, "a"))

	for name, f := range map[string]*File{
		"other key": NewFile(path, WithEncryptionKey(newKey(t))),
		"no key":    NewFile(path),
	} {
		t.Run(name, func(t *testing.T) {
			var w warnings
			c := New(WithPersistence(f), WithWarnings(w.add))
			_, _, err := c.AccessToken(ctx, query(1, "a"))
			if !errors.Is(err, ErrWrongKey) {
				t.Fatalf("lookup error = %v, want ErrWrongKey", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "key") {
				t.Errorf("error does not say what is wrong: %v", err)
			}
			if err := c.Apply(ctx, signIn(2, "a")); !errors.Is(err, ErrWrongKey) {
				t.Errorf("Apply error = %v, want ErrWrongKey (and no overwrite)", err)
			}
			if len(w.get()) != 0 {
				t.Errorf("warnings: %v", w.get())
			}
		})
	}
	// The data is intact for the right key... which we no longer have, so
	// check it is still encrypted and was not moved.
	raw, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(raw, []byte(encMagic)) {
		t.Errorf("file after wrong-key attempts: %v", err)
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 0 {
		t.Errorf("a wrong key made the file be moved aside: %v", m)
	}
	if _, _, err := NewFile(path, WithEncryptionKey([]byte("short"))).Read(ctx); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestFileMigratesPlainToEncrypted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "msal.json")
	if err := os.WriteFile(path, readFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	c := New(WithPersistence(NewFile(path, WithEncryptionKey(key))), WithClock(func() time.Time { return time.Unix(1700000100, 0) }))
	if _, ok, err := c.RefreshToken(ctx, nodeEnv, nodeClient, nodeHome, ""); err != nil || !ok {
		t.Fatalf("reading the plain MSAL file with a key set: %v, %v", ok, err)
	}
	mustApply(t, c, Update{AppMetadata: &AppMetadata{Environment: nodeEnv, ClientID: "another-app"}})
	raw, _ := os.ReadFile(path)
	if !bytes.HasPrefix(raw, []byte(encMagic)) {
		t.Fatal("the next write did not encrypt the file")
	}
	plain, _, err := NewFile(path, WithEncryptionKey(key)).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Everything MSAL Node wrote is still there.
	d := New()
	if err := d.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if d.Len() != 4 || !bytes.Contains(plain, []byte(`"last_modification_app":"MSAL.Node"`)) {
		t.Errorf("migrated contents: %s", plain)
	}
}

func TestFileCorrupt(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	tamper := func(t *testing.T, path string) {
		raw, _ := os.ReadFile(path)
		raw[len(raw)-1] ^= 1
		os.WriteFile(path, raw, 0o600)
	}
	truncate := func(t *testing.T, path string) {
		raw, _ := os.ReadFile(path)
		os.WriteFile(path, raw[:headerLen+3], 0o600)
	}
	tests := []struct {
		name    string
		key     []byte
		corrupt func(t *testing.T, path string)
		says    string
	}{
		{"invalid JSON", nil, func(t *testing.T, path string) { os.WriteFile(path, []byte(`{"AccessToken":{"k":`), 0o600) }, "JSON"},
		{"not an object", nil, func(t *testing.T, path string) { os.WriteFile(path, []byte(`["x"]`), 0o600) }, "not a JSON object"},
		{"bad ciphertext", key, tamper, "does not authenticate"},
		{"truncated ciphertext", key, truncate, "truncated"},
	}
	for _, tt := range tests {
		for _, firstOp := range []string{"lookup", "apply"} {
			t.Run(tt.name+"/"+firstOp, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "cache.json")
				var opts []FileOption
				if tt.key != nil {
					opts = append(opts, WithEncryptionKey(tt.key))
				}
				mustApply(t, New(WithPersistence(NewFile(path, opts...)), WithClock(fixedClock())), signIn(1, "a"))
				tt.corrupt(t, path)
				bad, _ := os.ReadFile(path)

				var w warnings
				c := New(WithPersistence(NewFile(path, opts...)), WithWarnings(w.add), WithClock(fixedClock()))
				switch firstOp {
				case "lookup":
					if _, ok, err := c.AccessToken(ctx, query(1, "a")); err != nil || ok {
						t.Fatalf("lookup on a corrupt file = %v, %v; want a miss", ok, err)
					}
				case "apply":
					mustApply(t, c, signIn(2, "a"))
				}
				ws := w.get()
				if len(ws) != 1 {
					t.Fatalf("warnings = %v, want one", ws)
				}
				msg := ws[0].Error()
				if !errors.Is(ws[0], ErrCorrupt) || !strings.Contains(msg, path) || !strings.Contains(msg, tt.says) {
					t.Errorf("warning %q should be ErrCorrupt and name %s and %q", msg, path, tt.says)
				}
				aside, _ := filepath.Glob(path + ".corrupt-*")
				if len(aside) != 1 {
					t.Fatalf("moved-aside files: %v", aside)
				}
				if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, bad) {
					t.Error("the corrupt data was not kept as it was")
				}
				if !strings.Contains(msg, aside[0]) {
					t.Errorf("warning %q does not say where the file went", msg)
				}
				// And the cache goes on working, without warning again.
				mustApply(t, c, signIn(3, "a"))
				if got := atSecret(t, c, query(3, "a")); got == "" {
					t.Error("cache unusable after recovering")
				}
				if got := atSecret(t, New(WithPersistence(NewFile(path, opts...))), query(3, "a")); got == "" {
					t.Error("recovered cache was not written")
				}
				if n := len(w.get()); n != 1 {
					t.Errorf("%d warnings, want 1", n)
				}
			})
		}
	}
}

func TestFileVersion(t *testing.T) {
	ctx := context.Background()
	f := NewFile(filepath.Join(t.TempDir(), "c.json"))
	if v, err := f.Version(ctx); err != nil || v != "" {
		t.Fatalf("missing file: %q, %v", v, err)
	}
	if data, v, err := f.Read(ctx); err != nil || data != nil || v != "" {
		t.Fatalf("Read of a missing file = %q, %q, %v", data, v, err)
	}
	v1, err := f.Write(ctx, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Version(ctx); v != v1 {
		t.Errorf("Version %q != Write's %q", v, v1)
	}
	v2, _ := f.Write(ctx, []byte(`{}`))
	if v2 == v1 {
		t.Error("rewriting the same bytes kept the version")
	}
	if data, v, err := f.Read(ctx); err != nil || string(data) != `{}` || v != v2 {
		t.Errorf("Read = %q, %q, %v", data, v, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Write(cctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context: %v", err)
	}
}

func TestFileLockHonoursContext(t *testing.T) {
	f := NewFile(filepath.Join(t.TempDir(), "c.json"))
	unlock, err := f.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock = %v, want a deadline error", err)
	}
	done := make(chan error, 1)
	go func() {
		u, err := f.Lock(context.Background())
		if err == nil {
			err = u()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiting Lock did not get the lock after unlock")
	}
}

func TestEncryptionKeyFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "cache.key")

	// Concurrent first use agrees on one key.
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := EncryptionKeyFromFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ or have the wrong size: %x", keys)
		}
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v", fi.Mode().Perm())
		}
	}
	again, err := EncryptionKeyFromFile(path)
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Errorf("re-read key differs: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "keys", ".*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}

	raw := filepath.Join(dir, "raw.key")
	want := newKey(t)
	os.WriteFile(raw, want, 0o600)
	if got, err := EncryptionKeyFromFile(raw); err != nil || !bytes.Equal(got, want) {
		t.Errorf("raw key = %x, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600)
	if _, err := EncryptionKeyFromFile(bad); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestEncryptionKeyFromEnv(t *testing.T) {
	want := newKey(t)
	t.Setenv("TESSERA_TEST_KEY", base64.StdEncoding.EncodeToString(want)+"\n")
	if got, ok, err := EncryptionKeyFromEnv("TESSERA_TEST_KEY"); err != nil || !ok || !bytes.Equal(got, want) {
		t.Errorf("EncryptionKeyFromEnv = %x, %v, %v", got, ok, err)
	}
	t.Setenv("TESSERA_TEST_KEY", "")
	if _, ok, err := EncryptionKeyFromEnv("TESSERA_TEST_KEY"); ok || err != nil {
		t.Errorf("unset variable: %v, %v", ok, err)
	}
	t.Setenv("TESSERA_TEST_KEY", "not base64!")
	if _, ok, err := EncryptionKeyFromEnv("TESSERA_TEST_KEY"); !ok || err == nil || !strings.Contains(err.Error(), "TESSERA_TEST_KEY") {
		t.Errorf("invalid key: %v, %v", ok, err)
	}
}
