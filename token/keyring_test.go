package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

var allAlgs = []string{RS256, ES256, EdDSA}

// memKeys is a KeySource over a slice. It returns the tenant's rows as
// stored, without the store's expiry filter, so the Keyring's own defence
// against expired retired keys is exercised too.
type memKeys struct {
	mu   sync.Mutex
	keys []store.SigningKey
	err  error
}

func (m *memKeys) ListSigningKeys(_ context.Context, tenantID string, _ time.Time) ([]store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []store.SigningKey
	for _, k := range m.keys {
		if k.TenantID == tenantID {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memKeys) add(k ...store.SigningKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k...)
}

// set changes the status (and expiry) of one key, as a rotation would.
func (m *memKeys) set(kid string, status store.KeyStatus, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.keys {
		if m.keys[i].ID == kid {
			m.keys[i].Status = status
			m.keys[i].ExpiresAt = expires
		}
	}
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

func mustGenerate(t testing.TB, tenantID, alg string, mk MasterKey, status store.KeyStatus) store.SigningKey {
	t.Helper()
	k, err := GenerateSigningKey(tenantID, alg, mk, testNow, status)
	if err != nil {
		t.Fatalf("GenerateSigningKey(%s): %v", alg, err)
	}
	return k
}

type testClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
}

var claims = testClaims{Iss: "https://tessera.test/t1/v2.0", Sub: "user-1", Aud: "api://x", Exp: 1893456000}

func mustSign(t testing.TB, kr *Keyring, tenantID, typ string) string {
	t.Helper()
	s, err := kr.Signer(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("Signer: %v", err)
	}
	tok, err := s.Sign(typ, claims)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

func TestGenerateSigningKey(t *testing.T) {
	mk := testMasterKey()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, "t1", alg, mk, store.KeyNext)
			if k.TenantID != "t1" || k.Alg != alg || k.Status != store.KeyNext || !k.CreatedAt.Equal(testNow) || !k.ExpiresAt.IsZero() {
				t.Errorf("unexpected fields: %+v", k)
			}
			if len(k.ID) != 22 || strings.Trim(k.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Errorf("kid %q is not 22 URL-safe characters", k.ID)
			}

			var jwk map[string]any
			if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
				t.Fatalf("PublicJWK: %v", err)
			}
			if jwk["kid"] != k.ID || jwk["alg"] != alg || jwk["use"] != "sig" {
				t.Errorf("JWK header fields: %v", jwk)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := jwk[private]; ok {
					t.Errorf("public JWK carries private parameter %q", private)
				}
			}

			s, _ := newKeySealer(mk)
			der, err := s.open("t1", k.ID, k.PrivateKey)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatalf("PKCS#8: %v", err)
			}
			switch p := priv.(type) {
			case *rsa.PrivateKey:
				if alg != RS256 || p.N.BitLen() != 2048 {
					t.Errorf("%s: RSA key of %d bits", alg, p.N.BitLen())
				}
			case *ecdsa.PrivateKey:
				if alg != ES256 || p.Curve.Params().Name != "P-256" {
					t.Errorf("%s: ECDSA key on %s", alg, p.Curve.Params().Name)
				}
			case ed25519.PrivateKey:
				if alg != EdDSA {
					t.Errorf("%s: Ed25519 key", alg)
				}
			default:
				t.Errorf("%s: key type %T", alg, priv)
			}
		})
	}

	t.Run("kids differ", func(t *testing.T) {
		a := mustGenerate(t, "t1", ES256, mk, store.KeyNext)
		b := mustGenerate(t, "t1", ES256, mk, store.KeyNext)
		if a.ID == b.ID {
			t.Fatal("two keys share a kid")
		}
	})

	for _, bad := range []struct{ tenant, alg, status string }{
		{"t1", "PS256", "active"},
		{"t1", "HS256", "active"},
		{"t1", "none", "active"},
		{"t1", "", "active"},
		{"t1", ES256, "bogus"},
		{"", ES256, "active"},
	} {
		if _, err := GenerateSigningKey(bad.tenant, bad.alg, mk, testNow, store.KeyStatus(bad.status)); err == nil {
			t.Errorf("GenerateSigningKey(%q, %q, %q) succeeded", bad.tenant, bad.alg, bad.status)
		}
	}
}

