package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Floor is the signing floor: how many JWS signatures of one algorithm
// this machine makes per second on all its cores. A token endpoint cannot
// answer faster than this divided by the signatures each response needs.
type Floor struct {
	Alg           string  `json:"alg"`
	Cores         int     `json:"cores"`
	SignaturesSec float64 `json:"signatures_per_second"`
}

// MeasureFloor signs a token-sized payload with a fresh key of alg on
// every core for d.
func MeasureFloor(alg string, d time.Duration) (Floor, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return Floor{}, fmt.Errorf("bench: unknown algorithm %q", alg)
	}
	if err != nil {
		return Floor{}, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return Floor{}, err
	}
	// About the size of a Tessera access token's claims.
	payload := []byte(`{"iss":"https://localhost:8443/demo/v2.0","sub":"4b1c2a0e-8f3d-4c6b-9a57-2d1e0f3b6c7a","aud":"9be69e70-478d-4067-870e-32436ba71e9a",` +
		`"exp":1795308705,"iat":1795305105,"nbf":1795305105,"jti":"3df4720f-4ddb-4026-b593-ce39e399fcd5","client_id":"9be69e70-478d-4067-870e-32436ba71e9a",` +
		`"azp":"9be69e70-478d-4067-870e-32436ba71e9a","tid":"7e652e32-306a-4f7a-aa21-a71445aa8779","oid":"4b1c2a0e-8f3d-4c6b-9a57-2d1e0f3b6c7a","scope":"access_as_user","scp":"access_as_user","ver":"2.0"}`)
	cores := runtime.GOMAXPROCS(0)
	var count atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < cores; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				jws, err := signer.Sign(payload)
				if err == nil {
					_, err = jws.CompactSerialize()
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return Floor{}, err
	}
	return Floor{Alg: alg, Cores: cores, SignaturesSec: float64(count.Load()) / time.Since(start).Seconds()}, nil
}
