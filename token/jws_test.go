package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// About one ECDSA signature in 128 has an R or S shorter than 32 bytes;
// each must still be written at full width for verifiers to accept it.
func TestECDSASignaturesOfEveryWidthVerify(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	header, err := jwsHeader("ES256", "k1", "at+jwt")
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"sub":"s"}`)
	for i := 0; i < 1500; i++ {
		tok, err := compactJWS(key, "ES256", header, payload)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		got, err := jws.Verify(&key.PublicKey)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("signature %d does not verify: %v", i, err)
		}
	}
}

func TestECDSARaw(t *testing.T) {
	// SEQUENCE { INTEGER 0x00ff (positive, padded), INTEGER 0x01 }
	der := []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0xff, 0x02, 0x01, 0x01}
	raw, err := ecdsaRaw(der, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 0xff, 0, 0, 0, 1}; !bytes.Equal(raw, want) {
		t.Fatalf("raw = %x, want %x", raw, want)
	}
	for _, bad := range [][]byte{
		nil,
		{0x30, 0x03, 0x02, 0x01, 0x01}, // one integer
		{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00},       // trailing byte
		{0x30, 0x08, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x01, 0x01}, // fits 2 bytes? no: width 2 below
		{0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01},             // negative
	} {
		if _, err := ecdsaRaw(bad, 2); err == nil {
			t.Errorf("ecdsaRaw(%x) accepted", bad)
		}
	}
}