func TestKeyringSignVerify(t *testing.T) {
	mk := testMasterKey()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			key := mustGenerate(t, "t1", alg, mk, store.KeyActive)
			src := &memKeys{}
			src.add(key)
			kr := NewKeyring(src, mk, fixedClock)

			s, err := kr.Signer(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			if s.Alg() != alg || s.KeyID() != key.ID {
				t.Fatalf("Signer: alg %s kid %s, want %s %s", s.Alg(), s.KeyID(), alg, key.ID)
			}

			for _, typ := range []string{"at+jwt", "JWT"} {
				tok, err := s.Sign(typ, claims)
				if err != nil {
					t.Fatal(err)
				}

				// Through the Keyring.
				payload, err := kr.Verify(ctx, "t1", tok)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				var got testClaims
				if err := json.Unmarshal(payload, &got); err != nil || got != claims {
					t.Fatalf("payload = %s (%v), want %+v", payload, err, claims)
				}

				// The header, read raw: exactly alg, kid and typ.
				rawHeader, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
				if err != nil {
					t.Fatal(err)
				}
				var hdr map[string]any
				if err := json.Unmarshal(rawHeader, &hdr); err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"alg": alg, "kid": key.ID, "typ": typ}
				if fmt.Sprint(hdr) != fmt.Sprint(want) {
					t.Errorf("header = %v, want %v", hdr, want)
				}

				// Independently, as a relying party would: JWKS JSON and go-jose.
				jwksJSON, err := kr.JWKS(ctx, "t1")
				if err != nil {
					t.Fatal(err)
				}
				var set jose.JSONWebKeySet
				if err := json.Unmarshal(jwksJSON, &set); err != nil {
					t.Fatalf("JWKS %s: %v", jwksJSON, err)
				}
				if len(set.Keys) != 1 || set.Keys[0].KeyID != key.ID || !set.Keys[0].IsPublic() {
					t.Fatalf("JWKS = %s", jwksJSON)
				}
				jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				if jws.Signatures[0].Protected.KeyID != key.ID || jws.Signatures[0].Protected.ExtraHeaders["typ"] != typ {
					t.Errorf("go-jose header: %+v", jws.Signatures[0].Protected)
				}
				if p, err := jws.Verify(set); err != nil || !bytes.Equal(p, payload) {
					t.Fatalf("go-jose verify against JWKS: %v", err)
				}
			}
		})
	}
}

