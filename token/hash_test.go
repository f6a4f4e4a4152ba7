package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"strings"
	"testing"
)

func TestHalfHash(t *testing.T) {
	// The SHA-256 vectors are OpenID Connect Core 1.0, appendix A.3 (at_hash)
	// and A.4 (c_hash). The SHA-512 ones were computed independently (Python
	// hashlib) and are cross-checked below by hand-rolled code.
	const (
		accessToken = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
		code        = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
	)
	tests := []struct {
		alg, value, want string
	}{
		{"RS256", accessToken, "77QmUPtjPfzWtF2AnpK9RQ"},
		{"ES256", accessToken, "77QmUPtjPfzWtF2AnpK9RQ"},
		{"PS256", accessToken, "77QmUPtjPfzWtF2AnpK9RQ"},
		{"RS256", code, "LDktKdoQak3Pk0cnXxCltA"},
		{"EdDSA", accessToken, "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM"},
		{"EdDSA", code, "E9z1C-c0Az4eTEzE0Nm3OQ3BS2BhMgxuP7x5JAQj1_4"},
	}
	for _, tt := range tests {
		got, err := HalfHash(tt.alg, tt.value)
		if err != nil || got != tt.want {
			t.Errorf("HalfHash(%s, %.10s...) = %q, %v; want %q", tt.alg, tt.value, got, err, tt.want)
		}
	}

	sum := sha512.Sum512([]byte(code))
	if want := base64.RawURLEncoding.EncodeToString(sum[:32]); want != tests[5].want {
		t.Errorf("EdDSA vector disagrees with hand computation: %s", want)
	}
	if got, _ := HalfHash("RS384", code); len(got) != 32 {
		t.Errorf("RS384 half hash %q, want 24 bytes", got)
	}
	for _, alg := range []string{"", "none", "HS256", "rs256"} {
		if _, err := HalfHash(alg, code); err == nil {
			t.Errorf("HalfHash(%q) succeeded", alg)
		}
	}
}

func TestOpaque(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := NewOpaque()
		if len(s) != 43 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("NewOpaque() = %q, want 43 base64url characters", s)
		}
		if seen[s] {
			t.Fatalf("NewOpaque repeated %q", s)
		}
		seen[s] = true
	}

	h := Hash("secret")
	want := sha256.Sum256([]byte("secret"))
	if !Equal(h, want[:]) || len(h) != 32 {
		t.Fatalf("Hash = %x, want %x", h, want)
	}
	tests := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"same", Hash("a"), Hash("a"), true},
		{"different", Hash("a"), Hash("b"), false},
		{"prefix", Hash("a"), Hash("a")[:31], false},
		{"empty vs hash", nil, Hash("a"), false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDeriveSuccessor(t *testing.T) {
	mk := testMasterKey()
	other := mk
	other[5] ^= 1
	s := NewSuccessors(mk)
	parent := NewOpaque()

	got := DeriveSuccessor(mk, parent)
	if got != DeriveSuccessor(mk, parent) || got != s.Derive(parent) {
		t.Fatal("successor of the same parent differs between calls")
	}
	if len(got) != 43 {
		t.Fatalf("successor %q, want 43 characters like NewOpaque", got)
	}
	m := hmac.New(sha256.New, mk.Derive("refresh-successor"))
	m.Write([]byte(parent))
	if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("successor = %s, want HMAC-SHA256 %s", got, want)
	}

	for name, d := range map[string]string{
		"other parent":     s.Derive(NewOpaque()),
		"other master key": DeriveSuccessor(other, parent),
		"of the successor": s.Derive(got),
		"the parent":       parent,
	} {
		if d == got {
			t.Errorf("%s: successor collides", name)
		}
	}
}
