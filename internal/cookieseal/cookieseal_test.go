package cookieseal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := New(key, Labels{Key: "test", AAD: "test v1"}, "session", "pending")
	if err != nil {
		t.Fatal(err)
	}
	type v struct{ A string }
	sealed, err := s.Seal("session", "t1", v{"x"})
	if err != nil {
		t.Fatal(err)
	}
	var got v
	if err := s.Open("session", "t1", sealed, &got); err != nil || got.A != "x" {
		t.Fatalf("open: %v %+v", err, got)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32), Labels{Key: "test", AAD: "test v1"}, "session")
	relabelled, _ := New(key, Labels{Key: "test", AAD: "test v2"}, "session")
	rekeyed, _ := New(key, Labels{Key: "other", AAD: "test v1"}, "session")
	for name, open := range map[string]func() error{
		"another tenant":    func() error { return s.Open("session", "t2", sealed, &got) },
		"another kind":      func() error { return s.Open("pending", "t1", sealed, &got) },
		"unknown kind":      func() error { return s.Open("other", "t1", sealed, &got) },
		"another key":       func() error { return other.Open("session", "t1", sealed, &got) },
		"another format":    func() error { return relabelled.Open("session", "t1", sealed, &got) },
		"another key label": func() error { return rekeyed.Open("session", "t1", sealed, &got) },
		"altered":           func() error { return s.Open("session", "t1", sealed[:len(sealed)-2]+"AA", &got) },
		"truncated":         func() error { return s.Open("session", "t1", sealed[:10], &got) },
		"not base64":        func() error { return s.Open("session", "t1", "!!!", &got) },
		"longer than 4KB":   func() error { return s.Open("session", "t1", strings.Repeat("A", MaxLen+1), &got) },
	} {
		if err := open(); !errors.Is(err, ErrBadCookie) {
			t.Errorf("%s: %v, want ErrBadCookie", name, err)
		}
	}
	if _, err := New(key[:16], Labels{}); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}