// forge signs claims with an arbitrary key and header, as an attacker would.
func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string) string {
	t.Helper()
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := js.Sign([]byte(`{"sub":"attacker"}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	mk := testMasterKey()
	rsKey := mustGenerate(t, "t1", RS256, mk, store.KeyActive)
	otherTenant := mustGenerate(t, "t2", RS256, mk, store.KeyActive)
	src := &memKeys{}
	src.add(rsKey, otherTenant)
	kr := NewKeyring(src, mk, fixedClock)

	good := mustSign(t, kr, "t1", "at+jwt")
	if _, err := kr.Verify(ctx, "t1", good); err != nil {
		t.Fatalf("control token fails: %v", err)
	}
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString

	tamperedPayload := parts[0] + "." + b64([]byte(`{"sub":"admin"}`)) + "." + parts[2]
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	tamperedSig := parts[0] + "." + parts[1] + "." + b64(sig)
	noneTok := b64([]byte(`{"alg":"none","kid":"`+rsKey.ID+`"}`)) + "." + parts[1] + "."
	hdrNoKid := b64([]byte(`{"alg":"RS256","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2]

	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	// A public key is no HMAC secret, but classic confusion attacks try it.
	hmacTok := forge(t, jose.HS256, rsKey.PublicJWK, rsKey.ID)

	tests := []struct {
		name, tenant, token string
	}{
		{"tampered payload", "t1", tamperedPayload},
		{"tampered signature", "t1", tamperedSig},
		{"alg none", "t1", noneTok},
		{"HS256 with public key", "t1", hmacTok},
		{"header without kid", "t1", hdrNoKid},
		{"unknown kid", "t1", forge(t, jose.ES256, ecPriv, "no-such-kid")},
		{"alg mismatch, ES256 under RSA kid", "t1", forge(t, jose.ES256, ecPriv, rsKey.ID)},
		{"alg mismatch, EdDSA under RSA kid", "t1", forge(t, jose.EdDSA, edPriv, rsKey.ID)},
		{"right alg, wrong key", "t1", forge(t, jose.RS256, rsPriv, rsKey.ID)},
		{"other tenant's token", "t2", good},
		{"empty", "t1", ""},
		{"garbage", "t1", "a.b.c"},
		{"JSON serialization", "t1", `{"payload":"e30","signatures":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := kr.Verify(ctx, tt.tenant, tt.token)
			if err == nil {
				t.Fatalf("Verify accepted, payload %s", p)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
		})
	}
}

func TestVerifyType(t *testing.T) {
	ctx := context.Background()
	mk := testMasterKey()
	src := &memKeys{}
	src.add(mustGenerate(t, "t1", ES256, mk, store.KeyActive))
	kr := NewKeyring(src, mk, fixedClock)
	at := mustSign(t, kr, "t1", "at+jwt")
	untyped := mustSign(t, kr, "t1", "")

	tests := []struct {
		token, want string
		ok          bool
	}{
		{at, "at+jwt", true},
		{at, "application/at+jwt", true},
		{at, "AT+JWT", true},
		{at, "JWT", false},
		{mustSign(t, kr, "t1", "JWT"), "at+jwt", false},
		{mustSign(t, kr, "t1", "application/at+jwt"), "at+jwt", true},
		{untyped, "at+jwt", false},
		{untyped, "", true},
	}
	for _, tt := range tests {
		_, err := kr.VerifyType(ctx, "t1", tt.token, tt.want)
		if (err == nil) != tt.ok {
			t.Errorf("VerifyType(want %q) err = %v, want ok=%v", tt.want, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("error %v does not wrap ErrInvalidToken", err)
		}
	}
}

func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	mk := testMasterKey()
	src := &memKeys{}
	kr := NewKeyring(src, mk, fixedClock)

	// Each key signs while active, then moves on, as rotations would do.
	expired := mustGenerate(t, "t1", ES256, mk, store.KeyActive)
	src.add(expired)
	expiredTok := mustSign(t, kr, "t1", "at+jwt")
	src.set(expired.ID, store.KeyRetired, testNow) // ExpiresAt == now: gone

	retired := mustGenerate(t, "t1", EdDSA, mk, store.KeyActive)
	src.add(retired)
	retiredTok := mustSign(t, kr, "t1", "at+jwt")
	src.set(retired.ID, store.KeyRetired, testNow.Add(time.Hour))

	active := mustGenerate(t, "t1", RS256, mk, store.KeyActive)
	next := mustGenerate(t, "t1", RS256, mk, store.KeyNext)
	src.add(active, next)

	s, err := kr.Signer(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != active.ID {
		t.Fatalf("signing with %s, want the active key %s (next is %s)", s.KeyID(), active.ID, next.ID)
	}

	jwks := jwksKids(t, kr, "t1")
	for kid, want := range map[string]bool{active.ID: true, next.ID: true, retired.ID: true, expired.ID: false} {
		if jwks[kid] != want {
			t.Errorf("JWKS has %s = %v, want %v", kid, jwks[kid], want)
		}
	}

	if _, err := kr.Verify(ctx, "t1", retiredTok); err != nil {
		t.Errorf("token of retired, unexpired key: %v", err)
	}
	if _, err := kr.Verify(ctx, "t1", expiredTok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of expired key: err = %v, want ErrInvalidToken", err)
	}

	// Rotation by "another process": the same Keyring sees it at once.
	activeTok := mustSign(t, kr, "t1", "at+jwt")
	src.set(active.ID, store.KeyRetired, testNow.Add(time.Hour))
	src.set(next.ID, store.KeyActive, time.Time{})
	s, err = kr.Signer(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != next.ID {
		t.Fatalf("after rotation signing with %s, want %s", s.KeyID(), next.ID)
	}
	if _, err := kr.Verify(ctx, "t1", activeTok); err != nil {
		t.Errorf("token of just-retired key: %v", err)
	}
}

func jwksKids(t *testing.T, kr *Keyring, tenantID string) map[string]bool {
	t.Helper()
	b, err := kr.JWKS(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		kids[k.KeyID] = true
	}
	return kids
}

func TestKeyringErrors(t *testing.T) {
	ctx := context.Background()
	mk := testMasterKey()

	t.Run("no active key", func(t *testing.T) {
		src := &memKeys{}
		src.add(mustGenerate(t, "t1", ES256, mk, store.KeyNext))
		_, err := NewKeyring(src, mk, fixedClock).Signer(ctx, "t1")
		if !errors.Is(err, ErrNoActiveKey) {
			t.Fatalf("err = %v, want ErrNoActiveKey", err)
		}
	})

	t.Run("empty JWKS", func(t *testing.T) {
		b, err := NewKeyring(&memKeys{}, mk, fixedClock).JWKS(ctx, "t1")
		if err != nil || string(b) != `{"keys":[]}` {
			t.Fatalf("JWKS = %s, %v", b, err)
		}
	})

	t.Run("source error", func(t *testing.T) {
		boom := errors.New("database down")
		kr := NewKeyring(&memKeys{err: boom}, mk, fixedClock)
		if _, err := kr.Signer(ctx, "t1"); !errors.Is(err, boom) {
			t.Errorf("Signer: %v", err)
		}
		if _, err := kr.JWKS(ctx, "t1"); !errors.Is(err, boom) {
			t.Errorf("JWKS: %v", err)
		}
		// A valid-looking token reaches the source; the failure is not the token's.
		src := &memKeys{}
		src.add(mustGenerate(t, "t1", ES256, mk, store.KeyActive))
		tok := mustSign(t, NewKeyring(src, mk, fixedClock), "t1", "JWT")
		_, err := kr.Verify(ctx, "t1", tok)
		if !errors.Is(err, boom) || errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify: %v", err)
		}
	})

	t.Run("wrong master key", func(t *testing.T) {
		src := &memKeys{}
		src.add(mustGenerate(t, "t1", ES256, mk, store.KeyActive))
		other := mk
		other[0] ^= 1
		if _, err := NewKeyring(src, other, fixedClock).Signer(ctx, "t1"); err == nil {
			t.Fatal("signed with a key sealed under another master key")
		}
	})

	t.Run("sealed key copied to another tenant", func(t *testing.T) {
		victim := mustGenerate(t, "t1", ES256, mk, store.KeyActive)
		stolen := victim
		stolen.TenantID = "t2"
		src := &memKeys{}
		src.add(stolen)
		if _, err := NewKeyring(src, mk, fixedClock).Signer(ctx, "t2"); err == nil {
			t.Fatal("a sealed key opened under another tenant")
		}
	})

	t.Run("private key not matching public JWK", func(t *testing.T) {
		a := mustGenerate(t, "t1", ES256, mk, store.KeyActive)
		b := mustGenerate(t, "t1", ES256, mk, store.KeyActive)
		// b's public key published under a's kid: signatures would not verify.
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(b.PublicJWK); err != nil {
			t.Fatal(err)
		}
		jwk.KeyID = a.ID
		a.PublicJWK, _ = jwk.MarshalJSON()
		src := &memKeys{}
		src.add(a)
		if _, err := NewKeyring(src, mk, fixedClock).Signer(ctx, "t1"); err == nil {
			t.Fatal("signer built for a key that does not match its JWK")
		}
	})

	t.Run("source returns another tenant's key", func(t *testing.T) {
		src := &lyingSource{key: mustGenerate(t, "t2", ES256, mk, store.KeyActive)}
		if _, err := NewKeyring(src, mk, fixedClock).JWKS(ctx, "t1"); err == nil {
			t.Fatal("published another tenant's key")
		}
	})
}

type lyingSource struct{ key store.SigningKey }

func (l *lyingSource) ListSigningKeys(context.Context, string, time.Time) ([]store.SigningKey, error) {
	return []store.SigningKey{l.key}, nil
}

func TestSignerCache(t *testing.T) {
	ctx := context.Background()
	mk := testMasterKey()
	key := mustGenerate(t, "t1", ES256, mk, store.KeyActive)
	src := &memKeys{}
	src.add(key)
	kr := NewKeyring(src, mk, fixedClock)

	s1, err := kr.Signer(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := kr.Signer(ctx, "t1")
	if s1 != s2 {
		t.Error("second lookup rebuilt the signer")
	}

	// A different row under the same kid (say, a restored backup) is noticed.
	replacement := mustGenerate(t, "t1", ES256, mk, store.KeyActive)
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(replacement.PublicJWK); err != nil {
		t.Fatal(err)
	}
	jwk.KeyID = key.ID
	replacement.PublicJWK, _ = jwk.MarshalJSON()
	sealer, _ := newKeySealer(mk)
	der, err := sealer.open("t1", replacement.ID, replacement.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	replacement.PrivateKey = sealer.seal("t1", key.ID, der)
	replacement.ID = key.ID
	src.mu.Lock()
	src.keys[0] = replacement
	src.mu.Unlock()

	s3, err := kr.Signer(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if s3 == s1 {
		t.Fatal("stale signer served after the row changed")
	}
	tok, err := s3.Sign("JWT", claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Verify(ctx, "t1", tok); err != nil {
		t.Fatalf("token of replaced key: %v", err)
	}
}

// TestConcurrentSign runs signers, verifiers and a rotation at once; run it
// with -race.
func TestConcurrentSign(t *testing.T) {
	ctx := context.Background()
	mk := testMasterKey()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			active := mustGenerate(t, "t1", alg, mk, store.KeyActive)
			next := mustGenerate(t, "t1", alg, mk, store.KeyNext)
			src := &memKeys{}
			src.add(active, next)
			kr := NewKeyring(src, mk, fixedClock)

			const workers, perWorker = 32, 10
			tokens := make(chan string, workers*perWorker)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					typ := []string{"at+jwt", "JWT"}[w%2]
					for range perWorker {
						s, err := kr.Signer(ctx, "t1")
						if err != nil {
							t.Error(err)
							return
						}
						tok, err := s.Sign(typ, claims)
						if err != nil {
							t.Error(err)
							return
						}
						if _, err := kr.Verify(ctx, "t1", tok); err != nil {
							t.Error(err)
							return
						}
						tokens <- tok
					}
				})
			}
			wg.Go(func() {
				src.set(active.ID, store.KeyRetired, testNow.Add(time.Hour))
				src.set(next.ID, store.KeyActive, time.Time{})
			})
			wg.Wait()
			close(tokens)

			n := 0
			for tok := range tokens {
				if _, err := kr.Verify(ctx, "t1", tok); err != nil {
					t.Fatalf("token fails after rotation: %v", err)
				}
				n++
			}
			if n != workers*perWorker {
				t.Fatalf("%d tokens, want %d", n, workers*perWorker)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	mk := testMasterKey()
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			src := &memKeys{}
			src.add(mustGenerate(b, "t1", alg, mk, store.KeyActive))
			s, err := NewKeyring(src, mk, fixedClock).Signer(context.Background(), "t1")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sign("at+jwt", claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	mk := testMasterKey()
	ctx := context.Background()
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			src := &memKeys{}
			src.add(mustGenerate(b, "t1", alg, mk, store.KeyActive))
			kr := NewKeyring(src, mk, fixedClock)
			tok := mustSign(b, kr, "t1", "at+jwt")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := kr.Verify(ctx, "t1", tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignerLookup is the per-request cost of finding the signer once
// the cache is warm: the source listing plus the cache hit.
func BenchmarkSignerLookup(b *testing.B) {
	mk := testMasterKey()
	ctx := context.Background()
	src := &memKeys{}
	src.add(
		mustGenerate(b, "t1", RS256, mk, store.KeyRetired),
		mustGenerate(b, "t1", RS256, mk, store.KeyActive),
		mustGenerate(b, "t1", RS256, mk, store.KeyNext),
	)
	src.keys[0].ExpiresAt = testNow.Add(time.Hour)
	kr := NewKeyring(src, mk, fixedClock)
	if _, err := kr.Signer(ctx, "t1"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Signer(ctx, "t1"); err != nil {
			b.Fatal(err)
		}
	}
}
