package token

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	mk := testMasterKey()
	s, err := newKeySealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	otherMK := mk
	otherMK[31] ^= 0x80
	other, err := newKeySealer(otherMK)
	if err != nil {
		t.Fatal(err)
	}

	plain := []byte("pkcs8 bytes")
	sealed := s.seal("tenant-a", "kid-1", plain)
	if len(sealed) != 12+len(plain)+16 {
		t.Fatalf("sealed length %d, want nonce + plaintext + tag", len(sealed))
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("plaintext visible in sealed bytes")
	}
	if again := s.seal("tenant-a", "kid-1", plain); bytes.Equal(again[:12], sealed[:12]) {
		t.Fatal("nonce reused across seals")
	}

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	nonce := bytes.Clone(sealed)
	nonce[0] ^= 1

	tests := []struct {
		name          string
		sealer        *sealer
		tenant, kid   string
		sealed        []byte
		wantPlaintext bool
	}{
		{"same row", s, "tenant-a", "kid-1", sealed, true},
		{"other tenant", s, "tenant-b", "kid-1", sealed, false},
		{"other kid", s, "tenant-a", "kid-2", sealed, false},
		{"shifted boundary", s, "tenant-", "akid-1", sealed, false},
		{"other master key", other, "tenant-a", "kid-1", sealed, false},
		{"flipped tag", s, "tenant-a", "kid-1", flipped, false},
		{"flipped nonce", s, "tenant-a", "kid-1", nonce, false},
		{"truncated", s, "tenant-a", "kid-1", sealed[:20], false},
		{"empty", s, "tenant-a", "kid-1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.open(tt.tenant, tt.kid, tt.sealed)
			if tt.wantPlaintext {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("open = %q, %v; want plaintext", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("open succeeded with %q", got)
			}
		})
	}
}
