package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestStateSealer(t *testing.T) {
	mk := NewMasterKey()
	s := NewStateSealer(mk)
	msg := []byte(`{"client_id":"web","state":"` + strings.Repeat("s", 4096) + `"}`)
	sealed := s.Seal("pending tenant-1", msg)
	if strings.Contains(sealed, "client_id") || strings.ContainsAny(sealed, "+/=") {
		t.Fatalf("sealed state is readable or not URL-safe: %.80s", sealed)
	}
	if again := s.Seal("pending tenant-1", msg); again == sealed {
		t.Fatal("two seals of the same state are equal: the nonce repeats")
	}
	got, err := s.Open("pending tenant-1", sealed)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open: %v", err)
	}

	other := NewStateSealer(NewMasterKey())
	// A bit flipped in the ciphertext itself, still valid base64, so
	// that only the authentication can refuse it.
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	flipped := base64.RawURLEncoding.EncodeToString(raw)
	for name, open := range map[string]func() ([]byte, error){
		"another label":      func() ([]byte, error) { return s.Open("pending tenant-2", sealed) },
		"another master key": func() ([]byte, error) { return other.Open("pending tenant-1", sealed) },
		"altered":            func() ([]byte, error) { return s.Open("pending tenant-1", flipped) },
		"truncated":          func() ([]byte, error) { return s.Open("pending tenant-1", sealed[:40]) },
		"not base64":         func() ([]byte, error) { return s.Open("pending tenant-1", "%%%") },
		"empty":              func() ([]byte, error) { return s.Open("pending tenant-1", "") },
	} {
		if pt, err := open(); !errors.Is(err, ErrBadState) || pt != nil {
			t.Errorf("%s: opened (%v)", name, err)
		}
	}
}
