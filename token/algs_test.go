package token

import (
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

// The one list of signing algorithms: what it holds, how it is named for
// people and for go-jose, and that each algorithm's keys fit it and no
// other.
func TestSigningAlgs(t *testing.T) {
	if got, want := SigningAlgs(), []string{RS256, ES256, EdDSA}; !slices.Equal(got, want) {
		t.Fatalf("SigningAlgs() = %v, want %v", got, want)
	}
	if got, want := SigningAlgChoices(), "RS256, ES256 or EdDSA"; got != want {
		t.Errorf("SigningAlgChoices() = %q, want %q", got, want)
	}
	if got, want := joseSigningAlgs(), []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}; !slices.Equal(got, want) {
		t.Errorf("joseSigningAlgs() = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "none", "HS256", "rs256", "PS256", "ES384", "Ed25519"} {
		if IsSigningAlg(bad) {
			t.Errorf("IsSigningAlg(%q) = true", bad)
		}
	}
	// A caller that changes the list it was given changes nobody else's.
	SigningAlgs()[0] = "none"
	if !IsSigningAlg(RS256) || IsSigningAlg("none") {
		t.Fatal("the list was changed through a returned slice")
	}

	mk := NewMasterKey()
	for _, alg := range SigningAlgs() {
		if !IsSigningAlg(alg) {
			t.Errorf("IsSigningAlg(%q) = false", alg)
		}
		key, err := GenerateSigningKey("t1", alg, mk, time.Now(), store.KeyActive)
		if err != nil {
			t.Fatal(err)
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(key.PublicJWK); err != nil {
			t.Fatal(err)
		}
		for _, other := range SigningAlgs() {
			if got := algMatchesKey(other, jwk.Key); got != (other == alg) {
				t.Errorf("algMatchesKey(%s, %s public key) = %v", other, alg, got)
			}
		}
	}
	if _, err := GenerateSigningKey("t1", "HS256", mk, time.Now(), store.KeyActive); err == nil {
		t.Error("GenerateSigningKey made an HS256 key")
	}
}
