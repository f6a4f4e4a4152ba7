package token

import (
	"bytes"
	"testing"
)

func TestFactorSealer(t *testing.T) {
	mk := NewMasterKey()
	s := NewFactorSealer(mk)
	secret := []byte("JBSWY3DPEHPK3PXP")
	sealed := s.Seal("t1", "f1", secret)
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed secret holds the secret in clear")
	}
	got, err := s.Open("t1", "f1", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for _, c := range []struct{ tenant, factor string }{{"t2", "f1"}, {"t1", "f2"}} {
		if _, err := s.Open(c.tenant, c.factor, sealed); err == nil {
			t.Errorf("a secret sealed for t1/f1 opens as %s/%s", c.tenant, c.factor)
		}
	}
	if _, err := NewFactorSealer(NewMasterKey()).Open("t1", "f1", sealed); err == nil {
		t.Error("a secret opens under another master key")
	}
}
