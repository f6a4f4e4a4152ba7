package cache

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrWrongKey means the stored cache is encrypted under a different key
// than the one configured (or none is configured). Unlike corruption, the
// Cache does not discard the data: with the right key it is readable.
var ErrWrongKey = errors.New("wrong encryption key")

// Encrypted layout:
//
//	magic "TSRC" | version 0x01 | key id (8) | nonce (12) | AES-256-GCM ciphertext+tag
//
// The key id, a truncated HMAC of a fixed label under the key, tells a
// wrong key from corrupt data (GCM alone cannot), so a wrong key is an
// error while a damaged file is moved aside. The header is authenticated
// as additional data.
const (
	encMagic  = "TSRC\x01"
	kidLen    = 8
	nonceLen  = 12
	headerLen = len(encMagic) + kidLen + nonceLen
	keyLen    = 32
	kidLabel  = "tessera client token cache key id v1"
)

func newAEAD(key []byte) (cipher.AEAD, [kidLen]byte, error) {
	var kid [kidLen]byte
	if len(key) != keyLen {
		return nil, kid, fmt.Errorf("cache: encryption key must be %d bytes, got %d", keyLen, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, kid, fmt.Errorf("cache: encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, kid, fmt.Errorf("cache: encryption key: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kidLabel))
	copy(kid[:], m.Sum(nil))
	return aead, kid, nil
}

func (f *File) seal(plain []byte) ([]byte, error) {
	if f.aead == nil {
		return plain, nil
	}
	out := make([]byte, headerLen, headerLen+len(plain)+f.aead.Overhead())
	copy(out, encMagic)
	copy(out[len(encMagic):], f.kid[:])
	nonce := out[len(encMagic)+kidLen : headerLen]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cache: generating a nonce: %w", err)
	}
	return f.aead.Seal(out, nonce, plain, out[:len(encMagic)+kidLen]), nil
}

// open returns the plaintext of stored data. Data without the magic is
// taken as plain JSON, encrypted or not configured: that is how an MSAL
// cache file migrates to encryption.
func (f *File) open(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte(encMagic)) {
		return data, nil
	}
	if f.aead == nil {
		return nil, fmt.Errorf("cache: %s is encrypted and no encryption key is configured: %w", f.path, ErrWrongKey)
	}
	if len(data) < headerLen+f.aead.Overhead() {
		return nil, fmt.Errorf("cache: %s: encrypted data is truncated (%d bytes): %w", f.path, len(data), ErrCorrupt)
	}
	if !hmac.Equal(data[len(encMagic):len(encMagic)+kidLen], f.kid[:]) {
		return nil, fmt.Errorf("cache: %s was encrypted with another key: %w", f.path, ErrWrongKey)
	}
	nonce := data[len(encMagic)+kidLen : headerLen]
	plain, err := f.aead.Open(nil, nonce, data[headerLen:], data[:len(encMagic)+kidLen])
	if err != nil {
		return nil, fmt.Errorf("cache: %s: ciphertext does not authenticate (damaged or truncated): %w", f.path, ErrCorrupt)
	}
	return plain, nil
}

// EncryptionKeyFromFile reads a 32-byte key stored raw or in base64. If
// the file does not exist it creates one (mode 0600, directory 0700)
// holding a new random key in base64; concurrent creators agree on one key.
func EncryptionKeyFromFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cache: reading key file: %w", err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("cache: key file %s: %w", path, err)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("cache: generating a key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: creating the directory of %s: %w", path, err)
	}
	// Write it completely under a temporary name, then link it into place:
	// the link fails if another process got there first, and nobody ever
	// reads a half-written key.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cache: creating key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("cache: writing key file: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return EncryptionKeyFromFile(path)
		}
		// No hard links here (some file systems): fall back to an
		// exclusive create.
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(cerr, fs.ErrExist) {
			return EncryptionKeyFromFile(path)
		}
		if cerr != nil {
			return nil, fmt.Errorf("cache: creating key file: %w", cerr)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("cache: writing key file: %w", werr)
		}
	}
	return key, nil
}

// EncryptionKeyFromEnv reads a base64 32-byte key from the environment
// variable name; ok is false when it is unset or empty.
func EncryptionKeyFromEnv(name string) (key []byte, ok bool, err error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, false, nil
	}
	key, err = decodeKeyText(v)
	if err != nil {
		return nil, true, fmt.Errorf("cache: $%s: %w", name, err)
	}
	return key, true, nil
}

func parseKey(data []byte) ([]byte, error) {
	if len(data) == keyLen {
		return append([]byte(nil), data...), nil
	}
	return decodeKeyText(string(data))
}

func decodeKeyText(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != keyLen {
				return nil, fmt.Errorf("key is %d bytes, want %d", len(key), keyLen)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("key is neither %d raw bytes nor base64", keyLen)
}
