package token

import (
	"bytes"
	"encoding/hex"
	"testing"
	"testing/cryptotest"
)

// Sealed signing keys and factor secrets are stored; these were sealed
// under testMasterKey with crypto/rand seeded, so a change to the key
// derivation, the additional data or the layout (nonce, then ciphertext
// and tag) shows here before it strands rows in a database.
const (
	goldenSigningKey   = "pkcs8 bytes"
	goldenSealedKey    = "6ae6783f4fbde91b6eb88b73b212f5458260ed450e8785279f7bc2e34fd69f4e46aff9a9e053fa"
	goldenFactorSecret = "JBSWY3DPEHPK3PXP"
	goldenSealedFactor = "1490066b778935b0bb4925e3fe80ebd67645046f5d394c62daea7110d5309f3430b20f553ecf1508970d3311"
)

func TestSealGolden(t *testing.T) {
	mk := testMasterKey()
	keys, err := newKeySealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	factors := NewFactorSealer(mk)

	t.Run("signing key", func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, 1)
		sealed := keys.seal("tenant-a", "kid-1", []byte(goldenSigningKey))
		if got := hex.EncodeToString(sealed); got != goldenSealedKey {
			t.Errorf("sealed %s, want %s", got, goldenSealedKey)
		}
		got, err := keys.open("tenant-a", "kid-1", mustHex(t, goldenSealedKey))
		if err != nil || !bytes.Equal(got, []byte(goldenSigningKey)) {
			t.Fatalf("open = %q, %v", got, err)
		}
		// The factor key and label must not open a signing key.
		if _, err := factors.Open("tenant-a", "kid-1", mustHex(t, goldenSealedKey)); err == nil {
			t.Error("a sealed signing key opens as a factor secret")
		}
	})
	t.Run("factor secret", func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, 2)
		sealed := factors.Seal("t1", "f1", []byte(goldenFactorSecret))
		if got := hex.EncodeToString(sealed); got != goldenSealedFactor {
			t.Errorf("sealed %s, want %s", got, goldenSealedFactor)
		}
		got, err := factors.Open("t1", "f1", mustHex(t, goldenSealedFactor))
		if err != nil || !bytes.Equal(got, []byte(goldenFactorSecret)) {
			t.Fatalf("Open = %q, %v", got, err)
		}
		if _, err := keys.open("t1", "f1", mustHex(t, goldenSealedFactor)); err == nil {
			t.Error("a sealed factor secret opens as a signing key")
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
