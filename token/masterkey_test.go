package token

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMasterKey has bytes whose base64 uses '+' and '/' (std) and '-' and
// '_' (url), so the alphabets are told apart.
func testMasterKey() MasterKey {
	var k MasterKey
	for i := range k {
		k[i] = byte(0xf8 + 3*i)
	}
	return k
}

func TestParseMasterKey(t *testing.T) {
	k := testMasterKey()
	std := base64.StdEncoding.EncodeToString(k[:])
	url := base64.URLEncoding.EncodeToString(k[:])
	if std == url {
		t.Fatal("fixture does not exercise both base64 alphabets")
	}

	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"std padded", std, true},
		{"std raw", strings.TrimRight(std, "="), true},
		{"url padded", url, true},
		{"url raw", strings.TrimRight(url, "="), true},
		{"hex lower", hex.EncodeToString(k[:]), true},
		{"hex upper", strings.ToUpper(hex.EncodeToString(k[:])), true},
		{"surrounding space", "  " + std + "\n", true},
		{"empty", "", false},
		{"blank", " \n", false},
		{"31 bytes", base64.StdEncoding.EncodeToString(k[:31]), false},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(k[:], 1)), false},
		{"63 hex", hex.EncodeToString(k[:])[:63], false},
		{"64 non-hex", strings.Repeat("g", 64), false},
		{"garbage", "not a key!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMasterKey(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("ParseMasterKey(%q) succeeded, want error", tt.in)
				}
				if s := strings.TrimSpace(tt.in); len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Errorf("error quotes the input: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMasterKey(%q): %v", tt.in, err)
			}
			if got != k {
				t.Fatalf("ParseMasterKey(%q) = %x, want %x", tt.in, got[:], k[:])
			}
		})
	}
}

func TestLoadOrCreateMasterKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "master.key") // the directory does not exist yet

	k1, created, err := LoadOrCreateMasterKey(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v, want created", created, err)
	}
	if k1 == (MasterKey{}) {
		t.Fatal("created key is all zero")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode = %o, want 600", mode)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(k1[:]) + "\n"; string(raw) != want {
		t.Errorf("file content = %q, want std base64 and newline", raw)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp file left over?)", len(entries))
	}

	k2, created, err := LoadOrCreateMasterKey(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v, want loaded", created, err)
	}
	if k2 != k1 {
		t.Fatal("second call returned a different key")
	}

	// An operator-provided file in hex loads as is.
	hexPath := filepath.Join(dir, "hex.key")
	want := testMasterKey()
	if err := os.WriteFile(hexPath, []byte(hex.EncodeToString(want[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, created, err := LoadOrCreateMasterKey(hexPath); err != nil || created || got != want {
		t.Fatalf("hex file: got %x created=%v err=%v", got[:], created, err)
	}

	// A corrupt file is an error and is left alone, never replaced.
	badPath := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(badPath, []byte("corrupt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateMasterKey(badPath); err == nil {
		t.Fatal("corrupt file loaded without error")
	}
	if b, _ := os.ReadFile(badPath); string(b) != "corrupt\n" {
		t.Fatalf("corrupt file was rewritten: %q", b)
	}
}

func TestCreateExclusiveDoesNotOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	won, err := createExclusive(path, []byte("second"))
	if err != nil || won {
		t.Fatalf("createExclusive on existing file: won=%v err=%v", won, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("existing file overwritten: %q", b)
	}
}

func TestMasterKeyDerive(t *testing.T) {
	k := testMasterKey()
	other := k
	other[0] ^= 1

	a := k.Derive("signing-key-encryption")
	if len(a) != 32 {
		t.Fatalf("len = %d, want 32", len(a))
	}
	if !bytes.Equal(a, k.Derive("signing-key-encryption")) {
		t.Error("Derive is not deterministic")
	}
	for _, d := range [][]byte{
		k.Derive("refresh-successor"),
		k.Derive(""),
		k.Derive("signing-key-encryption "),
		other.Derive("signing-key-encryption"),
	} {
		if bytes.Equal(a, d) {
			t.Errorf("derived keys collide: %x", d)
		}
	}
}

func TestMasterKeyRedacted(t *testing.T) {
	k := testMasterKey()
	out := fmt.Sprintf("%v %s %x %q %#v", k, k, k, k, k)
	for _, secret := range []string{
		hex.EncodeToString(k[:4]),
		base64.StdEncoding.EncodeToString(k[:])[:8],
	} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
			t.Fatalf("formatted key leaks material: %s", out)
		}
	}
}
