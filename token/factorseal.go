package token

// factorSealPurpose names the derived key that encrypts second-factor
// secrets at rest; factorSealLabel versions their additional data.
const (
	factorSealPurpose = "factor-secret-encryption"
	factorSealLabel   = "tessera factor secret v1"
)

// FactorSealer encrypts the secrets of second factors (a TOTP key, which
// must be recovered to compute codes, so it cannot be hashed) for the
// store. It seals as signing keys are sealed, but under a derived key and
// label of its own, so that neither kind of secret opens as the other.
type FactorSealer struct {
	s *sealer
}

// NewFactorSealer derives the factor key from the master key.
func NewFactorSealer(mk MasterKey) *FactorSealer {
	s, err := newFactorSealer(mk)
	if err != nil {
		// AES-256-GCM with a 32-byte key cannot fail to initialise.
		panic(err)
	}
	return &FactorSealer{s: s}
}

func newFactorSealer(mk MasterKey) (*sealer, error) {
	return newSealer(mk, sealKind{purpose: factorSealPurpose, label: factorSealLabel, noun: "factor secret", rowNoun: "secret of factor"})
}

// Seal returns nonce || AES-256-GCM(secret) for the factor's row.
func (f *FactorSealer) Seal(tenantID, factorID string, secret []byte) []byte {
	return f.s.seal(tenantID, factorID, secret)
}

// Open decrypts what Seal returned for the same row.
func (f *FactorSealer) Open(tenantID, factorID string, sealed []byte) ([]byte, error) {
	return f.s.open(tenantID, factorID, sealed)
}
