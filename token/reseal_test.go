package token

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

// oneKey is a KeySource of one key, which a test may replace.
type oneKey struct{ k store.SigningKey }

func (o *oneKey) ListSigningKeys(context.Context, string, time.Time) ([]store.SigningKey, error) {
	return []store.SigningKey{o.k}, nil
}

// A resealed key opens under the new master key only; resealing it again
// (an interrupted rotation run twice) changes nothing; a keyring that
// opened the key under the old master key goes on signing with it after
// the row was resealed, while a new keyring on the old key cannot.
func TestReseal(t *testing.T) {
	oldKey, newKey := NewMasterKey(), NewMasterKey()
	k, err := GenerateSigningKey("t1", "ES256", oldKey, time.Now(), store.KeyActive)
	if err != nil {
		t.Fatal(err)
	}
	src := &oneKey{k}
	running := NewKeyring(src, oldKey, nil)
	if _, err := running.Signer(t.Context(), "t1"); err != nil {
		t.Fatal(err)
	}

	r := NewResealer(oldKey, newKey)
	sealed, err := r.Reseal(k)
	if err != nil {
		t.Fatal(err)
	}
	resealed := k
	resealed.PrivateKey = sealed
	if oldKey.Opens(resealed) || !newKey.Opens(resealed) {
		t.Fatal("the resealed key opens under the wrong master key")
	}
	again, err := r.Reseal(resealed)
	if err != nil || string(again) != string(sealed) {
		t.Fatalf("resealing a resealed key: %v", err)
	}
	if _, err := NewResealer(NewMasterKey(), newKey).Reseal(k); err == nil {
		t.Fatal("a key neither master key opens was resealed")
	}

	src.k = resealed
	s, err := running.Signer(t.Context(), "t1")
	if err != nil {
		t.Fatalf("the running keyring after the reseal: %v", err)
	}
	if _, err := s.Sign("JWT", map[string]any{"sub": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyring(src, oldKey, nil).Signer(t.Context(), "t1"); err == nil {
		t.Error("a fresh keyring on the old master key opened the resealed key")
	}
	if _, err := NewKeyring(src, newKey, nil).Signer(t.Context(), "t1"); err != nil {
		t.Errorf("a fresh keyring on the new master key: %v", err)
	}
}

// A keyring whose master key no longer opens a key reads the master key
// again (ReloadMasterKey) and opens it with what it reads.
func TestKeyringReloadsMasterKey(t *testing.T) {
	oldKey, newKey := NewMasterKey(), NewMasterKey()
	k, err := GenerateSigningKey("t1", "ES256", oldKey, time.Now(), store.KeyActive)
	if err != nil {
		t.Fatal(err)
	}
	if k.PrivateKey, err = NewResealer(oldKey, newKey).Reseal(k); err != nil {
		t.Fatal(err)
	}
	src := &oneKey{k}
	if _, err := NewKeyring(src, oldKey, nil).Signer(t.Context(), "t1"); err == nil {
		t.Fatal("the old master key opened a resealed key")
	}
	kr := NewKeyring(src, oldKey, nil)
	reads := 0
	kr.ReloadMasterKey(func() (MasterKey, error) { reads++; return newKey, nil })
	if _, err := kr.Signer(t.Context(), "t1"); err != nil {
		t.Fatalf("with the master key read again: %v", err)
	}
	if _, err := kr.Signer(t.Context(), "t1"); err != nil || reads != 1 {
		t.Fatalf("the second signer: %v after %d reads", err, reads)
	}
}

// A TOTP secret moves to the new master key with the signing keys: it
// opens under the new key only, a second run leaves it, and a secret
// neither key opens is refused.
func TestResealFactor(t *testing.T) {
	oldKey, newKey := NewMasterKey(), NewMasterKey()
	f := store.Factor{TenantID: "t1", ID: "f1", Kind: store.FactorTOTP,
		Secret: NewFactorSealer(oldKey).Seal("t1", "f1", []byte("JBSWY3DPEHPK3PXP"))}
	r := NewResealer(oldKey, newKey)
	sealed, err := r.ResealFactor(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFactorSealer(oldKey).Open("t1", "f1", sealed); err == nil {
		t.Error("the resealed secret still opens under the old key")
	}
	got, err := NewFactorSealer(newKey).Open("t1", "f1", sealed)
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("under the new key: %q %v", got, err)
	}
	f.Secret = sealed
	if again, err := r.ResealFactor(f); err != nil || string(again) != string(sealed) {
		t.Errorf("resealing a resealed secret: %v", err)
	}
	if _, err := NewResealer(NewMasterKey(), NewMasterKey()).ResealFactor(f); err == nil {
		t.Error("a secret neither master key opens was resealed")
	}
}
