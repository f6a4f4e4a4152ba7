package token

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKey is the server's root secret. It never encrypts or signs anything
// directly: every use derives its own key with Derive, so a weakness in one use
// cannot leak material that another relies on.
type MasterKey [32]byte

// String keeps the key out of logs and error messages that format it by
// accident (%v, %s, %x, %q all go through String).
func (MasterKey) String() string { return "token.MasterKey(redacted)" }

// GoString does the same for %#v.
func (MasterKey) GoString() string { return "token.MasterKey(redacted)" }

// deriveInfoPrefix namespaces the HKDF info strings. It is part of the
// at-rest format: changing it makes every sealed signing key unreadable.
const deriveInfoPrefix = "tessera/v1/"

// Derive returns a 32-byte key for one purpose (HKDF-SHA256, the purpose as
// info). Distinct purposes give independent keys.
func (k MasterKey) Derive(purpose string) []byte {
	out, err := hkdf.Key(sha256.New, k[:], nil, deriveInfoPrefix+purpose, 32)
	if err != nil {
		// hkdf.Key fails only for an output longer than 255 hash blocks or,
		// in FIPS mode, a secret shorter than 112 bits; neither applies.
		panic("token: hkdf: " + err.Error())
	}
	return out
}

// storeCheckPurpose names the key, derived from the master key, that
// authenticates storeCheckLabel into the check value a store records. Both
// are part of the stored format: changing either makes every recorded check
// mismatch.
const (
	storeCheckPurpose = "master-key-check"
	storeCheckLabel   = "tessera: this store's master key"
)

// StoreCheck is the value that identifies k in a store several processes
// share, without revealing it or anything derived for another purpose: an
// HMAC of a fixed label under a key derived for this use alone.
func (k MasterKey) StoreCheck() []byte {
	m := hmac.New(sha256.New, k.Derive(storeCheckPurpose))
	m.Write([]byte(storeCheckLabel))
	return m.Sum(nil)
}

// NewMasterKey returns a fresh random master key.
func NewMasterKey() MasterKey {
	var k MasterKey
	// crypto/rand.Read never fails since Go 1.24.
	_, _ = rand.Read(k[:])
	return k
}

// ParseMasterKey reads a master key as given in configuration or the
// TESSERA_MASTER_KEY environment variable: base64 (standard or URL alphabet,
// padded or not) or 64 hex characters, all encoding 32 bytes. Surrounding
// white space is ignored. Errors never quote the input, which is a secret.
func ParseMasterKey(s string) (MasterKey, error) {
	var k MasterKey
	s = strings.TrimSpace(s)
	if s == "" {
		return k, errors.New("token: master key is empty")
	}
	// 64 hex characters cannot be mistaken for base64 of 32 bytes (43 or 44
	// characters), so the order of the attempts does not matter.
	if len(s) == hex.EncodedLen(len(k)) {
		if _, err := hex.Decode(k[:], []byte(s)); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err == nil && len(b) == len(k) {
			copy(k[:], b)
			clear(b)
			return k, nil
		}
		clear(b)
	}
	return MasterKey{}, fmt.Errorf("token: master key must be 32 bytes in base64 or 64 hex characters (got %d characters)", len(s))
}

// LoadOrCreateMasterKey reads the master key file at path, or creates it with
// a fresh key when it does not exist; created reports which happened. The
// file holds standard padded base64 and a newline, mode 0600. Creation never
// overwrites: if another process creates the file first, its key is loaded
// and used, so concurrent first starts agree on one key.
func LoadOrCreateMasterKey(path string) (key MasterKey, created bool, err error) {
	k, err := readMasterKey(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return MasterKey{}, false, err
	}

	k = NewMasterKey()
	buf := make([]byte, 0, base64.StdEncoding.EncodedLen(len(k))+1)
	buf = base64.StdEncoding.AppendEncode(buf, k[:])
	buf = append(buf, '\n')
	defer clear(buf)

	won, err := createExclusive(path, buf)
	if err != nil {
		return MasterKey{}, false, err
	}
	if !won {
		k, err := readMasterKey(path)
		return k, false, err
	}
	return k, true, nil
}

func readMasterKey(path string) (MasterKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return MasterKey{}, fmt.Errorf("token: read master key: %w", err)
	}
	defer clear(b)
	k, err := ParseMasterKey(string(bytes.TrimSpace(b)))
	if err != nil {
		return MasterKey{}, fmt.Errorf("token: master key file %s: %w", path, err)
	}
	return k, nil
}

// createExclusive writes data to path with mode 0600 unless path exists. The
// content is written and synced under a temporary name first and then
// hard-linked into place: a link, unlike a rename, fails on an existing name,
// and no reader ever sees a partly written file. won is false when path
// already existed.
func createExclusive(path string, data []byte) (won bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("token: create master key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".master-key-*.tmp") // mode 0600
	if err != nil {
		return false, fmt.Errorf("token: create master key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)

	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, fmt.Errorf("token: create master key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, fmt.Errorf("token: write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, fmt.Errorf("token: write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("token: write master key: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("token: install master key: %w", err)
	}
	// Make the new name durable; losing the key after tokens were signed
	// with keys sealed under it would be worse than a failed start.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}
